import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { verifyAuditFile } from '../verify.js'

const root = fileURLToPath(new URL('../../../../../', import.meta.url))
const script = fileURLToPath(new URL('./crash-gate.js', import.meta.url))
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
let dir: string
let file: string

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/audit', 'packages/edge'],
    { cwd: root, stdio: 'inherit' },
  )
  dir = await mkdtemp(join(tmpdir(), 'audit-crash-'))
  file = join(dir, 'audit.jsonl')
})
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined))

function start(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      AUDIT_FILE: file,
      AUDIT_KEY_PEM: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const m = /listening (\d+)/.exec(out)
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` })
    })
    child.once('exit', (code) => reject(new Error(`gate exited with ${code}`)))
  })
}

const exited = (child: ChildProcess) =>
  new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve(undefined)
      : child.once('exit', resolve),
  )

/** Sends mixed valid and invalid requests, `concurrency` at a time; records ids answered 2xx/4xx. */
async function load(
  url: string,
  answered: Set<string>,
  prefix: string,
  stopAfter: number,
  onThreshold?: () => void,
) {
  let i = 0
  let stop = false
  const worker = async () => {
    while (!stop && i < 100_000) {
      const id = `${prefix}-${i}`
      const width = i++ % 3 === 0 ? 3 : 2
      try {
        const res = await fetch(`${url}/v2/models/m/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1, width], data: Array(width).fill(1) },
            ],
          }),
        })
        await res.arrayBuffer()
        if (res.status < 500) answered.add(id)
        if (answered.size >= stopAfter && !stop) {
          stop = true
          onThreshold?.()
        }
      } catch {
        return
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
}

it('after kill -9 under load and a restart, the log verifies and holds every answered request', async () => {
  const answered = new Set<string>()
  const first = await start()
  await load(first.url, answered, 'a', 400, () => first.child.kill('SIGKILL'))
  await exited(first.child)
  expect(first.child.signalCode).toBe('SIGKILL')
  const beforeRestart = answered.size

  // A crash in the middle of a write leaves a torn last line; the restart must cut it.
  await appendFile(file, '{"seq":123456,"time":"2025-')
  expect(
    (await verifyAuditFile(file, { key: publicKey, allowUnsignedTail: true })).problem?.kind,
  ).toBe('truncated')

  const second = await start()
  await load(second.url, answered, 'b', beforeRestart + 100)
  const stopping = Date.now()
  second.child.kill('SIGTERM')
  await exited(second.child)
  // It exits by itself after SIGTERM (no timer or handle left), with its final checkpoint.
  expect(second.child.exitCode).toBe(0)
  expect(Date.now() - stopping).toBeLessThan(5000)

  const result = await verifyAuditFile(file, { key: publicKey })
  expect(result.problem).toBeUndefined()
  expect(result.ok).toBe(true)
  const ids = new Set(
    (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('{"seq"'))
      .map((l) => (JSON.parse(l) as { clientRequestId: string }).clientRequestId),
  )
  const lost = [...answered].filter((id) => !ids.has(id))
  expect(lost).toEqual([])
  expect(result.records).toBe(ids.size)
  expect(answered.size).toBeGreaterThanOrEqual(500)
})

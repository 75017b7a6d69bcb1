import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair } from 'jose'
import { verifyAuditLines } from './verify.js'
import type { AuditRecord } from './types.js'

const packages = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)

/** The worker: a gate with the audit plugin of the default entry, over a sink in memory. */
const WORKER = `
import { createGate } from '@modelgate/core'
import { audit, createAuditTrail } from '@modelgate/audit'

const lines = []
const sink = {
  kind: 'memory',
  async open() { return undefined },
  async write(entries) { for (const e of entries) lines.push(e.line) },
  async close() {},
}
const doubler = {
  async metadata() {
    return {
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    }
  },
  async ready() { return true },
  async infer(inputs) {
    return [{ name: 'y', datatype: 'FP32', shape: inputs[0].shape, data: inputs[0].data.map((v) => v * 2) }]
  },
}
async function build(env) {
  const key = await crypto.subtle.importKey('jwk', env.AUDIT_KEY, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  const trail = createAuditTrail({ sink, checkpoint: { key, alg: 'ES256', every: 3 } })
  return createGate({
    models: [{ name: 'm', backend: doubler }],
    plugins: [audit({ trail })],
    routes: [{
      name: 'audit-lines',
      methods: ['GET'],
      path: '/audit-lines',
      operation: 'custom',
      async terminal(ctx) {
        await trail.checkpoint()
        ctx.body = lines.join('\\n')
      },
    }],
  })
}
let gate
export default {
  async fetch(request, env, ctx) {
    gate ??= build(env)
    return (await gate).fetch(request, env, ctx)
  },
}
`

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function workerdBinary(): string {
  const fromWorkerd = createRequire(require.resolve('workerd'))
  const arch = process.arch === 'arm64' ? 'arm64' : '64'
  return fromWorkerd.resolve(`@cloudflare/workerd-linux-${arch}/bin/workerd`)
}

interface Workerd {
  url: string
  publicKey: CryptoKey
  stop(): Promise<void>
}

/** Bundles the worker with esbuild (`define` replaces globals) and serves it with workerd. */
async function startWorkerd(define: Record<string, string>): Promise<Workerd> {
  const esbuild = await import('esbuild')
  const bundle = await esbuild.build({
    stdin: { contents: WORKER, resolveDir: join(packages, 'audit/src'), loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    alias: {
      '@modelgate/core': join(packages, 'core/src/index.ts'),
      '@modelgate/audit': join(packages, 'audit/src/index.ts'),
    },
    define,
    logLevel: 'silent',
  })
  const source = bundle.outputFiles[0]!.text
  // The default entry imports nothing from Node.
  expect(source).not.toMatch(/from\s*["']node:|require\(["']node:/)
  const pair = await generateKeyPair('ES256', { extractable: true })
  const dir = await mkdtemp(join(tmpdir(), 'audit-workerd-'))
  const port = await freePort()
  const { compatibilityDate } = (await import('workerd')) as { compatibilityDate: string }
  await writeFile(join(dir, 'worker.js'), source)
  await writeFile(join(dir, 'key.json'), JSON.stringify(await exportJWK(pair.privateKey)))
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "gate", worker = .gate)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "gate")],
);
const gate :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [(name = "AUDIT_KEY", json = embed "key.json")],
);
`,
  )
  const child = spawn(workerdBinary(), ['serve', join(dir, 'config.capnp')], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      if ((await fetch(`${url}/v2/health/live`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error('workerd did not answer within 15 s')
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url, publicKey: pair.publicKey as CryptoKey, stop }
}

// workerd offers `process.getBuiltinModule('node:crypto')`, so records are hashed by its
// `crypto.hash`; with `process` defined away, by the portable SHA-256 of runtimes without it.
describe.each([
  ['with node:crypto from process.getBuiltinModule', {}],
  ['with the portable SHA-256 (no process global)', { 'globalThis.process': 'undefined' }],
])('the default entry in workerd, %s', (_name, define) => {
  let edge: Workerd
  beforeAll(async () => {
    edge = await startWorkerd(define)
  })
  afterAll(() => edge?.stop())

  it('records every request with a hash chain and chained ES256 checkpoints that Node verifies', async () => {
    const { url, publicKey } = edge
    const infer = (data: number[], id?: string) =>
      fetch(`${url}/v2/models/m/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(id ? { 'x-request-id': id } : {}) },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data }] }),
      })
    const statuses = [
      (await infer([1, 2], 'edge-1')).status,
      (await infer([1, 2, 3])).status,
      (await fetch(`${url}/v2/models/nope/infer`, { method: 'POST', body: '{}' })).status,
      (await fetch(`${url}/v2/models/m/infer`)).status,
      (await infer([3, 4], 'edge-1')).status,
      (await fetch(`${url}/nowhere`)).status,
      (await infer([5, 6])).status,
    ]
    expect(statuses).toEqual([200, 400, 404, 405, 200, 404, 200])
    const text = await (await fetch(`${url}/audit-lines`)).text()
    const lines = text.split('\n')
    const records = lines
      .filter((l) => l.startsWith('{"seq"'))
      .map((l) => JSON.parse(l) as AuditRecord)
    expect(records.map((r) => [r.status, r.error, r.clientRequestId])).toEqual([
      [200, null, 'edge-1'],
      [400, 'bad_request', null],
      [404, 'model_not_found', null],
      [405, 'method_not_allowed', null],
      [200, null, 'edge-1'],
      [404, 'not_found', null],
      [200, null, null],
    ])
    expect(new Set(records.map((r) => r.requestId)).size).toBe(7)
    // Hashes and checkpoints made in workerd, checked by Node.
    const result = await verifyAuditLines(
      lines.map((t) => ({ text: t })),
      { key: publicKey },
    )
    expect(result).toMatchObject({ ok: true, records: 7, checkpoints: 3, warnings: [] })
  })
})

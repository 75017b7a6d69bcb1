import { readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verifyResponseSignature } from '@modelgate/crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failures, resultsOf, runDocument } from '../../test/shell.js'
import type { ShellResult, Step } from '../../test/shell.js'

const here = fileURLToPath(new URL('./', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))
/** What the README's commands write into this folder (git-ignored). */
const made = ['keys', 'logs', 'applicant.token', 'underwriter.token']

/** Fails with a clear message when a port the README uses is taken on this machine. */
function free(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', () =>
      reject(new Error(`port ${port} is in use; the README's commands need it free`)),
    )
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
  })
}

const clean = () =>
  Promise.all(made.map((f) => rm(join(here, f), { recursive: true, force: true })))

describe('examples/zero-code/README.md, every command as written', () => {
  let steps: Step[]
  let close: () => Promise<void>

  beforeAll(async () => {
    await clean()
    await Promise.all([free(8090), free(9000)])
    ;({ steps, close } = await runDocument(await readFile(join(here, 'README.md'), 'utf8'), {
      cwd: root,
      shellPerBlock: true,
      server: (c) =>
        c === 'node model-server.mjs'
          ? /stand-in model server: .* on http:\/\/127\.0\.0\.1:9000/
          : c.includes('modelgate serve')
            ? /modelgate listening on http:\/\/127\.0\.0\.1:8090/
            : undefined,
    }))
  }, 600_000)

  afterAll(async () => {
    await close?.()
    await clean()
  })

  const run = (...parts: string[]): ShellResult => {
    const [first] = resultsOf(steps, ...parts)
    expect(first, parts.join(' ')).toBeDefined()
    return first!
  }
  const json = (r: ShellResult) => JSON.parse(r.stdout) as Record<string, any>

  it('runs every command: installs, builds, starts the stand-in model server and the gate', () => {
    expect(steps.filter((s) => s.job).map((s) => s.command)).toEqual([
      'node model-server.mjs',
      'npx -y pnpm@12.4.2 modelgate serve --config gate.json',
    ])
    expect(steps.some((s) => s.skipped)).toBe(false)
    expect(failures(steps)).toEqual([])
  })

  it('answers the applicant with the score and the limit, the underwriter with attributions', async () => {
    const [x0, x1, x2] = [0.8, 0.3, 5]
    const predicted = json(run(':predict', 'applicant.token')).predictions[0]
    // the stand-in's linear model: y = x·W + b
    expect(predicted.score).toBeCloseTo(0.1 + x0 * 0.5 + x1 * 2 + x2 * -0.75, 5)
    expect(predicted.limit).toBeCloseTo(-0.2 + x0 * -1 + x1 * 0.25 + x2 * 1.5, 5)
    const explained = json(run(':explain', 'underwriter.token'))
    expect(explained.predictions[0]).toEqual(predicted)
    expect(explained.explanations).toHaveLength(2)
    for (const e of explained.explanations) {
      expect(e.method).toBe('kernel_shap')
      expect(e.feature_names).toEqual(['income', 'debt_to_income', 'years_employed'])
    }
    expect(json(run(':explain', 'applicant.token')).code).toBe('insufficient_scope')
    const anonymous = steps.find(
      (s) => s.command.includes(':predict') && !s.command.includes('authorization'),
    )!
    expect(json(anonymous.result!).code).toBe('unauthorized')
  })

  it('signs answers with the key the README generated', async () => {
    const token = (await readFile(join(here, 'applicant.token'), 'utf8')).trim()
    const res = await fetch('http://127.0.0.1:8090/v1/models/credit:predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ instances: [{ income: 0.8, debt_to_income: 0.3 }] }),
    })
    const body = new Uint8Array(await res.arrayBuffer())
    const publicKey = JSON.parse(await readFile(join(here, 'keys/sign.pub.json'), 'utf8'))
    const verified = await verifyResponseSignature(
      body,
      res.headers.get('x-modelgate-signature')!,
      [publicKey],
      { requestId: res.headers.get('x-request-id')!, status: 200 },
    )
    expect(verified.kid).toBe('gate-sign-1')
  })

  it('verifies the audit log: one chained record per call, refusals included, no e-mail', async () => {
    const verify = run('modelgate audit verify logs/audit.jsonl')
    expect(verify.stdout).toContain('intact: 4 records, 0 checkpoints')
    expect(verify.stderr).toContain('WARNING: the log has no checkpoint')
    const log = await readFile(join(here, 'logs/audit.jsonl'), 'utf8')
    expect(log).not.toContain('ana@example.org')
    expect(log).not.toContain('736 5000')
  })

  it('stops the gate and the model server with Ctrl+C', async () => {
    for (const s of steps.filter((x) => x.job).reverse())
      expect(await s.job!.stop('SIGINT'), s.command).toBe(true)
  })
})

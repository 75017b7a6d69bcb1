import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failures, freePort, resultsOf, runDocument } from '../../../test/shell.js'
import type { ShellResult, Step } from '../../../test/shell.js'
import { SAMPLE_APPLICATION } from './serve.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const readme = fileURLToPath(new URL('../README.md', import.meta.url))

/** Whether the committed files under `paths` are unchanged in the working tree. */
async function unchanged(...paths: string[]): Promise<boolean> {
  try {
    await promisify(execFile)('git', ['diff', '--quiet', '--', ...paths], { cwd: root })
    return true
  } catch {
    return false
  }
}

describe('examples/credit-risk/README.md, every command as written', () => {
  let steps: Step[]
  let close: () => Promise<void>
  let dir: string
  let cloud: number
  let edge: number
  const served: Array<{ port: number; status: number; text: string }> = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-readme-'))
    // The documented ports may be taken on a shared machine: free ones stand in for 8080 and
    // 8081 (the README's PORT and EDGE_PORT), and a temporary DEMO_DIR for .modelgate/demo.
    cloud = await freePort()
    edge = await freePort()
    const demos = (all: Step[]) => all.filter((s) => s.job)
    ;({ steps, close } = await runDocument(await readFile(readme, 'utf8'), {
      cwd: root,
      env: { PORT: String(cloud), EDGE_PORT: String(edge), DEMO_DIR: dir },
      rewrite: (c) =>
        c
          .replaceAll('127.0.0.1:8080', `127.0.0.1:${cloud}`)
          .replaceAll('127.0.0.1:8081', `127.0.0.1:${edge}`)
          .replaceAll('--port 8080', `--port ${cloud}`)
          .replaceAll('--port 8081', `--port ${edge}`)
          .replaceAll('.modelgate/demo/', `${dir}/`),
      server: (c) =>
        /pnpm@12\.4\.2 demo$/.test(c)
          ? /Press Ctrl\+C to stop/
          : c.includes('modelgate serve')
            ? /modelgate listening on/
            : undefined,
      skip: (c) =>
        c.startsWith('npx vitest run') ? 'runs the test suite this test belongs to' : undefined,
      // A reader stops the demo before starting the next server on the same ports; the two
      // `modelgate serve` commands run side by side. Each server is checked before it goes.
      async before(command, so_far) {
        const isServer = /pnpm@12\.4\.2 demo$/.test(command) || command.includes('modelgate serve')
        if (!isServer) return
        for (const s of demos(so_far)) {
          if (/modelgate serve/.test(s.command) && command.includes('modelgate serve')) continue
          await s.job!.stop('SIGINT')
        }
      },
    }))
    for (const port of [cloud, edge]) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/models/credit:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [SAMPLE_APPLICATION] }),
      })
      served.push({ port, status: res.status, text: await res.text() })
    }
  }, 900_000)

  afterAll(async () => {
    await close?.()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const all = (...parts: string[]) => resultsOf(steps, ...parts)
  const run = (...parts: string[]): ShellResult => {
    const found = all(...parts)
    expect(found, parts.join(' ')).toHaveLength(1)
    return found[0]!
  }
  const json = (r: ShellResult) => JSON.parse(r.stdout) as Record<string, any>

  it('runs every command but the test command; each exits 0', () => {
    expect(steps.filter((s) => s.skipped).map((s) => s.command)).toEqual([
      'npx vitest run examples/credit-risk',
    ])
    expect(steps.filter((s) => s.job).map((s) => s.command)).toEqual([
      'npx -y pnpm@12.4.2 demo',
      'CONSOLE=0 npx -y pnpm@12.4.2 demo',
      'npx -y pnpm@12.4.2 modelgate serve --config examples/credit-risk/gate.json --port 8080',
      'npx -y pnpm@12.4.2 modelgate serve --config examples/credit-risk/gate.json --port 8081 --runtime edge',
    ])
    expect(failures(steps)).toEqual([])
  })

  it('shows one record to two roles as the table says, an explanation, a 403 and the V2 tensor', () => {
    const asApplicant = json(run(':predict', '$APPLICANT')).predictions[0]
    const asUnderwriter = json(run(':predict', '$UNDERWRITER')).predictions[0]
    expect(asApplicant.name).toMatch(/^PERSON_[0-9a-f]{16}$/)
    expect(asApplicant.email).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    expect(asApplicant.phone).toMatch(/^enc:v2:/)
    expect(asUnderwriter).toMatchObject({
      name: 'Maria Garcia',
      email: 'maria.garcia@gmail.com',
      phone: '(415) 732-0199',
    })
    for (const seen of [asApplicant, asUnderwriter]) {
      expect(seen.ssn).toBe('***-**-8821')
      expect(seen.card_number).toBe('**** **** **** 6467')
      expect(seen.note).toMatch(/at EMAIL_ADDRESS_[0-9a-f]{16}; call enc:v2:\S+ after 5pm\.$/)
      expect(seen.default_probability).toBeCloseTo(0.0858, 4)
    }
    const [e] = json(run(':explain', '$UNDERWRITER')).explanations
    expect(e.method).toBe('exact_shap')
    expect(e.base_value).toBeCloseTo(0.157, 3)
    expect(e.values[0].map((v: number) => +v.toFixed(3))).toEqual([
      -0.021, -0.01, 0.01, 0.016, 0.022, 0, -0.014, -0.074,
    ])
    expect(json(run(':explain', '$APPLICANT'))).toEqual({
      error: 'insufficient scope',
      code: 'insufficient_scope',
    })
    expect(json(run('/v2/models/credit/infer')).outputs[0].data[0]).toBeCloseTo(0.0858, 4)
  })

  it('verifies the audit trail the demo wrote', () => {
    expect(run('modelgate audit verify').stdout).toContain(
      'intact: 7 records, 7 checkpoints (signatures verified)',
    )
  })

  it('serves the bare model with CONSOLE=0: a prediction and a 400 naming the field', () => {
    const [ok, bad] = all(':predict', '"purpose":"car"}]}')
    expect(json(ok!).predictions[0].default_probability).toBeCloseTo(0.18011510372161865, 6)
    expect(json(bad!)).toEqual({
      error: 'instances[0].age is out of range [18, 120]',
      code: 'bad_request',
    })
  })

  it('serves gate.json with the CLI on the cloud and the edge runtime, identically', () => {
    expect(served.map((s) => s.status)).toEqual([200, 200])
    expect(served[1]!.text).toBe(served[0]!.text)
    expect(JSON.parse(served[0]!.text).predictions[0].default_probability).toBeCloseTo(0.0858, 4)
  })

  it('regenerates the committed data and retrains the committed model byte for byte', async () => {
    expect(run('example-credit-risk generate').stdout).toMatch(/1500 applications \(seed 2024\)/)
    expect(await unchanged('examples/credit-risk/data')).toBe(true)
    expect(run('example-credit-risk train').stdout).toContain('AUC 0.7962')
    expect(await unchanged('examples/credit-risk/model')).toBe(true)
  })
})

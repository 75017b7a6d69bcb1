import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failures, freePort, resultsOf, runDocument } from './shell.js'
import type { ShellResult, Step } from './shell.js'

const root = fileURLToPath(new URL('../', import.meta.url))

/** The README's "Quick start" section: from its heading to the next `## ` heading. */
async function quickStart(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('## Quick start')
  expect(start).toBeGreaterThan(0)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

describe('README.md quick start, every command as written', () => {
  let steps: Step[]
  let close: () => Promise<void>
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-quickstart-'))
    await rm(join(root, 'my-model'), { recursive: true, force: true })
    // Free ports stand in for 8080, 8081 and 8090 (the README's PORT, EDGE_PORT and --port),
    // and a temporary DEMO_DIR for .modelgate/demo: the machine may already use them.
    const [cloud, edge, own] = [await freePort(), await freePort(), await freePort()]
    ;({ steps, close } = await runDocument(await quickStart(), {
      cwd: root,
      shellPerBlock: true,
      env: { PORT: String(cloud), EDGE_PORT: String(edge), DEMO_DIR: dir },
      rewrite: (c) =>
        c
          .replaceAll('127.0.0.1:8080', `127.0.0.1:${cloud}`)
          .replaceAll('localhost:8090', `localhost:${own}`)
          .replaceAll('--port 8090', `--port ${own}`)
          .replaceAll('.modelgate/demo/', `${dir}/`),
      server: (c) =>
        c.endsWith('pnpm@12.4.2 demo')
          ? /Press Ctrl\+C to stop/
          : c.includes('modelgate serve')
            ? /modelgate listening on/
            : undefined,
    }))
  }, 900_000)

  afterAll(async () => {
    await close?.()
    await rm(join(root, 'my-model'), { recursive: true, force: true })
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const run = (...parts: string[]): ShellResult => {
    const [first] = resultsOf(steps, ...parts)
    expect(first, parts.join(' ')).toBeDefined()
    return first!
  }
  const json = (r: ShellResult) => JSON.parse(r.stdout) as Record<string, any>

  it('runs every command; the servers start and every other command exits 0', () => {
    expect(steps.filter((s) => s.job).map((s) => s.command)).toEqual([
      'npx -y pnpm@12.4.2 install && npx -y pnpm@12.4.2 demo',
      'npx -y pnpm@12.4.2 modelgate serve --config gate.json --runtime edge --port 8090',
    ])
    expect(failures(steps)).toEqual([])
  })

  it('explains as the underwriter, with the e-mail unmasked for that role, and verifies the audit trail', () => {
    const answer = json(run(':explain'))
    expect(answer.predictions[0].email).toBe('maria.garcia@gmail.com')
    expect(answer.predictions[0].default_probability).toBeGreaterThan(0)
    expect(answer.explanations[0].method).toBe('exact_shap')
    expect(answer.explanations[0].feature_names).toContain('income')
    expect(run('modelgate audit verify').stdout).toContain(
      'intact: 2 records, 2 checkpoints (signatures verified)',
    )
  })

  it('serves an ONNX model from a gate.json in a folder of its own', () => {
    const metadata = json(run('/v2/models/m', '-w'))
    expect(metadata).toMatchObject({ name: 'm', platform: 'onnxruntime_onnx' })
    const inferred = json(run('/v2/models/m/infer'))
    const probabilities = inferred.outputs.find((o: { name: string }) => o.name === 'probabilities')
    expect(probabilities.shape).toEqual([1, 2])
    expect(probabilities.data[0] + probabilities.data[1]).toBeCloseTo(1, 5)
  })
})

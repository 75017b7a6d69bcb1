import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, root, run, serve } from '../test/cli.js'

let dir: string
const fixtures = join(root, 'packages/backend-trees/fixtures')
type Cases = { rows: number[][]; margin: number[]; contribs: number[][] }
const cases: Record<string, Cases> = {}

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-backends-'))
  for (const name of ['xgb-binary', 'lgb-binary']) {
    await copyFile(join(fixtures, `${name}.json`), join(dir, `${name}.json`))
    cases[name] = JSON.parse(await readFile(join(fixtures, `${name}.cases.json`), 'utf8'))
  }
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

describe('xgboost and lightgbm backend types', () => {
  it('serve both, with tree_shap explanations through the explain plugin', async () => {
    await writeFile(
      join(dir, 'gate.json'),
      JSON.stringify({
        models: [
          { name: 'xgb', backend: { type: 'xgboost', path: 'xgb-binary.json' } },
          {
            name: 'lgb',
            backend: { type: 'lightgbm', path: 'lgb-binary.json', outputDatatype: 'FP64' },
          },
        ],
        plugins: [{ use: 'explain', workers: 0 }],
      }),
    )
    const gate = await serve(['--config', 'gate.json', '--port', '0'], dir)
    try {
      for (const [model, name] of [
        ['xgb', 'xgb-binary'],
        ['lgb', 'lgb-binary'],
      ] as const) {
        const { rows, margin, contribs } = cases[name]!
        const width = rows[0]!.length
        const inputs = [
          { name: 'input', datatype: 'FP32', shape: [2, width], data: rows.slice(0, 2).flat() },
        ]
        const infer = await post(`${gate.url}/v2/models/${model}/infer`, { inputs })
        expect(infer.status).toBe(200)
        const out = infer.body.outputs.find((o: { name: string }) => o.name === 'margin')
        expect(out.data[0]).toBeCloseTo(margin[0]!, 4)
        expect(out.data[1]).toBeCloseTo(margin[1]!, 4)

        const explained = await post(`${gate.url}/v2/models/${model}/explain`, {
          inputs,
          parameters: { explainer: 'tree_shap' },
        })
        expect(explained.status).toBe(200)
        const [e] = explained.body.explanations
        expect(e.method).toBe('tree_shap')
        e.values[0].forEach((v: number, f: number) => expect(v).toBeCloseTo(contribs[0]![f]!, 4))
      }
    } finally {
      expect((await gate.stop()).code).toBe(0)
    }
  })

  it('exits 2 when the file is the other kind of tree model', async () => {
    await writeFile(
      join(dir, 'wrong.json'),
      JSON.stringify({
        models: [{ name: 'm', backend: { type: 'xgboost', path: 'lgb-binary.json' } }],
      }),
    )
    const result = await run(['serve', '--config', 'wrong.json', '--port', '0'], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /^invalid config: models\[0\]\.backend: path: .*lgb-binary\.json is not an XGBoost save_model JSON document$/m,
    )
  })
})

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, root, run } from '../test/cli.js'

let dir: string
const model = join(root, 'packages/backend-trees/fixtures/xgb-binary.json')
let cases: { rows: number[][]; margin: number[]; contribs: number[][] }

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-explain-'))
  cases = JSON.parse(
    await readFile(join(root, 'packages/backend-trees/fixtures/xgb-binary.cases.json'), 'utf8'),
  )
  await writeFile(join(dir, 'rows.json'), JSON.stringify(cases.rows.slice(0, 4)))
  await writeFile(join(dir, 'background.json'), JSON.stringify(cases.rows.slice(4, 12)))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

interface Explanation {
  values: number[][]
  base_values: number[]
  method: string
  feature_names: string[]
  additivity: { ok: boolean }
}

describe('modelgate explain', () => {
  it('tree_shap on an XGBoost file matches XGBoost pred_contribs', async () => {
    const result = await run(
      [
        'explain',
        '--model',
        model,
        '--data',
        'rows.json',
        '--method',
        'tree_shap',
        '--out',
        'shap.json',
      ],
      { cwd: dir },
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('')
    const e = JSON.parse(await readFile(join(dir, 'shap.json'), 'utf8')) as Explanation
    expect(e.method).toBe('tree_shap')
    expect(e.values).toHaveLength(4)
    for (const [r, row] of e.values.entries()) {
      const expected = cases.contribs[r]!
      row.forEach((v, f) => expect(v).toBeCloseTo(expected[f]!, 4))
      expect(e.base_values[r]).toBeCloseTo(expected[expected.length - 1]!, 4)
    }
  })

  it('without --method uses auto: tree_shap for a tree model, the same values', async () => {
    const result = await run(['explain', '--model', model, '--data', 'rows.json'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    const auto = JSON.parse(result.stdout) as Explanation
    const tree = JSON.parse(await readFile(join(dir, 'shap.json'), 'utf8')) as Explanation
    expect(auto.method).toBe('tree_shap')
    expect(auto.values).toEqual(tree.values)
    expect(auto.base_values).toEqual(tree.base_values)
  })

  it('kernel_shap with a background file prints to stdout, seeded and additive', async () => {
    const args = [
      'explain',
      '--model',
      model,
      '--data',
      'rows.json',
      '--background',
      'background.json',
      '--method',
      'kernel_shap',
      '--nsamples',
      '200',
      '--seed',
      '7',
    ]
    const a = await run(args, { cwd: dir })
    expect(a.code, a.stderr).toBe(0)
    const e = JSON.parse(a.stdout) as Explanation
    expect(e.method).toBe('kernel_shap')
    expect(e.additivity.ok).toBe(true)
    const b = await run(args, { cwd: dir })
    expect(JSON.parse(b.stdout).values).toEqual(e.values)
  })

  it('exit 1 when the rows do not fit the model, 2 for bad options', async () => {
    await writeFile(join(dir, 'narrow.json'), '[[1, 2]]')
    const misfit = await run(
      ['explain', '--model', model, '--data', 'narrow.json', '--method', 'tree_shap'],
      { cwd: dir },
    )
    expect(misfit.code).toBe(1)
    expect(misfit.stderr).toMatch(/^explain: /)
    for (const args of [
      ['explain', '--model', model],
      ['explain', '--model', model, '--data', 'rows.json', '--method', 'lime'],
      ['explain', '--model', 'missing.json', '--data', 'rows.json', '--method', 'auto'],
      ['explain', '--model', model, '--data', 'rows.json', '--method', 'auto', '--nsamples', '0'],
    ]) {
      const result = await run(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
    }
  })
})

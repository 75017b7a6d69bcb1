import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { concatExplanations } from '../concat.js'
import { explainFiles, explainInputs, readExplainInputs } from './index.js'

const fixture = (name: string) =>
  new URL(`../../../backend-trees/fixtures/${name}`, import.meta.url).pathname

describe('explainFiles', () => {
  it('explains an XGBoost file from CSV rows with tree_shap and writes the JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-'))
    const c = JSON.parse(readFileSync(fixture('xgb-missing.cases.json'), 'utf8')) as {
      rows: Array<Array<number | null>>
      contribs: number[][]
    }
    const csv = [
      'a,b,c,d,e,f',
      ...c.rows.slice(0, 3).map((r) => r.map((v) => (v === null ? '' : v)).join(',')),
    ].join('\n')
    await writeFile(join(dir, 'rows.csv'), csv)
    const seen: number[] = []
    const e = await explainFiles({
      model: fixture('xgb-missing.json'),
      data: join(dir, 'rows.csv'),
      out: join(dir, 'out.json'),
      onProgress: (d) => seen.push(d),
    })
    expect(e.method).toBe('tree_shap')
    expect(e.feature_names).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    ;(e.values as number[][]).forEach((row, r) =>
      row.forEach((v, j) => expect(Math.abs(v - c.contribs[r]![j]!)).toBeLessThan(1e-5)),
    )
    expect(JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')).values).toEqual(e.values)
    expect(seen.at(-1)).toBe(3)
  })

  it('explains a LightGBM file with kernel_shap against a JSON background of records', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-'))
    await writeFile(join(dir, 'x.json'), JSON.stringify([[0.2, 1, 0, -2]]))
    await writeFile(
      join(dir, 'bg.json'),
      JSON.stringify([
        { f0: 1, f1: 0, f2: 1, f3: 1 },
        { f0: -1, f1: 2, f2: null, f3: 0 },
      ]),
    )
    const e = await explainFiles({
      model: fixture('lgb-binary.json'),
      data: join(dir, 'x.json'),
      background: join(dir, 'bg.json'),
      method: 'exact_shap',
      seed: 1,
    })
    expect(e.feature_names).toEqual(['f0', 'f1', 'f2', 'f3'])
    expect(e.additivity.ok).toBe(true)
  })

  it('slices explained with their row offset and joined equal one run, whatever the slicing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-'))
    const c = JSON.parse(readFileSync(fixture('xgb-binary.cases.json'), 'utf8')) as {
      rows: number[][]
    }
    await writeFile(join(dir, 'x.json'), JSON.stringify(c.rows.slice(0, 11)))
    await writeFile(join(dir, 'bg.json'), JSON.stringify(c.rows.slice(11, 19)))
    const inputs = await readExplainInputs({
      model: fixture('xgb-binary.json'),
      data: join(dir, 'x.json'),
      background: join(dir, 'bg.json'),
      output: 'prediction',
    })
    const withoutStats = ({ stats: _s, ...e }: Awaited<ReturnType<typeof explainInputs>>) => e
    // 6 features: 30 Kernel SHAP coalitions are sampled (not enumerated); permutations are random.
    for (const options of [
      { method: 'kernel_shap' as const, nsamples: 30, seed: 5 },
      { method: 'permutation_shap' as const, seed: 5 },
    ]) {
      const whole = await explainInputs(inputs, options)
      expect(whole.standard_errors).toBeDefined()
      const other = await explainInputs(inputs, { ...options, seed: 6 })
      expect(other.values).not.toEqual(whole.values)
      for (const cuts of [
        [4, 8],
        [1, 2, 10],
      ]) {
        const bounds = [0, ...cuts, 11]
        const parts = []
        for (let i = 0; i + 1 < bounds.length; i++) {
          const slice = { ...inputs, rows: inputs.rows.slice(bounds[i], bounds[i + 1]) }
          parts.push(await explainInputs(slice, { ...options, offset: bounds[i]! }))
        }
        const joined = concatExplanations(parts)
        expect(withoutStats(joined)).toEqual(withoutStats(whole))
        expect(Object.keys(joined)).toEqual(Object.keys(whole))
        expect(joined.stats.evaluations).toBe(whole.stats.evaluations)
      }
    }
  })

  it('concatExplanations refuses parts of different layouts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-'))
    await writeFile(join(dir, 'x.json'), JSON.stringify([[0.2, 1, 0, -2]]))
    const inputs = await readExplainInputs({
      model: fixture('lgb-binary.json'),
      data: join(dir, 'x.json'),
    })
    const tree = await explainInputs(inputs, { method: 'tree_shap' })
    const exact = await explainInputs(
      { ...inputs, background: [[0, 0, 0, 0]] },
      { method: 'exact_shap' },
    )
    expect(() => concatExplanations([tree, exact])).toThrow(/explanation 1/)
    expect(() => concatExplanations([])).toThrow(TypeError)
  })
})

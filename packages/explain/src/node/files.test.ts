import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { explainFiles } from './index.js'

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
})

import { readFileSync } from 'node:fs'
import { loadTreeModel, predictMargin } from '@modelgate/backend-trees'
import { describe, expect, it } from 'vitest'
import { interventionalTreeShap, pathDependentTreeShap } from './tree.js'

const fixture = (name: string) => new URL(`../../../backend-trees/fixtures/${name}`, import.meta.url).pathname
const flat = (rows: Array<Array<number | null>>) => Float64Array.from(rows.flat(), (v) => (v === null ? NaN : v))

describe.each(['xgb-binary', 'xgb-regression', 'xgb-multiclass', 'xgb-missing', 'lgb-binary'])('path-dependent TreeSHAP on %s', (name) => {
  it('equals the reference contributions within 1e-5', async () => {
    const ensemble = await loadTreeModel(fixture(`${name}.json`))
    const c = JSON.parse(readFileSync(fixture(`${name}.cases.json`), 'utf8')) as { rows: Array<Array<number | null>>; contribs: number[][] | number[][][] }
    const { values, base } = pathDependentTreeShap(ensemble, flat(c.rows), c.rows.length)
    const M = ensemble.numFeatures
    const K = ensemble.numOutputs
    let worst = 0
    c.rows.forEach((_, r) => {
      for (let k = 0; k < K; k++) {
        const want = (K === 1 ? c.contribs[r] : (c.contribs[r] as number[][])[k]) as number[]
        for (let j = 0; j < M; j++) worst = Math.max(worst, Math.abs(values[(r * M + j) * K + k]! - want[j]!))
        worst = Math.max(worst, Math.abs(base[k]! - want[M]!))
      }
    })
    expect(worst).toBeLessThan(1e-5)
  })
})

describe('interventional TreeSHAP', () => {
  it('is additive against the background mean and honours groups', async () => {
    const ensemble = await loadTreeModel(fixture('xgb-missing.json'))
    const c = JSON.parse(readFileSync(fixture('xgb-missing.cases.json'), 'utf8')) as { rows: Array<Array<number | null>> }
    const x = flat(c.rows.slice(0, 4))
    const bg = flat(c.rows.slice(10, 20))
    const weights = new Float64Array(10).fill(1)
    const { values, base, fx } = interventionalTreeShap(ensemble, x, 4, bg, weights)
    const grouped = interventionalTreeShap(ensemble, x, 4, bg, weights, Int32Array.from([0, 0, 1, 1, 2, 2]), 3)
    const bgMargin = predictMargin(ensemble, bg, 10)
    expect(base[0]).toBeCloseTo(bgMargin.reduce((a, b) => a + b, 0) / 10, 10)
    for (let r = 0; r < 4; r++) {
      const sum = values.slice(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0)
      expect(sum + base[0]!).toBeCloseTo(fx[r]!, 9)
      expect(grouped.values.slice(r * 3, r * 3 + 3).reduce((a, b) => a + b, 0) + base[0]!).toBeCloseTo(fx[r]!, 9)
    }
  })
})

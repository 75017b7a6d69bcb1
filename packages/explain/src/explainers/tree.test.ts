import { readFileSync } from 'node:fs'
import { parseTreeModel, predictMargin } from '@modelgate/backend-trees'
import { loadTreeModel } from '@modelgate/backend-trees/node'
import { describe, expect, it } from 'vitest'
import { ExplainPool } from '../node/pool.js'
import { explainModel } from '../explain.js'
import { modelFromEnsemble } from '../models.js'
import { interventionalTreeShap, pathDependentTreeShap, treeShapAlgorithm2 } from './tree.js'

const fixture = (name: string) =>
  new URL(`../../../backend-trees/fixtures/${name}`, import.meta.url).pathname
const flat = (rows: Array<Array<number | null>>) =>
  Float64Array.from(rows.flat(), (v) => (v === null ? NaN : v))

describe.each(['xgb-binary', 'xgb-regression', 'xgb-multiclass', 'xgb-missing', 'lgb-binary'])(
  'path-dependent TreeSHAP on %s',
  (name) => {
    it.each([
      ['quadrature walk', pathDependentTreeShap],
      ['Algorithm 2', treeShapAlgorithm2],
    ])('%s equals the reference contributions within 1e-5', async (_, shap) => {
      const ensemble = await loadTreeModel(fixture(`${name}.json`))
      const c = JSON.parse(readFileSync(fixture(`${name}.cases.json`), 'utf8')) as {
        rows: Array<Array<number | null>>
        contribs: number[][] | number[][][]
      }
      const { values, base } = shap(ensemble, flat(c.rows), c.rows.length)
      const M = ensemble.numFeatures
      const K = ensemble.numOutputs
      let worst = 0
      c.rows.forEach((_, r) => {
        for (let k = 0; k < K; k++) {
          const want = (K === 1 ? c.contribs[r] : (c.contribs[r] as number[][])[k]) as number[]
          for (let j = 0; j < M; j++)
            worst = Math.max(worst, Math.abs(values[(r * M + j) * K + k]! - want[j]!))
          worst = Math.max(worst, Math.abs(base[k]! - want[M]!))
        }
      })
      expect(worst).toBeLessThan(1e-5)
    })
  },
)

describe('interventional TreeSHAP', () => {
  it('is additive against the background mean and honours groups', async () => {
    const ensemble = await loadTreeModel(fixture('xgb-missing.json'))
    const c = JSON.parse(readFileSync(fixture('xgb-missing.cases.json'), 'utf8')) as {
      rows: Array<Array<number | null>>
    }
    const x = flat(c.rows.slice(0, 4))
    const bg = flat(c.rows.slice(10, 20))
    const weights = new Float64Array(10).fill(1)
    const { values, base, fx } = interventionalTreeShap(ensemble, x, 4, bg, weights)
    const grouped = interventionalTreeShap(
      ensemble,
      x,
      4,
      bg,
      weights,
      Int32Array.from([0, 0, 1, 1, 2, 2]),
      3,
    )
    const bgMargin = predictMargin(ensemble, bg, 10)
    expect(base[0]).toBeCloseTo(bgMargin.reduce((a, b) => a + b, 0) / 10, 10)
    for (let r = 0; r < 4; r++) {
      const sum = values.slice(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0)
      expect(sum + base[0]!).toBeCloseTo(fx[r]!, 9)
      expect(
        grouped.values.slice(r * 3, r * 3 + 3).reduce((a, b) => a + b, 0) + base[0]!,
      ).toBeCloseTo(fx[r]!, 9)
    }
  })
})

/** A random XGBoost document with full trees of `depth` over `features` columns, few of them, so features repeat on paths. */
function randomForest(features: number, trees: number, depth: number, seed: number) {
  let s = seed
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296
  const list = Array.from({ length: trees }, () => {
    const T = {
      left_children: [] as number[],
      right_children: [] as number[],
      split_indices: [] as number[],
      split_conditions: [] as number[],
      default_left: [] as number[],
      sum_hessian: [] as number[],
    }
    const build = (d: number, cover: number): number => {
      const id = T.left_children.length
      ;(T.left_children.push(-1),
        T.right_children.push(-1),
        T.split_indices.push(0),
        T.split_conditions.push(rnd() - 0.5))
      ;(T.default_left.push(rnd() < 0.5 ? 1 : 0), T.sum_hessian.push(cover))
      if (d === depth) return id
      T.split_indices[id] = Math.floor(rnd() * features)
      const f = rnd() < 0.05 ? 0 : 0.1 + 0.8 * rnd()
      T.left_children[id] = build(d + 1, cover * f)
      T.right_children[id] = build(d + 1, cover * (1 - f))
      return id
    }
    build(0, 100)
    return T
  })
  return parseTreeModel({
    learner: {
      learner_model_param: {
        base_score: '5E-1',
        num_class: '0',
        num_feature: String(features),
        num_target: '1',
      },
      objective: { name: 'reg:squarederror' },
      gradient_booster: { name: 'gbtree', model: { trees: list, tree_info: list.map(() => 0) } },
    },
  })
}

describe('path-dependent TreeSHAP on deep trees with repeated features and zero covers', () => {
  it('the quadrature walk equals Algorithm 2, also with groups and more rows than one batch', () => {
    const ensemble = randomForest(5, 20, 9, 3)
    const rows = 150
    const x = Float64Array.from({ length: rows * 5 }, (_, i) =>
      i % 7 === 0 ? NaN : Math.sin(i * 1.7) * 0.7,
    )
    for (const [groupOf, groups] of [
      [undefined, 5],
      [Int32Array.from([0, 1, 1, 2, 2]), 3],
    ] as const) {
      const a = pathDependentTreeShap(ensemble, x, rows, groupOf, groups)
      const b = treeShapAlgorithm2(ensemble, x, rows, groupOf, groups)
      expect(a.values.some((v) => v !== v)).toBe(false)
      expect(b.values.some((v) => v !== v)).toBe(false)
      let worst = 0
      a.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.values[i]!))))
      expect(worst).toBeLessThan(1e-9)
      for (let r = 0; r < rows; r++) {
        const sum = a.values.slice(r * groups, (r + 1) * groups).reduce((p, v) => p + v, 0)
        expect(sum + a.base[0]!).toBeCloseTo(a.fx[r]!, 9)
      }
    }
  })

  it('gives the same values on a worker pool that received the model once', async () => {
    const ensemble = randomForest(8, 10, 6, 9)
    const model = modelFromEnsemble(ensemble)
    const x = Array.from({ length: 40 }, (_, r) =>
      Array.from({ length: 8 }, (_, c) => (c === r % 8 ? null : Math.cos(r * 3 + c))),
    )
    const inline = await explainModel({ model, x, method: 'tree_shap' })
    const pool = new ExplainPool({ size: 2 })
    try {
      const first = await pool.runSplit({ model, x, method: 'tree_shap' }, 4)
      const again = await pool.runSplit({ model, x, method: 'tree_shap' }, 2)
      expect(first.flatMap((e) => e.values)).toEqual(inline.values)
      expect(again.flatMap((e) => e.values)).toEqual(inline.values)
    } finally {
      await pool.close()
    }
  })
})

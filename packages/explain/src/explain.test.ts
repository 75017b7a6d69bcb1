import { describe, expect, it } from 'vitest'
import { explainModel, kmeans, sampleBackground } from './index.js'
import type { ExplainableModel } from './index.js'

const M = 6
/** A float64 model with interactions: f(x) = Σ w_i x_i + x0·x1 − 0.5·x2·x3·x4 + sin(x5)·x0. */
const fn = (r: ArrayLike<number>, o: number) =>
  0.3 * r[o]! -
  0.7 * r[o + 1]! +
  0.2 * r[o + 2]! +
  r[o]! * r[o + 1]! -
  0.5 * r[o + 2]! * r[o + 3]! * r[o + 4]! +
  Math.sin(r[o + 5]!) * r[o]!
const model: ExplainableModel = {
  width: M,
  outputs: 1,
  async predict(x, rows) {
    return Float64Array.from({ length: rows }, (_, i) => fn(x, i * M))
  },
}
const rows = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: M }, (_, j) => Math.sin(seed * 31 + i * 7 + j * 3) * 1.5),
  )
const background = { data: rows(5, 1), weights: [0.1, 0.2, 0.3, 0.2, 0.2] }
const x = rows(3, 2)

/** Shapley values by the permutation definition over all M! orders, independent of the library. */
function bruteForce(xr: number[]): number[] {
  const v = (inS: boolean[]) => {
    let s = 0
    background.data.forEach(
      (b, i) =>
        (s +=
          background.weights[i]! *
          fn(
            b.map((bv, j) => (inS[j] ? xr[j]! : bv)),
            0,
          )),
    )
    return s
  }
  const phi = new Array(M).fill(0)
  let count = 0
  const permute = (order: number[], rest: number[]) => {
    if (rest.length === 0) {
      const inS = new Array(M).fill(false)
      let prev = v(inS)
      for (const j of order) {
        inS[j] = true
        const cur = v(inS)
        phi[j] += cur - prev
        prev = cur
      }
      count++
      return
    }
    rest.forEach((j, i) => permute([...order, j], [...rest.slice(0, i), ...rest.slice(i + 1)]))
  }
  permute([], [...Array(M).keys()])
  return phi.map((p) => p / count)
}

const relL2 = (a: number[], b: number[]) =>
  Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / b.reduce((s, v) => s + v * v, 0))

describe('explain', () => {
  it('exact_shap equals a brute-force reference within 1e-9 and is additive', async () => {
    const e = await explainModel({ model, x, background, method: 'exact_shap' })
    expect(e.method).toBe('exact_shap')
    expect(e.additivity.ok).toBe(true)
    x.forEach((xr, r) => {
      const ref = bruteForce(xr)
      ;(e.values[r] as number[]).forEach((v, j) => expect(Math.abs(v - ref[j]!)).toBeLessThan(1e-9))
    })
    expect(e.feature_names).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5'])
    expect(e.stats.model_calls).toBeGreaterThan(0)
  })

  it('picks exact_shap automatically for few features', async () => {
    const e = await explainModel({ model, x: x.slice(0, 1), background })
    expect(e.method).toBe('exact_shap')
  })

  it('kernel_shap (both samplers) and permutation_shap come close to exact, with standard errors', async () => {
    const exact = await explainModel({ model, x, background, method: 'exact_shap' })
    for (const sampler of ['leverage', 'shap'] as const) {
      const k = await explainModel({
        model,
        x,
        background,
        method: 'kernel_shap',
        nsamples: 60,
        sampler,
        seed: 3,
      })
      expect(k.additivity.ok).toBe(true)
      x.forEach((_, r) =>
        expect(relL2(k.values[r] as number[], exact.values[r] as number[])).toBeLessThan(0.15),
      )
      expect((k.standard_errors![0] as number[]).every((s) => s >= 0)).toBe(true)
    }
    const p = await explainModel({
      model,
      x,
      background,
      method: 'permutation_shap',
      npermutations: 1000,
      seed: 1,
    })
    expect(p.additivity.ok).toBe(true)
    x.forEach((_, r) =>
      expect(relL2(p.values[r] as number[], exact.values[r] as number[])).toBeLessThan(0.1),
    )
    expect((p.standard_errors![0] as number[]).every((s) => s > 0)).toBe(true)
  })

  it('kernel_shap is seeded and stops on a tolerance', async () => {
    const a = await explainModel({
      model,
      x: x.slice(0, 1),
      background,
      method: 'kernel_shap',
      nsamples: 30,
      seed: 9,
    })
    const b = await explainModel({
      model,
      x: x.slice(0, 1),
      background,
      method: 'kernel_shap',
      nsamples: 30,
      seed: 9,
    })
    expect(a.values).toEqual(b.values)
    const t = await explainModel({
      model,
      x: x.slice(0, 1),
      background,
      method: 'kernel_shap',
      nsamples: 16,
      tolerance: 1e-12,
      seed: 9,
    })
    expect(t.stats.stopped).toBe('exhaustive')
    expect(t.stats.samples).toBe(2 ** M - 2)
  })

  it('groups columns into one attribution and applies the logit link', async () => {
    const prob: ExplainableModel = {
      ...model,
      async predict(xx, n) {
        const y = await model.predict(xx, n)
        return y.map((v) => 1 / (1 + Math.exp(-v)))
      },
    }
    const groups = [
      { name: 'a', columns: [0, 1] },
      { name: 'b', columns: [2, 3, 4] },
      { name: 'c', columns: [5] },
    ]
    const e = await explainModel({
      model: prob,
      x,
      background,
      groups,
      link: 'logit',
      method: 'exact_shap',
    })
    expect(e.feature_names).toEqual(['a', 'b', 'c'])
    expect(e.additivity.ok).toBe(true)
    expect((e.data[0]![0] as number[]).length).toBe(2)
  })

  it('rejects bad options', async () => {
    await expect(explainModel({ model, x, method: 'kernel_shap' })).rejects.toThrow(/background/)
    await expect(explainModel({ model, x, background, method: 'nope' as never })).rejects.toThrow(
      TypeError,
    )
    await expect(explainModel({ model, x: [[1, 2]], background })).rejects.toThrow(/6 values/)
    await expect(explainModel({ model, x, background, method: 'tree_shap' })).rejects.toThrow(
      /tree model/,
    )
  })
})

describe('integrated_gradients', () => {
  const W = 4
  const w = [0.8, -1.2, 0.5, 2]
  const logistic: ExplainableModel = {
    width: W,
    outputs: 1,
    async predict(xx, n) {
      return Float64Array.from(
        { length: n },
        (_, r) =>
          1 /
          (1 +
            Math.exp(
              -(w.reduce((s, wi, j) => s + wi * xx[r * W + j]!, 0) + xx[r * W]! * xx[r * W + 1]!),
            )),
      )
    },
    async gradients(xx, n) {
      const y = await this.predict(xx, n)
      const g = new Float64Array(n * W)
      for (let r = 0; r < n; r++) {
        const s = y[r]! * (1 - y[r]!)
        for (let j = 0; j < W; j++)
          g[r * W + j] = s * (w[j]! + (j === 0 ? xx[r * W + 1]! : j === 1 ? xx[r * W]! : 0))
      }
      return g
    },
  }
  it.each(['gauss_legendre', 'riemann_trapezoid'] as const)(
    'meets completeness within 1%% (%s), doubling steps',
    async (rule) => {
      const e = await explainModel({
        model: logistic,
        x: [
          [1, -2, 0.5, 1.5],
          [3, 1, -1, 0.2],
        ],
        method: 'integrated_gradients',
        rule,
        steps: 2,
      })
      expect(e.completeness!.ok).toBe(true)
      expect(e.completeness!.max_relative_error).toBeLessThanOrEqual(0.01)
      expect(e.completeness!.steps).toBeGreaterThan(2)
    },
  )
})

describe('background summaries', () => {
  it('kmeans returns weighted centroids snapped to data values', () => {
    const data = [...rows(20, 4), ...rows(20, 5).map((r) => r.map((v) => v + 10))]
    const bg = kmeans(data, 2, { seed: 1 })
    expect(bg.data).toHaveLength(2)
    expect(bg.weights!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    const values = new Set(data.map((r) => r[0]))
    expect(bg.data.every((c) => values.has(c[0]!))).toBe(true)
    const s = sampleBackground(data, 5, { seed: 2 })
    expect(s.data).toHaveLength(5)
  })

  it('the automatic surrogate choice is never much worse than plain Kernel SHAP and keeps standard errors', async () => {
    const W = 14
    const f = (r: ArrayLike<number>, o: number) => {
      let y = 0
      for (let j = 0; j < W; j++)
        y += (r[o + j]! > 0 ? 1 : -0.5) * (j % 3 === 0 && r[o + ((j + 1) % W)]! > 0.2 ? 1.5 : 0.3)
      return y + (r[o]! > 0 && r[o + 5]! < 0 && r[o + 9]! > -0.3 ? 2 : 0)
    }
    const wide: ExplainableModel = {
      width: W,
      outputs: 1,
      predict: async (a, n) => Float64Array.from({ length: n }, (_, i) => f(a, i * W)),
    }
    const data = (n: number, seed: number) =>
      Array.from({ length: n }, (_, i) =>
        Array.from({ length: W }, (_, j) => Math.sin(seed * 13 + i * 5.3 + j * 2.1)),
      )
    const bg = { data: data(4, 1) }
    const xs = data(3, 2)
    const exact = await explainModel({ model: wide, x: xs, background: bg, method: 'exact_shap' })
    const error = async (surrogate: 'auto' | 'none') => {
      let sum = 0
      for (const seed of [0, 1, 2]) {
        const k = await explainModel({
          model: wide,
          x: xs,
          background: bg,
          method: 'kernel_shap',
          nsamples: 500,
          seed,
          surrogate,
        })
        expect(k.additivity.ok).toBe(true)
        expect((k.standard_errors![0] as number[]).some((s) => s > 0)).toBe(true)
        xs.forEach((_, r) => (sum += relL2(k.values[r] as number[], exact.values[r] as number[])))
      }
      return sum
    }
    const plain = await error('none')
    const auto = await error('auto')
    expect(auto).toBeLessThanOrEqual(1.1 * plain)
    await expect(
      explainModel({
        model: wide,
        x: xs,
        background: bg,
        method: 'kernel_shap',
        surrogate: 'magic' as never,
      }),
    ).rejects.toThrow(TypeError)
  })
})

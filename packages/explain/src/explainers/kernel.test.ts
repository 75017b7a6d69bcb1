import { predictMargin } from '@modelgate/backend-trees'
import { describe, expect, it } from 'vitest'
import { explainModel } from '../explain.js'
import { Rng } from '../rng.js'
import type { ExplainableModel } from '../types.js'
import { fitCoalitionTrees, surrogateShapley } from './surrogate.js'

const relL2 = (a: number[], b: number[]) =>
  Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / b.reduce((s, v) => s + v * v, 0))

describe('coalition surrogate trees', () => {
  it('predict every design row as the fitted ensemble does, also rows left out of the fit', () => {
    const M = 10
    const N = 400
    const rng = new Rng(3)
    const masks = Uint8Array.from({ length: N * M }, () => (rng.next() < 0.5 ? 1 : 0))
    const y = Float64Array.from({ length: N }, (_, i) => {
      const z = (j: number) => masks[i * M + j]!
      return z(0) * z(1) * z(2) * 3 - z(3) + 2 * z(4) * z(5) + 0.5 * z(6) * z(7) * z(8) * z(9)
    })
    const train = Int32Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 0)
    const g = fitCoalitionTrees(masks, M, y, train)
    const direct = predictMargin(g.model, Float64Array.from(masks), N)
    for (let i = 0; i < N; i++) expect(g.fitted[i]).toBeCloseTo(direct[i]!, 9)
    let mse = 0
    let variance = 0
    const mean = y.reduce((a, b) => a + b, 0) / N
    for (let i = 0; i < N; i++) {
      mse += (y[i]! - g.fitted[i]!) ** 2
      variance += (y[i]! - mean) ** 2
    }
    expect(mse / variance).toBeLessThan(0.01)
    const sh = surrogateShapley(g.model)
    const sum = sh.phi.reduce((a, b) => a + b, 0)
    expect(sum).toBeCloseTo(sh.full - sh.empty, 9)
  })
})

describe('regression-adjusted Kernel SHAP', () => {
  const W = 14
  /** Threshold rules with three- and four-way interactions, as a black box. */
  const f = (r: ArrayLike<number>, o: number) => {
    let y = 0
    for (let j = 0; j < W; j++) {
      const a = r[o + j]!
      const b = r[o + ((j + 3) % W)]!
      const c = r[o + ((j + 7) % W)]!
      const d = r[o + ((j + 5) % W)]!
      y +=
        0.4 * a +
        (a > 0 && b < 0.3 && c > -0.4 ? 1.5 : 0) -
        (a < 0.2 && d > 0 && b > -0.5 && c < 0.6 ? 1 : 0)
    }
    return y
  }
  const model: ExplainableModel = {
    width: W,
    outputs: 1,
    predict: async (a, n) => Float64Array.from({ length: n }, (_, i) => f(a, i * W)),
  }
  const data = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) =>
      Array.from({ length: W }, (_, j) => Math.sin(seed * 17 + i * 4.7 + j * 2.3) * 1.2),
    )
  const background = { data: data(4, 1) }
  const x = data(3, 2)
  const kernel = (surrogate: 'trees' | 'none', seed: number) =>
    explainModel({ model, x, background, method: 'kernel_shap', nsamples: 800, seed, surrogate })

  it('is more accurate than plain Kernel SHAP on a game with higher interactions', async () => {
    const exact = await explainModel({ model, x, background, method: 'exact_shap' })
    const error = async (surrogate: 'trees' | 'none') => {
      let sum = 0
      for (const seed of [0, 1, 2]) {
        const k = await kernel(surrogate, seed)
        expect(k.additivity.ok).toBe(true)
        x.forEach((_, r) => (sum += relL2(k.values[r] as number[], exact.values[r] as number[])))
      }
      return sum
    }
    const plain = await error('none')
    const adjusted = await error('trees')
    expect(adjusted).toBeLessThan(0.4 * plain)
  })

  it('is deterministic per seed and keeps standard errors', async () => {
    const a = await kernel('trees', 5)
    const b = await kernel('trees', 5)
    const c = await kernel('trees', 6)
    expect(a.values).toEqual(b.values)
    expect(a.standard_errors).toEqual(b.standard_errors)
    expect(a.values).not.toEqual(c.values)
    for (const row of a.standard_errors as number[][]) expect(row.some((s) => s > 0)).toBe(true)
  })

  it('stays small on wide models: at 64 features the surrogate is the trees alone', async () => {
    // 64 features would need 2,081² normal equations per fold for the pairwise part (~200 MB and
    // a 10⁹-step solve each); past the bound it is skipped. The default (auto) still fits the
    // surrogate and keeps the lower-variance estimate; a linear model has exact values
    // w_j (x_j − mean of the background), which plain Kernel SHAP recovers.
    const M = 64
    const w = Array.from({ length: M }, (_, j) => Math.cos(j))
    const wide: ExplainableModel = {
      width: M,
      outputs: 1,
      predict: async (a, n) =>
        Float64Array.from({ length: n }, (_, i) =>
          w.reduce((s, wj, j) => s + wj * a[i * M + j]!, 0),
        ),
    }
    const row = Array.from({ length: M }, (_, j) => Math.sin(j * 1.3))
    const bg = [0, 1].map((b) => Array.from({ length: M }, (_, j) => Math.cos(j * 0.7 + b)))
    const k = await explainModel({
      model: wide,
      x: [row],
      background: { data: bg },
      method: 'kernel_shap',
      seed: 1,
    })
    expect(k.additivity.ok).toBe(true)
    const exact = w.map((wj, j) => wj * (row[j]! - (bg[0]![j]! + bg[1]![j]!) / 2))
    expect(relL2(k.values[0] as number[], exact)).toBeLessThan(1e-6)
    // ~3 s with the bound; without it, ~50 s.
  }, 30_000)
})

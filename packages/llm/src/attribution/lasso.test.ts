import { describe, expect, it } from 'vitest'
import { lasso } from './lasso.js'
import { random } from './methods.js'

/** Random 0/1 rows, as the ablations of a prompt are. */
function masks(n: number, M: number, seed: number): number[][] {
  const next = random(seed)
  return Array.from({ length: n }, () => Array.from({ length: M }, () => (next() < 0.5 ? 1 : 0)))
}

describe('lasso', () => {
  it('recovers a sparse linear function of ablation masks from fewer rows than columns', () => {
    const X = masks(24, 30, 1)
    const truth = new Array(30).fill(0)
    truth[4] = 0.8
    truth[17] = -0.3
    const y = X.map((row) => 0.1 + row.reduce((a, x, j) => a + x * truth[j], 0))
    const fit = lasso(X, y)
    expect(fit.coef[4]).toBeGreaterThan(0.7)
    expect(fit.coef[17]).toBeLessThan(-0.2)
    const others = fit.coef.filter((_, j) => j !== 4 && j !== 17)
    expect(Math.max(...others.map(Math.abs))).toBeLessThan(0.05)
    expect(fit.intercept).toBeCloseTo(0.1, 1)
  })

  it('meets the optimality conditions at the penalty it chose', () => {
    const next = random(9)
    const X = masks(40, 8, 2)
    const y = X.map((row) => row[0]! * 2 - row[3]! + 0.5 * row[5]! * row[6]! + (next() - 0.5) * 0.2)
    const fit = lasso(X, y)
    const n = X.length
    const resid = X.map(
      (row, i) => y[i]! - fit.intercept - row.reduce((a, x, j) => a + x * fit.coef[j]!, 0),
    )
    expect(resid.reduce((a, r) => a + r, 0)).toBeCloseTo(0, 6)
    for (let j = 0; j < 8; j++) {
      const mean = X.reduce((a, r) => a + r[j]!, 0) / n
      const sd = Math.sqrt(X.reduce((a, r) => a + (r[j]! - mean) ** 2, 0) / n)
      // Gradient of the loss on the standardised column: λ·sign(w) when w ≠ 0, within ±λ at 0.
      const g = X.reduce((a, r, i) => a + ((r[j]! - mean) / sd) * resid[i]!, 0) / n
      if (fit.coef[j] === 0) expect(Math.abs(g)).toBeLessThanOrEqual(fit.lambda * (1 + 1e-6))
      else expect(g).toBeCloseTo(fit.lambda * Math.sign(fit.coef[j]!), 6)
    }
    expect(fit.nonzero).toBeGreaterThanOrEqual(2)
  })

  it('gives zero coefficients for a constant target and for constant columns', () => {
    const X = masks(10, 3, 3).map((r) => [...r, 1])
    const flat = lasso(X, new Array(10).fill(0.4))
    expect(flat.coef).toEqual([0, 0, 0, 0])
    expect(flat.intercept).toBeCloseTo(0.4, 12)
    const fit = lasso(
      X,
      X.map((r) => r[1]!),
    )
    expect(fit.coef[3]).toBe(0)
    expect(fit.coef[1]).toBeGreaterThan(0.9)
  })

  it('refuses rows and targets that do not match', () => {
    expect(() => lasso([], [])).toThrow(TypeError)
    expect(() => lasso([[1, 0]], [1, 2])).toThrow(TypeError)
  })
})

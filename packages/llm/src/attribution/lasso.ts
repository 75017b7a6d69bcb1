/**
 * A sparse linear model `y ≈ intercept + Σ coef_j · x_j` fitted by {@link lasso}.
 *
 * @example
 * ```ts
 * const fit: LassoFit = { intercept: -3.2, coef: [4.1, 0, 0.2], lambda: 0.05, nonzero: 2 }
 * ```
 */
export interface LassoFit {
  intercept: number
  /** Coefficients in the units of `y` per unit of each column (not standardised). */
  coef: number[]
  /** The penalty chosen, on standardised columns. */
  lambda: number
  nonzero: number
}

const PATH = 40
const SMALLEST = 1e-3

/**
 * L1-penalised least squares (`(1/2n)‖y − Xw‖² + λ‖w‖₁` on standardised columns, with an
 * intercept) by cyclic coordinate descent, along a path of 40 penalties from the smallest that
 * keeps every coefficient at zero down to a thousandth of it, warm-started, the penalty chosen by
 * the Bayesian information criterion (`n·ln(RSS/n) + k·ln n`, `k` the nonzero coefficients, fits
 * with `k ≥ n − 1` left out). Constant columns get a zero coefficient.
 *
 * @example
 * ```ts
 * const fit = lasso([[1, 0], [0, 1], [1, 1], [0, 0]], [2, 0, 2, 0])
 * fit.coef // ≈ [2, 0]
 * ```
 */
export function lasso(X: ArrayLike<number>[], y: ArrayLike<number>): LassoFit {
  const n = X.length
  const M = n > 0 ? X[0]!.length : 0
  if (n === 0 || y.length !== n) throw new TypeError('lasso: X and y need the same, positive, rows')
  let yMean = 0
  for (let i = 0; i < n; i++) yMean += y[i]!
  yMean /= n
  const r = Float64Array.from({ length: n }, (_, i) => y[i]! - yMean)
  const mean = new Float64Array(M)
  const scale = new Float64Array(M)
  const Z = new Float64Array(n * M)
  for (let j = 0; j < M; j++) {
    for (let i = 0; i < n; i++) mean[j] += X[i]![j]!
    mean[j] /= n
    let v = 0
    for (let i = 0; i < n; i++) v += (X[i]![j]! - mean[j]!) ** 2
    scale[j] = Math.sqrt(v / n)
    if (scale[j]! > 1e-12)
      for (let i = 0; i < n; i++) Z[i * M + j] = (X[i]![j]! - mean[j]!) / scale[j]!
  }
  let lambdaMax = 0
  for (let j = 0; j < M; j++) {
    let g = 0
    for (let i = 0; i < n; i++) g += Z[i * M + j]! * r[i]!
    lambdaMax = Math.max(lambdaMax, Math.abs(g) / n)
  }
  const w = new Float64Array(M)
  const rss = () => r.reduce((a, v) => a + v * v, 0)
  const floor = Math.max(rss(), 1e-300) * 1e-12
  let best = {
    bic: n * Math.log(Math.max(rss(), floor) / n),
    w: Float64Array.from(w),
    lambda: lambdaMax,
  }
  if (lambdaMax === 0) return finish(best.w, best.lambda)
  for (let step = 1; step < PATH; step++) {
    const lambda = lambdaMax * SMALLEST ** (step / (PATH - 1))
    for (let sweep = 0; sweep < 1000; sweep++) {
      let change = 0
      for (let j = 0; j < M; j++) {
        if (scale[j]! <= 1e-12) continue
        let g = 0
        for (let i = 0; i < n; i++) g += Z[i * M + j]! * r[i]!
        // Columns are standardised: ‖z_j‖²/n = 1.
        const rho = g / n + w[j]!
        const next = Math.sign(rho) * Math.max(Math.abs(rho) - lambda, 0)
        const d = next - w[j]!
        if (d === 0) continue
        for (let i = 0; i < n; i++) r[i] -= d * Z[i * M + j]!
        w[j] = next
        change = Math.max(change, Math.abs(d))
      }
      if (change < 1e-9) break
    }
    const k = w.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0)
    if (k >= n - 1) break
    const bic = n * Math.log(Math.max(rss(), floor) / n) + k * Math.log(n)
    if (bic < best.bic) best = { bic, w: Float64Array.from(w), lambda }
  }
  return finish(best.w, best.lambda)

  function finish(ws: Float64Array, lambda: number): LassoFit {
    const coef = Array.from(ws, (v, j) => (v === 0 ? 0 : v / scale[j]!))
    let intercept = yMean
    for (let j = 0; j < M; j++) intercept -= coef[j]! * mean[j]!
    return { intercept, coef, lambda, nonzero: coef.filter((c) => c !== 0).length }
  }
}

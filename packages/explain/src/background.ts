import { Rng } from './rng.js'
import type { BackgroundData } from './types.js'

/**
 * Summarises data with weighted k-means (like `shap.kmeans`): `k` centroids (k-means++ seeding,
 * Lloyd iterations), each weighted by the share of rows it holds, and every centroid value snapped
 * to the nearest value that column takes in the data so categorical and integer columns stay
 * valid. Missing values (null/NaN) are ignored when averaging and kept when a column is all
 * missing in a cluster.
 *
 * @example
 * ```ts
 * const background = kmeans(trainingRows, 10, { seed: 1 })
 * await explainModel({ model, x, background, method: 'kernel_shap' })
 * ```
 */
export function kmeans(
  rows: Array<Array<number | null>>,
  k: number,
  options: { seed?: number; iterations?: number } = {},
): BackgroundData {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new TypeError('kmeans needs at least one row')
  if (!Number.isInteger(k) || k <= 0) throw new TypeError('k must be a positive integer')
  const n = rows.length
  const W = rows[0]!.length
  const x = rows.map((r) => r.map((v) => (v === null ? NaN : v)))
  if (k >= n) return { data: x.map((r) => r.slice()), weights: new Array(n).fill(1 / n) }
  const rng = new Rng(options.seed ?? 0)
  const dist = (a: number[], b: number[]) => {
    let s = 0
    for (let c = 0; c < W; c++) {
      const d = a[c]! - b[c]!
      if (d === d) s += d * d
    }
    return s
  }
  const centers: number[][] = [x[rng.int(n)]!.slice()]
  const d2 = x.map((r) => dist(r, centers[0]!))
  while (centers.length < k) {
    const total = d2.reduce((a, b) => a + b, 0)
    let u = rng.next() * total
    let pick = 0
    for (; pick < n - 1 && u >= d2[pick]!; pick++) u -= d2[pick]!
    centers.push(x[pick]!.slice())
    x.forEach((r, i) => (d2[i] = Math.min(d2[i]!, dist(r, centers[centers.length - 1]!))))
  }
  const assign = new Int32Array(n)
  for (let it = 0; it < (options.iterations ?? 50); it++) {
    let moved = false
    x.forEach((r, i) => {
      let best = 0
      let bestD = Infinity
      centers.forEach((c, j) => {
        const d = dist(r, c)
        if (d < bestD) [best, bestD] = [j, d]
      })
      if (assign[i] !== best || it === 0) moved = true
      assign[i] = best
    })
    centers.forEach((c, j) => {
      for (let col = 0; col < W; col++) {
        let s = 0
        let m = 0
        x.forEach((r, i) => {
          if (assign[i] === j && r[col] === r[col]) [s, m] = [s + r[col]!, m + 1]
        })
        c[col] = m > 0 ? s / m : NaN
      }
    })
    if (!moved) break
  }
  const counts = new Array(k).fill(0)
  assign.forEach((a) => counts[a]++)
  for (let col = 0; col < W; col++) {
    const values = [...new Set(x.map((r) => r[col]!).filter((v) => v === v))].sort((a, b) => a - b)
    for (const c of centers) {
      if (c[col] !== c[col] || values.length === 0) continue
      let best = values[0]!
      for (const v of values) if (Math.abs(v - c[col]!) < Math.abs(best - c[col]!)) best = v
      c[col] = best
    }
  }
  const keep = centers.map((_, j) => j).filter((j) => counts[j] > 0)
  return { data: keep.map((j) => centers[j]!), weights: keep.map((j) => counts[j] / n) }
}

/**
 * A seeded uniform sample of `size` rows (without replacement), equally weighted.
 *
 * @example
 * ```ts
 * const background = sampleBackground(trainingRows, 100, { seed: 1 })
 * ```
 */
export function sampleBackground(
  rows: Array<Array<number | null>>,
  size: number,
  options: { seed?: number } = {},
): BackgroundData {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new TypeError('sampleBackground needs at least one row')
  if (!Number.isInteger(size) || size <= 0) throw new TypeError('size must be a positive integer')
  const rng = new Rng(options.seed ?? 0)
  const order = rng.permutation(rows.length).slice(0, Math.min(size, rows.length))
  const data = Array.from(order, (i) => rows[i]!.map((v) => (v === null ? NaN : v)))
  return { data, weights: new Array(data.length).fill(1 / data.length) }
}

import { solve } from '../linalg.js'
import { evaluateMasks, type Problem, varyingGroups } from '../problem.js'
import { Rng } from '../rng.js'
import type { KernelSampler, KernelSurrogate } from '../types.js'
import { fitCoalitionTrees, surrogateShapley } from './surrogate.js'

/** @internal A weighted set of coalitions over `M` players. `unit < 0` marks enumerated rows. */
export interface KernelDesign {
  M: number
  n: number
  masks: Uint8Array
  weights: Float64Array
  unit: Int32Array
  /** Sampling stratum of each unit (for the bootstrap). */
  unitClass: number[]
  /** Total kernel weight of the sampled part, kept fixed under resampling. */
  sampledWeight: number
}

function binom(n: number, k: number): number {
  let r = 1
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i
  return Math.round(r)
}

class DesignBuilder {
  masks: number[] = []
  weights: number[] = []
  unit: number[] = []
  constructor(readonly M: number) {}
  add(mask: Uint8Array, w: number, unit: number): number {
    for (let i = 0; i < this.M; i++) this.masks.push(mask[i]!)
    this.weights.push(w)
    this.unit.push(unit)
    return this.weights.length - 1
  }
  build(unitClass: number[], sampledWeight: number): KernelDesign {
    return {
      M: this.M,
      n: this.weights.length,
      masks: Uint8Array.from(this.masks),
      weights: Float64Array.from(this.weights),
      unit: Int32Array.from(this.unit),
      unitClass,
      sampledWeight,
    }
  }
}

function* combinations(M: number, k: number): Generator<Int32Array> {
  const c = Int32Array.from({ length: k }, (_, i) => i)
  while (true) {
    yield c
    let i = k - 1
    while (i >= 0 && c[i] === M - k + i) i--
    if (i < 0) return
    c[i]++
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1]! + 1
  }
}

/** Kernel weight per subset-size class (sizes s and M - s together), normalised; shap's layout. */
function sizeWeights(M: number) {
  const numSizes = Math.ceil((M - 1) / 2)
  const numPaired = Math.floor((M - 1) / 2)
  const wv = Array.from(
    { length: numSizes },
    (_, i) => ((M - 1) / ((i + 1) * (M - i - 1))) * (i < numPaired ? 2 : 1),
  )
  const total = wv.reduce((a, b) => a + b, 0)
  return { numSizes, numPaired, wv: wv.map((w) => w / total) }
}

/** Enumerates whole size classes while the budget allows, exactly as shap's KernelExplainer does. */
function enumerateFull(M: number, budget: number, b: DesignBuilder) {
  const { numSizes, numPaired, wv } = sizeWeights(M)
  let numFull = 0
  let left = budget
  let rem = wv.slice()
  const mask = new Uint8Array(M)
  for (let s = 1; s <= numSizes; s++) {
    const paired = s <= numPaired
    const nsub = binom(M, s) * (paired ? 2 : 1)
    if ((left * rem[s - 1]!) / nsub < 1 - 1e-8) break
    numFull++
    left -= nsub
    if (rem[s - 1]! < 1) {
      const d = 1 - rem[s - 1]!
      rem = rem.map((w) => w / d)
    }
    const w = wv[s - 1]! / binom(M, s) / (paired ? 2 : 1)
    for (const inds of combinations(M, s)) {
      mask.fill(0)
      for (const i of inds) mask[i] = 1
      b.add(mask, w, -1)
      if (paired) {
        for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!
        b.add(mask, w, -1)
      }
    }
  }
  return { numFull, numSizes, numPaired, wv }
}

/**
 * @internal A port of shap's KernelExplainer sampler (shap 0.4x `explain`): paired complement
 * sampling, complete enumeration of small and large sizes while the budget allows, then sizes
 * drawn from the kernel, duplicates adding weight.
 */
export function shapDesign(M: number, budget: number, rng: Rng): KernelDesign {
  const b = new DesignBuilder(M)
  const { numFull, numSizes, numPaired, wv } = enumerateFull(M, budget, b)
  const nFixed = b.weights.length
  let samplesLeft = budget - nFixed
  const unitClass: number[] = []
  let sampledWeight = 0
  if (numFull !== numSizes && samplesLeft > 0) {
    let rw = wv.map((w, i) => (i < numPaired ? w / 2 : w)).slice(numFull)
    const total = rw.reduce((a, c) => a + c, 0)
    rw = rw.map((w) => w / total)
    const cdf: number[] = []
    rw.reduce((a, w, i) => (cdf[i] = a + w), 0)
    const used = new Map<string, number>()
    const mask = new Uint8Array(M)
    for (let draws = 0; samplesLeft > 0 && draws < 4 * (budget - nFixed); draws++) {
      const u = rng.next()
      let ind = cdf.findIndex((c) => u < c)
      if (ind < 0) ind = cdf.length - 1
      const size = ind + numFull + 1
      const perm = rng.permutation(M)
      mask.fill(0)
      for (let i = 0; i < size; i++) mask[perm[i]!] = 1
      const key = mask.join('')
      const seen = used.get(key)
      let isNew = false
      if (seen === undefined) {
        isNew = true
        used.set(key, b.add(mask, 1, unitClass.length))
        unitClass.push(0)
        samplesLeft--
      } else {
        b.weights[seen] += 1
      }
      if (samplesLeft > 0 && size <= numPaired) {
        for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!
        if (isNew) {
          b.add(mask, 1, unitClass.length - 1)
          samplesLeft--
        } else if (seen! + 1 < b.weights.length && b.unit[seen! + 1] === b.unit[seen!]) {
          b.weights[seen! + 1] += 1
        }
      }
    }
    sampledWeight = wv.slice(numFull).reduce((a, c) => a + c, 0)
    let s = 0
    for (let i = nFixed; i < b.weights.length; i++) s += b.weights[i]!
    for (let i = nFixed; i < b.weights.length; i++)
      b.weights[i] = (b.weights[i]! * sampledWeight) / s
  }
  return b.build(unitClass, sampledWeight)
}

/**
 * @internal The default sampler: shap's complete enumeration of the outer sizes, then a fixed,
 * stratified allocation of complement pairs to the remaining size classes in proportion to their
 * leverage (every size carries the same leverage in the Shapley regression, so each class gets
 * budget in proportion to the number of sizes it holds), subsets drawn without replacement within
 * a class and weighted by Horvitz–Thompson (class weight / sampled pairs).
 */
export function leverageDesign(M: number, budget: number, rng: Rng): KernelDesign {
  const b = new DesignBuilder(M)
  const { numFull, numSizes, numPaired, wv } = enumerateFull(M, budget, b)
  const classes: Array<{ size: number; avail: number; share: number; weight: number; n: number }> =
    []
  for (let c = numFull; c < numSizes; c++) {
    const size = c + 1
    const middle = size > numPaired
    classes.push({
      size,
      avail: middle ? binom(M, size) / 2 : binom(M, size),
      share: middle ? 1 : 2,
      weight: wv[c]!,
      n: 0,
    })
  }
  let units = Math.floor((budget - b.weights.length) / 2)
  const unitClass: number[] = []
  let sampledWeight = 0
  if (classes.length === 0 || units <= 0) return b.build(unitClass, 0)
  let open = classes.slice()
  while (units > 0 && open.length > 0) {
    const shares = open.reduce((a, c) => a + c.share, 0)
    let given = 0
    for (const c of open) {
      const want = Math.max(1, Math.round((units * c.share) / shares))
      const add = Math.min(want, c.avail - c.n, units - given)
      c.n += add
      given += add
      if (given >= units) break
    }
    units -= given
    open = open.filter((c) => c.n < c.avail)
    if (given === 0) break
  }
  const mask = new Uint8Array(M)
  const idx = new Int32Array(M)
  classes.forEach((c, ci) => {
    if (c.n === 0) return
    sampledWeight += c.weight
    const w = c.weight / (2 * c.n)
    const seen = new Set<string>()
    while (seen.size < c.n) {
      for (let i = 0; i < M; i++) idx[i] = i
      mask.fill(0)
      for (let i = 0; i < c.size; i++) {
        const j = i + rng.int(M - i)
        const t = idx[i]!
        idx[i] = idx[j]!
        idx[j] = t
        mask[idx[i]!] = 1
      }
      if (c.size * 2 === M && mask[0] === 0) for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!
      const key = mask.join('')
      if (seen.has(key)) continue
      seen.add(key)
      const unit = unitClass.length
      unitClass.push(ci)
      b.add(mask, w, unit)
      for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!
      b.add(mask, w, unit)
    }
  })
  return b.build(unitClass, sampledWeight)
}

/**
 * @internal Constrained weighted least squares (shap's `solve`: one variable eliminated so that
 * the values sum exactly to `fx - fnull`), for every output.
 */
export function solveKernel(
  d: KernelDesign,
  weights: Float64Array,
  v: Float64Array,
  K: number,
  fnull: Float64Array,
  fx: Float64Array,
): Float64Array {
  const { M, n, masks } = d
  const phi = new Float64Array(M * K)
  if (M === 1) {
    for (let k = 0; k < K; k++) phi[k] = fx[k]! - fnull[k]!
    return phi
  }
  const P = M - 1
  const A = new Float64Array(P * P)
  const row = new Float64Array(P)
  const B = new Float64Array(P * K)
  for (let i = 0; i < n; i++) {
    const w = weights[i]!
    if (w === 0) continue
    const last = masks[i * M + P]!
    for (let a = 0; a < P; a++) row[a] = masks[i * M + a]! - last
    for (let a = 0; a < P; a++) {
      const ra = w * row[a]!
      if (ra === 0) continue
      for (let c = a; c < P; c++) A[a * P + c] += ra * row[c]!
      for (let k = 0; k < K; k++) {
        const y = v[i * K + k]! - fnull[k]! - last * (fx[k]! - fnull[k]!)
        B[a * K + k] += ra * y
      }
    }
  }
  for (let a = 0; a < P; a++) for (let c = 0; c < a; c++) A[a * P + c] = A[c * P + a]!
  for (let k = 0; k < K; k++) {
    const rhs = Float64Array.from({ length: P }, (_, a) => B[a * K + k]!)
    const w = solve(A, rhs, P)
    let sum = 0
    for (let a = 0; a < P; a++) {
      phi[a * K + k] = w[a]!
      sum += w[a]!
    }
    phi[P * K + k] = fx[k]! - fnull[k]! - sum
  }
  return phi
}

/** @internal Bootstrap weights: sampled units resampled with replacement within their stratum. */
function bootstrapWeights(d: KernelDesign, rng: Rng): Float64Array {
  const w = Float64Array.from(d.weights)
  const byClass = new Map<number, number[]>()
  d.unitClass.forEach((c, u) => byClass.set(c, [...(byClass.get(c) ?? []), u]))
  const mult = new Float64Array(d.unitClass.length)
  for (const units of byClass.values())
    for (let i = 0; i < units.length; i++) mult[units[rng.int(units.length)]!]++
  let before = 0
  let after = 0
  for (let i = 0; i < d.n; i++) {
    const u = d.unit[i]!
    if (u < 0) continue
    before += w[i]!
    w[i] = w[i]! * mult[u]!
    after += w[i]!
  }
  if (after > 0) for (let i = 0; i < d.n; i++) if (d.unit[i]! >= 0) w[i] = (w[i]! * before) / after
  return w
}

/** @internal Options of {@link kernelShap}. */
export interface KernelOptions {
  nsamples?: number | undefined
  seed: number
  sampler: KernelSampler
  bootstrap: number
  tolerance?: number | undefined
  maxEvaluations?: number | undefined
  maxTimeMs?: number | undefined
  surrogate: KernelSurrogate
}

/** Sampled units below which the surrogate adjustment is skipped. */
const MIN_ADJUSTED_UNITS = 16

/** Cross-fitting folds of the surrogate adjustment. */
const SURROGATE_FOLDS = 5

/** Ridge penalty of the pairwise part of the surrogate (rows are unweighted 0/1 indicators). */
const PAIRWISE_RIDGE = 1

/**
 * The pairwise part has `P = 1 + M + M(M−1)/2` terms: its normal equations take `(folds + 1)·P²`
 * numbers per output and each fold a `P³` solve. Past these bounds (about 34 features for one
 * output) the surrogate is the trees alone.
 */
const PAIRWISE_MAX_TERMS = 600
const PAIRWISE_MAX_BYTES = 64 * 1024 * 1024

/** @internal A fitted surrogate game: exact Shapley values, `g(∅)`, `g(N)` and `g` on every design row. */
interface FittedSurrogate {
  phi: Float64Array
  empty: Float64Array
  full: Float64Array
  pred: Float64Array
}

/** @internal Fits a surrogate to the design rows `train` (all but the sampled units of `fold`). */
type SurrogateFit = (train: Int32Array, fold: number) => FittedSurrogate

/**
 * @internal Surrogate of the coalition game: a ridge fit of the pairwise game `c + Σ a_i z_i +
 * Σ b_ij z_i z_j` (Shapley values `a_i + ½ Σ_j b_ij`; skipped past PAIRWISE_MAX_TERMS or
 * PAIRWISE_MAX_BYTES), then boosted trees on the coalition indicators fitted to its residuals
 * (their Shapley values by TreeSHAP). Kernel SHAP with
 * complement pairs is already exact on pairwise games, so the trees are left to model the higher
 * interactions that carry its error.
 */
function coalitionSurrogate(
  d: KernelDesign,
  v: Float64Array,
  K: number,
  folds: number,
): SurrogateFit {
  const M = d.M
  const P = 1 + M + (M * (M - 1)) / 2
  const pairwise =
    P <= PAIRWISE_MAX_TERMS && (folds + 1) * P * P * 8 * K <= PAIRWISE_MAX_BYTES
      ? Array.from({ length: K }, (_, k) => pairwiseGrams(d, v, K, k, folds))
      : undefined
  const none = { fitted: new Float64Array(d.n), phi: new Float64Array(M), empty: 0, full: 0 }
  return (train, fold) => {
    const phi = new Float64Array(M * K)
    const empty = new Float64Array(K)
    const full = new Float64Array(K)
    const pred = new Float64Array(d.n * K)
    for (let k = 0; k < K; k++) {
      const q = pairwise?.[k]!(fold) ?? none
      const y = Float64Array.from({ length: d.n }, (_, i) => v[i * K + k]! - q.fitted[i]!)
      const g = fitCoalitionTrees(d.masks, M, y, train)
      const sh = surrogateShapley(g.model)
      for (let i = 0; i < d.n; i++) pred[i * K + k] = g.fitted[i]! + q.fitted[i]!
      for (let a = 0; a < M; a++) phi[a * K + k] = sh.phi[a]! + q.phi[a]!
      empty[k] = sh.empty + q.empty
      full[k] = sh.full + q.full
    }
    return { phi, empty, full, pred }
  }
}

/**
 * @internal Normal equations of the pairwise game for output `k`, accumulated once per block
 * (enumerated rows, then each fold); returns the ridge fit leaving out one fold.
 */
function pairwiseGrams(d: KernelDesign, v: Float64Array, K: number, k: number, folds: number) {
  const M = d.M
  const P = 1 + M + (M * (M - 1)) / 2
  const grams = Array.from({ length: folds + 1 }, () => new Float64Array(P * P))
  const rhs = Array.from({ length: folds + 1 }, () => new Float64Array(P))
  const f = new Float64Array(P)
  const nz = new Int32Array(P)
  const features = (i: number) => {
    f[0] = 1
    let c = 1
    for (let a = 0; a < M; a++) f[c++] = d.masks[i * M + a]!
    for (let a = 0; a < M; a++)
      for (let b = a + 1; b < M; b++) f[c++] = d.masks[i * M + a]! * d.masks[i * M + b]!
  }
  for (let i = 0; i < d.n; i++) {
    features(i)
    const block = d.unit[i]! < 0 ? folds : d.unit[i]! % folds
    const A = grams[block]!
    const B = rhs[block]!
    let m = 0
    for (let a = 0; a < P; a++) if (f[a] !== 0) nz[m++] = a
    const y = v[i * K + k]!
    for (let x = 0; x < m; x++) {
      const a = nz[x]!
      B[a] += y
      for (let z = x; z < m; z++) A[a * P + nz[z]!]++
    }
  }
  return (fold: number) => {
    const A = new Float64Array(P * P)
    const B = new Float64Array(P)
    grams.forEach((g, block) => {
      if (block === fold) return
      for (let i = 0; i < P * P; i++) A[i] += g[i]!
      for (let a = 0; a < P; a++) B[a] += rhs[block]![a]!
    })
    for (let a = 0; a < P; a++) for (let b = 0; b < a; b++) A[a * P + b] = A[b * P + a]!
    for (let a = 1; a < P; a++) A[a * P + a] += PAIRWISE_RIDGE
    const w = solve(A, B, P)
    const fitted = new Float64Array(d.n)
    for (let i = 0; i < d.n; i++) {
      features(i)
      let s = 0
      for (let a = 0; a < P; a++) s += f[a]! * w[a]!
      fitted[i] = s
    }
    const phi = new Float64Array(M)
    let full = w[0]!
    let c = 1 + M
    for (let a = 0; a < M; a++) {
      phi[a] = w[1 + a]!
      full += w[1 + a]!
    }
    for (let a = 0; a < M; a++)
      for (let b = a + 1; b < M; b++) {
        phi[a] += w[c]! / 2
        phi[b] += w[c]! / 2
        full += w[c++]!
      }
    return { fitted, phi, empty: w[0]!, full }
  }
}

/**
 * @internal Regression-adjusted Kernel SHAP (after Witter et al. 2025), cross-fitted over `folds`
 * folds of the sampled units: per fold, a surrogate fitted to the enumerated rows and the other
 * folds; every sampled row takes the residual `v − g` of the surrogate that did not see it (the
 * enumerated rows, which carry no sampling error, the fold average), and one Kernel SHAP
 * regression on those residuals corrects the surrogates' averaged exact Shapley values. Returns
 * the estimator as a function of the design weights (for the bootstrap).
 */
function adjustedEstimator(
  d: KernelDesign,
  v: Float64Array,
  K: number,
  fnull: Float64Array,
  fx: Float64Array,
  fit: SurrogateFit,
  folds: number,
) {
  const fitted = Array.from({ length: folds }, (_, fold) =>
    fit(
      Int32Array.from({ length: d.n }, (_, i) => i).filter(
        (i) => d.unit[i]! < 0 || d.unit[i]! % folds !== fold,
      ),
      fold,
    ),
  )
  const phi = new Float64Array(d.M * K)
  const rnull = Float64Array.from(fnull)
  const rfx = Float64Array.from(fx)
  const resid = Float64Array.from(v)
  for (const g of fitted) {
    for (let i = 0; i < phi.length; i++) phi[i] += g.phi[i]! / folds
    for (let k = 0; k < K; k++) {
      rnull[k] -= g.empty[k]! / folds
      rfx[k] -= g.full[k]! / folds
    }
  }
  for (let i = 0; i < d.n; i++) {
    const u = d.unit[i]!
    for (let k = 0; k < K; k++) {
      let g = 0
      if (u >= 0) g = fitted[u % folds]!.pred[i * K + k]!
      else for (const f of fitted) g += f.pred[i * K + k]! / folds
      resid[i * K + k] -= g
    }
  }
  return (weights: Float64Array): Float64Array => {
    const r = solveKernel(d, weights, resid, K, rnull, rfx)
    for (let i = 0; i < r.length; i++) r[i] += phi[i]!
    return r
  }
}

/** @internal Kernel SHAP for one row, with bootstrap standard errors and an optional stop rule. */
export async function kernelShap(
  p: Problem,
  x: Float64Array,
  o: KernelOptions,
): Promise<{
  phi: Float64Array
  se: Float64Array
  base: Float64Array
  fx: Float64Array
  samples: number
  stopped: string
}> {
  const M = p.groups.length
  const K = p.K
  const started = Date.now()
  const ends = new Uint8Array(2 * M).fill(1, M)
  const endValues = await evaluateMasks(p, x, ends, 2)
  const fnull = endValues.slice(0, K)
  const fx = endValues.slice(K)
  const phi = new Float64Array(M * K)
  const se = new Float64Array(M * K)
  const varying = varyingGroups(p, x)
  const Mv = varying.length
  if (Mv <= 1) {
    if (Mv === 1) for (let k = 0; k < K; k++) phi[varying[0]! * K + k] = fx[k]! - fnull[k]!
    return { phi, se, base: fnull, fx, samples: 2, stopped: 'exhaustive' }
  }
  const cap = Mv <= 30 ? 2 ** Mv - 2 : Infinity
  let budget = Math.min(o.nsamples ?? 2 * Mv + 2048, cap)
  const cache = new Map<string, Float64Array>()
  let round = 0
  while (true) {
    const rng = new Rng(o.seed + 7919 * round)
    const design =
      o.sampler === 'shap' ? shapDesign(Mv, budget, rng) : leverageDesign(Mv, budget, rng)
    const pending: number[] = []
    for (let i = 0; i < design.n; i++)
      if (!cache.has(design.masks.subarray(i * Mv, (i + 1) * Mv).join(''))) pending.push(i)
    const masks = new Uint8Array(pending.length * M)
    pending.forEach((i, j) => {
      for (let a = 0; a < Mv; a++) masks[j * M + varying[a]!] = design.masks[i * Mv + a]!
    })
    const values = await evaluateMasks(p, x, masks, pending.length)
    pending.forEach((i, j) =>
      cache.set(
        design.masks.subarray(i * Mv, (i + 1) * Mv).join(''),
        values.slice(j * K, (j + 1) * K),
      ),
    )
    const v = new Float64Array(design.n * K)
    for (let i = 0; i < design.n; i++)
      v.set(cache.get(design.masks.subarray(i * Mv, (i + 1) * Mv).join(''))!, i * K)
    const plain = (w: Float64Array) => solveKernel(design, w, v, K, fnull, fx)
    const adjust = o.surrogate !== 'none' && design.unitClass.length >= MIN_ADJUSTED_UNITS
    const canBoot = design.unitClass.length > 1 && o.bootstrap > 1
    const run = (estimator: (w: Float64Array) => Float64Array) => {
      const boots: Float64Array[] = []
      if (canBoot) {
        const brng = new Rng(o.seed ^ 0x5bd1e995)
        for (let bI = 0; bI < o.bootstrap; bI++)
          boots.push(estimator(bootstrapWeights(design, brng)))
      }
      let variance = 0
      for (let i = 0; i < Mv * K; i++) {
        const mean = boots.reduce((s, b) => s + b[i]!, 0) / boots.length
        variance += boots.reduce((s, b) => s + (b[i]! - mean) ** 2, 0)
      }
      return { est: estimator(design.weights), boots, variance }
    }
    let chosen: { est: Float64Array; boots: Float64Array[]; variance: number }
    if (!adjust || (o.surrogate === 'auto' && !canBoot)) chosen = run(plain)
    else {
      const fit = coalitionSurrogate(design, v, K, SURROGATE_FOLDS)
      const adjusted = run(adjustedEstimator(design, v, K, fnull, fx, fit, SURROGATE_FOLDS))
      chosen = adjusted
      if (o.surrogate === 'auto') {
        const base = run(plain)
        if (base.variance <= adjusted.variance) chosen = base
      }
    }
    const { est, boots } = chosen
    phi.fill(0)
    se.fill(0)
    let worst = 0
    for (let a = 0; a < Mv; a++) {
      for (let k = 0; k < K; k++) {
        const i = a * K + k
        phi[varying[a]! * K + k] = est[i]!
        if (boots.length === 0) continue
        const mean = boots.reduce((s, b) => s + b[i]!, 0) / boots.length
        const sd = Math.sqrt(
          boots.reduce((s, b) => s + (b[i]! - mean) ** 2, 0) / (boots.length - 1),
        )
        se[varying[a]! * K + k] = sd
        worst = Math.max(worst, sd)
      }
    }
    if (budget >= cap) return { phi, se, base: fnull, fx, samples: design.n, stopped: 'exhaustive' }
    if (o.tolerance === undefined)
      return { phi, se, base: fnull, fx, samples: design.n, stopped: 'budget' }
    if (worst <= o.tolerance)
      return { phi, se, base: fnull, fx, samples: design.n, stopped: 'tolerance' }
    const next = Math.min(budget * 2, cap)
    if (
      o.maxEvaluations !== undefined &&
      p.stats.evaluations + (next - budget) * p.bgWeights.length > o.maxEvaluations
    ) {
      return { phi, se, base: fnull, fx, samples: design.n, stopped: 'max_evaluations' }
    }
    if (o.maxTimeMs !== undefined && Date.now() - started > o.maxTimeMs) {
      return { phi, se, base: fnull, fx, samples: design.n, stopped: 'max_time' }
    }
    budget = next
    round++
  }
}

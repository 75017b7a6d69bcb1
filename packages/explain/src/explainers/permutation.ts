import { evaluateMasks, type Problem } from '../problem.js'
import { Rng } from '../rng.js'

/**
 * @internal Permutation SHAP with antithetic pairs (each permutation and its reverse): the
 * estimate is exactly additive; `se` is the standard error over pairs.
 */
export async function permutationShap(
  p: Problem,
  x: Float64Array,
  pairs: number,
  seed: number,
): Promise<{ phi: Float64Array; se: Float64Array; base: Float64Array; fx: Float64Array }> {
  const M = p.groups.length
  const K = p.K
  const rng = new Rng(seed)
  const perms: Int32Array[] = []
  for (let i = 0; i < pairs; i++) {
    const perm = rng.permutation(M)
    perms.push(perm, perm.slice().reverse())
  }
  // Row 0 is the empty coalition, row 1 the full one; then M - 1 prefixes per permutation.
  const n = 2 + perms.length * (M - 1)
  const masks = new Uint8Array(n * M)
  masks.fill(1, M, 2 * M)
  perms.forEach((perm, j) => {
    const at = 2 + j * (M - 1)
    for (let len = 1; len < M; len++)
      for (let i = 0; i < len; i++) masks[(at + len - 1) * M + perm[i]!] = 1
  })
  const v = await evaluateMasks(p, x, masks, n)
  const row = (j: number, len: number) =>
    len === 0 ? 0 : len === M ? 1 : 2 + j * (M - 1) + len - 1
  const pairEstimates = new Float64Array(pairs * M * K)
  perms.forEach((perm, j) => {
    const pair = j >> 1
    for (let len = 1; len <= M; len++) {
      const g = perm[len - 1]!
      for (let k = 0; k < K; k++) {
        pairEstimates[(pair * M + g) * K + k] +=
          0.5 * (v[row(j, len) * K + k]! - v[row(j, len - 1) * K + k]!)
      }
    }
  })
  const phi = new Float64Array(M * K)
  const se = new Float64Array(M * K)
  for (let i = 0; i < M * K; i++) {
    let mean = 0
    for (let q = 0; q < pairs; q++) mean += pairEstimates[q * M * K + i]!
    mean /= pairs
    let ss = 0
    for (let q = 0; q < pairs; q++) ss += (pairEstimates[q * M * K + i]! - mean) ** 2
    phi[i] = mean
    se[i] = pairs > 1 ? Math.sqrt(ss / (pairs - 1) / pairs) : NaN
  }
  return { phi, se, base: v.slice(0, K), fx: v.slice(K, 2 * K) }
}

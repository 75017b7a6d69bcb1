import { evaluateMasks, type Problem } from '../problem.js'

/**
 * @internal Exact Shapley values over all `2^M` coalitions of the groups for one row:
 * `phi` (`M × K`), `base` and `fx` (`K`), in float64.
 */
export async function exactShap(
  p: Problem,
  x: Float64Array,
): Promise<{ phi: Float64Array; base: Float64Array; fx: Float64Array }> {
  const M = p.groups.length
  const K = p.K
  const n = 2 ** M
  const masks = new Uint8Array(n * M)
  for (let s = 0; s < n; s++) for (let g = 0; g < M; g++) masks[s * M + g] = (s >>> g) & 1
  const v = await evaluateMasks(p, x, masks, n)
  const fact = [1]
  for (let i = 1; i <= M; i++) fact[i] = fact[i - 1]! * i
  const weight = Array.from({ length: M }, (_, s) => (fact[s]! * fact[M - s - 1]!) / fact[M]!)
  const size = new Uint8Array(n)
  for (let s = 1; s < n; s++) size[s] = size[s >>> 1]! + (s & 1)
  const phi = new Float64Array(M * K)
  for (let g = 0; g < M; g++) {
    const bit = 1 << g
    for (let s = 0; s < n; s++) {
      if (s & bit) continue
      const w = weight[size[s]!]!
      for (let k = 0; k < K; k++) phi[g * K + k] += w * (v[(s | bit) * K + k]! - v[s * K + k]!)
    }
  }
  return { phi, base: v.slice(0, K), fx: v.slice((n - 1) * K, n * K) }
}

import type { Tree, TreeEnsemble } from '@modelgate/backend-trees'
import { interventionalTreeShap } from './tree.js'

/** @internal Settings of {@link fitCoalitionTrees}. */
export interface SurrogateOptions {
  rounds: number
  depth: number
  rate: number
  minLeaf: number
}

/** @internal Defaults of {@link fitCoalitionTrees}. */
export const SURROGATE: SurrogateOptions = { rounds: 500, depth: 4, rate: 0.3, minLeaf: 2 }

/**
 * @internal Gradient-boosted regression trees (squared loss) on coalition indicators: row
 * `idx[i]` of `masks` (`M` wide, 0/1) predicts `y[idx[i] * stride + offset]`. Splits are
 * `mask < 0.5` (left: player absent), so the result is an ordinary {@link TreeEnsemble} whose
 * Shapley values as a game come from interventional TreeSHAP.
 */
export function fitCoalitionTrees(
  masks: Uint8Array,
  M: number,
  y: ArrayLike<number>,
  stride: number,
  offset: number,
  idx: Int32Array,
  o: SurrogateOptions = SURROGATE,
): TreeEnsemble {
  const n = idx.length
  const res = new Float64Array(n)
  let mean = 0
  for (let i = 0; i < n; i++) mean += res[i] = y[idx[i]! * stride + offset]!
  mean /= Math.max(1, n)
  for (let i = 0; i < n; i++) res[i] -= mean
  const trees: Tree[] = []
  const at = new Int32Array(n)
  const maxNodes = 2 ** (o.depth + 1)
  const cnt = new Float64Array(maxNodes * M)
  const sum = new Float64Array(maxNodes * M)
  for (let round = 0; round < o.rounds; round++) {
    const left: number[] = [-1]
    const right: number[] = [-1]
    const feature: number[] = [0]
    const count: number[] = [n]
    let total = 0
    for (let i = 0; i < n; i++) total += res[i]!
    const sums: number[] = [total]
    at.fill(0)
    let frontier = [0]
    for (let level = 0; level < o.depth && frontier.length > 0; level++) {
      const slot = new Int32Array(left.length).fill(-1)
      frontier.forEach((node, s) => (slot[node] = s))
      cnt.fill(0, 0, frontier.length * M)
      sum.fill(0, 0, frontier.length * M)
      for (let i = 0; i < n; i++) {
        const s = slot[at[i]!]!
        if (s < 0) continue
        const base = idx[i]! * M
        const r = res[i]!
        for (let j = 0; j < M; j++) {
          if (masks[base + j] === 0) continue
          cnt[s * M + j]++
          sum[s * M + j] += r
        }
      }
      const next: number[] = []
      frontier.forEach((node, s) => {
        const N = count[node]!
        const T = sums[node]!
        let best = -1
        let gain = 1e-12 * (1 + (T * T) / N)
        for (let j = 0; j < M; j++) {
          const n1 = cnt[s * M + j]!
          const n0 = N - n1
          if (n1 < o.minLeaf || n0 < o.minLeaf) continue
          const s1 = sum[s * M + j]!
          const s0 = T - s1
          const g = (s1 * s1) / n1 + (s0 * s0) / n0 - (T * T) / N
          if (g > gain) {
            gain = g
            best = j
          }
        }
        if (best < 0) return
        const n1 = cnt[s * M + best]!
        const s1 = sum[s * M + best]!
        feature[node] = best
        left[node] = left.length
        right[node] = left.length + 1
        for (const [c, sc] of [
          [N - n1, T - s1],
          [n1, s1],
        ] as const) {
          left.push(-1)
          right.push(-1)
          feature.push(0)
          count.push(c)
          sums.push(sc)
        }
        next.push(left[node]!, right[node]!)
      })
      if (next.length === 0) break
      for (let i = 0; i < n; i++) {
        const node = at[i]!
        if (left[node] === -1) continue
        at[i] = masks[idx[i]! * M + feature[node]!] ? right[node]! : left[node]!
      }
      frontier = next
    }
    const size = left.length
    const value = new Float64Array(size)
    for (let node = 0; node < size; node++)
      if (left[node] === -1) value[node] = (o.rate * sums[node]!) / count[node]!
    for (let i = 0; i < n; i++) res[i] -= value[at[i]!]!
    let depth = 0
    const d = new Int32Array(size)
    for (let node = 0; node < size; node++) {
      if (left[node] === -1) continue
      d[left[node]!] = d[right[node]!] = d[node]! + 1
      depth = Math.max(depth, d[node]! + 1)
    }
    trees.push({
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      feature: Int32Array.from(feature),
      threshold: new Float64Array(size).fill(0.5),
      defaultLeft: new Uint8Array(size),
      missing: new Uint8Array(size).fill(2),
      value,
      cover: Float64Array.from(count),
      depth,
    })
  }
  return {
    format: 'xgboost',
    rule: 'lt',
    numFeatures: M,
    numOutputs: 1,
    featureNames: undefined,
    objective: { name: 'reg:squarederror', transform: 'identity', scale: 1 },
    baseMargin: Float64Array.of(mean),
    trees,
    treeOutput: new Int32Array(trees.length),
  }
}

/**
 * @internal Shapley values of the coalition game `S ↦ g(1_S)` of a surrogate, with `g(∅)` and
 * `g(N)`: interventional TreeSHAP of the all-ones row against the all-zeros background.
 */
export function surrogateShapley(g: TreeEnsemble): {
  phi: Float64Array
  empty: number
  full: number
} {
  const M = g.numFeatures
  const r = interventionalTreeShap(
    g,
    new Float64Array(M).fill(1),
    1,
    new Float64Array(M),
    Float64Array.of(1),
  )
  return { phi: r.values, empty: r.base[0]!, full: r.fx[0]! }
}

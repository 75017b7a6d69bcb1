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
export const SURROGATE: SurrogateOptions = { rounds: 500, depth: 4, rate: 0.5, minLeaf: 2 }

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

/** @internal A fitted coalition surrogate and its predictions on every row of the design. */
export interface FittedTrees {
  model: TreeEnsemble
  fitted: Float64Array
}

/**
 * @internal Gradient-boosted regression trees (squared loss) on coalition indicators, fitted to
 * rows `train` of `masks` (`N × M`, 0/1; row `i` predicts `y[i]`) and evaluated on all `N` rows
 * while fitting. Histograms are built for the smaller child of each split and subtracted from the
 * parent's for the other. Splits are `mask < 0.5` (left: player absent), so the model is an
 * ordinary {@link TreeEnsemble} whose Shapley values as a game come from interventional TreeSHAP.
 */
export function fitCoalitionTrees(
  masks: Uint8Array,
  M: number,
  y: ArrayLike<number>,
  train: Int32Array,
  o: SurrogateOptions = SURROGATE,
): FittedTrees {
  const N = masks.length / M
  const n = train.length
  let mean = 0
  for (let t = 0; t < n; t++) mean += y[train[t]!]!
  mean /= Math.max(1, n)
  const fitted = new Float64Array(N).fill(mean)
  const res = new Float64Array(n)
  for (let t = 0; t < n; t++) res[t] = y[train[t]!]! - mean
  const trees: Tree[] = []
  const maxNodes = 2 ** (o.depth + 1)
  const left = new Int32Array(maxNodes)
  const right = new Int32Array(maxNodes)
  const parent = new Int32Array(maxNodes)
  const feature = new Int32Array(maxNodes)
  const count = new Float64Array(maxNodes)
  const sums = new Float64Array(maxNodes)
  const cnt = new Float64Array(maxNodes * M)
  const sum = new Float64Array(maxNodes * M)
  const direct = new Uint8Array(maxNodes)
  const at = new Int32Array(N)
  const trainAt = new Int32Array(n)
  const trainMasks = new Uint8Array(n * M)
  for (let t = 0; t < n; t++)
    trainMasks.set(masks.subarray(train[t]! * M, (train[t]! + 1) * M), t * M)
  const rootCount = new Float64Array(M)
  for (let t = 0; t < n; t++) for (let j = 0; j < M; j++) rootCount[j] += trainMasks[t * M + j]!
  for (let round = 0; round < o.rounds; round++) {
    left[0] = right[0] = -1
    feature[0] = 0
    count[0] = n
    let total = 0
    for (let t = 0; t < n; t++) total += res[t]!
    sums[0] = total
    let nodes = 1
    at.fill(0)
    trainAt.fill(0)
    let from = 0
    let to = 1
    cnt.set(rootCount)
    sum.fill(0, 0, M)
    for (let t = 0; t < n; t++) {
      const r = res[t]!
      const base = t * M
      for (let j = 0; j < M; j++) sum[j] += trainMasks[base + j]! * r
    }
    for (let level = 0; level < o.depth && from < to; level++) {
      if (level > 0) {
        for (let node = from; node < to; node += 2) {
          const small = count[node]! <= count[node + 1]! ? node : node + 1
          direct[small] = 1
          direct[small === node ? node + 1 : node] = 0
          cnt.fill(0, small * M, (small + 1) * M)
          sum.fill(0, small * M, (small + 1) * M)
        }
        for (let t = 0; t < n; t++) {
          const node = trainAt[t]!
          if (node < from || !direct[node]) continue
          const base = t * M
          const r = res[t]!
          const h = node * M
          for (let j = 0; j < M; j++) {
            const m = trainMasks[base + j]!
            cnt[h + j] += m
            sum[h + j] += m * r
          }
        }
        for (let node = from; node < to; node++) {
          if (direct[node]) continue
          const sib = node % 2 === 1 ? node + 1 : node - 1
          const h = node * M
          const hp = parent[node]! * M
          const hs = sib * M
          for (let j = 0; j < M; j++) {
            cnt[h + j] = cnt[hp + j]! - cnt[hs + j]!
            sum[h + j] = sum[hp + j]! - sum[hs + j]!
          }
        }
      }
      const first = nodes
      for (let node = from; node < to; node++) {
        const Nn = count[node]!
        const T = sums[node]!
        const h = node * M
        let best = -1
        let gain = 1e-12 * (1 + (T * T) / Nn)
        for (let j = 0; j < M; j++) {
          const n1 = cnt[h + j]!
          const n0 = Nn - n1
          if (n1 < o.minLeaf || n0 < o.minLeaf) continue
          const s1 = sum[h + j]!
          const s0 = T - s1
          const g = (s1 * s1) / n1 + (s0 * s0) / n0 - (T * T) / Nn
          if (g > gain) {
            gain = g
            best = j
          }
        }
        if (best < 0) continue
        const n1 = cnt[h + best]!
        const s1 = sum[h + best]!
        feature[node] = best
        left[node] = nodes
        right[node] = nodes + 1
        left[nodes] = right[nodes] = left[nodes + 1] = right[nodes + 1] = -1
        parent[nodes] = parent[nodes + 1] = node
        feature[nodes] = feature[nodes + 1] = 0
        count[nodes] = Nn - n1
        sums[nodes] = T - s1
        count[nodes + 1] = n1
        sums[nodes + 1] = s1
        nodes += 2
      }
      if (nodes === first) break
      for (let i = 0; i < N; i++) {
        const node = at[i]!
        if (node >= from && left[node] !== -1)
          at[i] = masks[i * M + feature[node]!] ? right[node]! : left[node]!
      }
      for (let t = 0; t < n; t++) trainAt[t] = at[train[t]!]!
      from = first
      to = nodes
    }
    const value = new Float64Array(nodes)
    for (let node = 0; node < nodes; node++)
      if (left[node] === -1) value[node] = (o.rate * sums[node]!) / count[node]!
    for (let t = 0; t < n; t++) res[t] -= value[trainAt[t]!]!
    for (let i = 0; i < N; i++) fitted[i] += value[at[i]!]!
    let depth = 0
    const d = new Int32Array(nodes)
    for (let node = 0; node < nodes; node++) {
      if (left[node] === -1) continue
      d[left[node]!] = d[right[node]!] = d[node]! + 1
      depth = Math.max(depth, d[node]! + 1)
    }
    trees.push({
      left: left.slice(0, nodes),
      right: right.slice(0, nodes),
      feature: feature.slice(0, nodes),
      threshold: new Float64Array(nodes).fill(0.5),
      defaultLeft: new Uint8Array(nodes),
      missing: new Uint8Array(nodes).fill(2),
      value,
      cover: count.slice(0, nodes),
      depth,
    })
  }
  return {
    model: {
      format: 'xgboost',
      rule: 'lt',
      numFeatures: M,
      numOutputs: 1,
      featureNames: undefined,
      objective: { name: 'reg:squarederror', transform: 'identity', scale: 1 },
      baseMargin: Float64Array.of(mean),
      trees,
      treeOutput: new Int32Array(trees.length),
    },
    fitted,
  }
}

import { childOf, predictMargin } from '@modelgate/backend-trees'
import type { Tree, TreeEnsemble } from '@modelgate/backend-trees'

/**
 * Path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2) for `rows` rows of `x`. Columns
 * map to attribution groups through `groupOf` (identity when absent), so a one-hot block gets one
 * Shapley value of the grouped game. Returns `values` (`rows × groups × outputs`), `base`
 * (per output: cover-weighted mean margin) and the margins `fx`.
 * @internal
 */
export function pathDependentTreeShap(
  ensemble: TreeEnsemble,
  x: ArrayLike<number>,
  rows: number,
  groupOf?: Int32Array,
  groups = ensemble.numFeatures,
): { values: Float64Array; base: Float64Array; fx: Float64Array } {
  const K = ensemble.numOutputs
  const m = ensemble.numFeatures
  const group = groupOf ?? Int32Array.from({ length: m }, (_, i) => i)
  const values = new Float64Array(rows * groups * K)
  const base = Float64Array.from(ensemble.baseMargin)
  const maxDepth = ensemble.trees.reduce((d, t) => Math.max(d, t.depth), 0) + 2
  const size = (maxDepth * (maxDepth + 1)) / 2 + maxDepth
  const s: PathScratch = {
    feature: new Int32Array(size),
    zero: new Float64Array(size),
    one: new Float64Array(size),
    weight: new Float64Array(size),
    phi: new Float64Array(groups),
    tree: ensemble.trees[0]!,
    x,
    row: 0,
    le: ensemble.rule === 'le',
    group,
  }
  ensemble.trees.forEach((t, i) => (base[ensemble.treeOutput[i]!] += meanValue(t, 0)))
  for (let r = 0; r < rows; r++) {
    s.row = r * m
    for (let t = 0; t < ensemble.trees.length; t++) {
      s.tree = ensemble.trees[t]!
      s.phi.fill(0)
      recurse(s, 0, 0, 0, 1, 1, -1)
      const k = ensemble.treeOutput[t]!
      for (let j = 0; j < groups; j++) values[(r * groups + j) * K + k] += s.phi[j]!
    }
  }
  return { values, base, fx: predictMargin(ensemble, x, rows) }
}

interface PathScratch {
  feature: Int32Array
  zero: Float64Array
  one: Float64Array
  weight: Float64Array
  phi: Float64Array
  tree: Tree
  x: ArrayLike<number>
  row: number
  le: boolean
  group: Int32Array
}

function meanValue(t: Tree, node: number): number {
  if (t.left[node] === -1) return t.value[node]!
  const l = t.left[node]!
  const r = t.right[node]!
  const c = t.cover[node]!
  if (c <= 0) return 0.5 * (meanValue(t, l) + meanValue(t, r))
  return (t.cover[l]! * meanValue(t, l) + t.cover[r]! * meanValue(t, r)) / c
}

function extend(s: PathScratch, at: number, depth: number, zero: number, one: number, feature: number): void {
  const { weight: w } = s
  s.feature[at + depth] = feature
  s.zero[at + depth] = zero
  s.one[at + depth] = one
  w[at + depth] = depth === 0 ? 1 : 0
  for (let i = depth - 1; i >= 0; i--) {
    w[at + i + 1] += (one * w[at + i]! * (i + 1)) / (depth + 1)
    w[at + i] = (zero * w[at + i]! * (depth - i)) / (depth + 1)
  }
}

function unwind(s: PathScratch, at: number, depth: number, index: number): void {
  const { weight: w } = s
  const one = s.one[at + index]!
  const zero = s.zero[at + index]!
  let next = w[at + depth]!
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = w[at + i]!
      w[at + i] = (next * (depth + 1)) / ((i + 1) * one)
      next = tmp - (w[at + i]! * zero * (depth - i)) / (depth + 1)
    } else {
      w[at + i] = (w[at + i]! * (depth + 1)) / (zero * (depth - i))
    }
  }
  for (let i = index; i < depth; i++) {
    s.feature[at + i] = s.feature[at + i + 1]!
    s.zero[at + i] = s.zero[at + i + 1]!
    s.one[at + i] = s.one[at + i + 1]!
  }
}

function unwoundSum(s: PathScratch, at: number, depth: number, index: number): number {
  const { weight: w } = s
  const one = s.one[at + index]!
  const zero = s.zero[at + index]!
  let next = w[at + depth]!
  let total = 0
  if (one !== 0) {
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next / ((i + 1) * one)
      total += tmp
      next = w[at + i]! - tmp * zero * (depth - i)
    }
  } else {
    for (let i = depth - 1; i >= 0; i--) total += w[at + i]! / (zero * (depth - i))
  }
  return total * (depth + 1)
}

function recurse(s: PathScratch, node: number, depth: number, parentAt: number, parentZero: number, parentOne: number, parentFeature: number): void {
  const at = parentAt + depth + 1
  const { feature: fa, zero: za, one: oa, weight: wa } = s
  for (let i = 0; i <= depth; i++) {
    fa[at + i] = fa[parentAt + i]!
    za[at + i] = za[parentAt + i]!
    oa[at + i] = oa[parentAt + i]!
    wa[at + i] = wa[parentAt + i]!
  }
  extend(s, at, depth, parentZero, parentOne, parentFeature)
  const t = s.tree
  if (t.left[node] === -1) {
    const v = t.value[node]!
    for (let i = 1; i <= depth; i++) {
      const w = unwoundSum(s, at, depth, i)
      s.phi[s.feature[at + i]!] += w * (s.one[at + i]! - s.zero[at + i]!) * v
    }
    return
  }
  const column = t.feature[node]!
  const feature = s.group[column]!
  const hot = childOf(t, node, s.x[s.row + column]!, s.le)
  const cold = hot === t.left[node] ? t.right[node]! : t.left[node]!
  const cover = t.cover[node]!
  const hotZero = cover > 0 ? t.cover[hot]! / cover : 0.5
  const coldZero = cover > 0 ? t.cover[cold]! / cover : 0.5
  let inZero = 1
  let inOne = 1
  let index = 0
  for (; index <= depth; index++) if (s.feature[at + index] === feature) break
  if (index !== depth + 1) {
    inZero = s.zero[at + index]!
    inOne = s.one[at + index]!
    unwind(s, at, depth, index)
    depth -= 1
  }
  recurse(s, hot, depth + 1, at, hotZero * inZero, inOne, feature)
  recurse(s, cold, depth + 1, at, coldZero * inZero, 0, feature)
}

/**
 * Interventional TreeSHAP: exact Shapley values of `v(S) = E_z[f(x_S, z_rest)]` over a weighted
 * background, one tree walk per (row, background row). Groups are honoured exactly.
 * @internal
 */
export function interventionalTreeShap(
  ensemble: TreeEnsemble,
  x: ArrayLike<number>,
  rows: number,
  background: ArrayLike<number>,
  bgWeights: ArrayLike<number>,
  groupOf?: Int32Array,
  groups = ensemble.numFeatures,
): { values: Float64Array; base: Float64Array; fx: Float64Array } {
  const K = ensemble.numOutputs
  const m = ensemble.numFeatures
  const nb = bgWeights.length
  const group = groupOf ?? Int32Array.from({ length: m }, (_, i) => i)
  const values = new Float64Array(rows * groups * K)
  let wsum = 0
  for (let b = 0; b < nb; b++) wsum += bgWeights[b]!
  const bgMargin = predictMargin(ensemble, background, nb)
  const base = new Float64Array(K)
  for (let b = 0; b < nb; b++) for (let k = 0; k < K; k++) base[k] += (bgWeights[b]! / wsum) * bgMargin[b * K + k]!
  const maxDepth = ensemble.trees.reduce((d, t) => Math.max(d, t.depth), 0)
  const fact = new Float64Array(2 * maxDepth + 2)
  fact[0] = 1
  for (let i = 1; i < fact.length; i++) fact[i] = fact[i - 1]! * i
  const flag = new Uint8Array(groups)
  const xs = new Int32Array(maxDepth + 1)
  const zs = new Int32Array(maxDepth + 1)
  const phi = new Float64Array(groups)
  const le = ensemble.rule === 'le'
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < ensemble.trees.length; t++) {
      const tree = ensemble.trees[t]!
      const k = ensemble.treeOutput[t]!
      phi.fill(0)
      for (let b = 0; b < nb; b++) {
        const scale = bgWeights[b]! / wsum
        const walk = (node: number, nx: number, nz: number): void => {
          if (tree.left[node] === -1) {
            if (nx + nz === 0) return
            const v = tree.value[node]! * scale
            if (nx > 0) {
              const wx = (fact[nx - 1]! * fact[nz]!) / fact[nx + nz]!
              for (let i = 0; i < nx; i++) phi[xs[i]!] += v * wx
            }
            if (nz > 0) {
              const wz = (fact[nx]! * fact[nz - 1]!) / fact[nx + nz]!
              for (let i = 0; i < nz; i++) phi[zs[i]!] -= v * wz
            }
            return
          }
          const column = tree.feature[node]!
          const xc = childOf(tree, node, x[r * m + column]!, le)
          const zc = childOf(tree, node, background[b * m + column]!, le)
          if (xc === zc) return walk(xc, nx, nz)
          const g = group[column]!
          if (flag[g] === 1) return walk(xc, nx, nz)
          if (flag[g] === 2) return walk(zc, nx, nz)
          flag[g] = 1
          xs[nx] = g
          walk(xc, nx + 1, nz)
          flag[g] = 2
          zs[nz] = g
          walk(zc, nx, nz + 1)
          flag[g] = 0
        }
        walk(0, 0, 0)
      }
      for (let j = 0; j < groups; j++) values[(r * groups + j) * K + k] += phi[j]!
    }
  }
  return { values, base, fx: predictMargin(ensemble, x, rows) }
}

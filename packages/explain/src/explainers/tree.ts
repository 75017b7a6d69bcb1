import { childOf, predictMargin } from '@modelgate/backend-trees'
import { quadrature } from './gradients.js'
import type { Tree, TreeEnsemble } from '@modelgate/backend-trees'

/**
 * @internal Every tree of an ensemble in one set of typed arrays (global node ids, `-1` children
 * on leaves), built once per ensemble object and reused by every later call.
 */
export interface FlatForest {
  left: Int32Array
  right: Int32Array
  feature: Int32Array
  threshold: Float64Array
  defaultLeft: Uint8Array
  missing: Uint8Array
  value: Float64Array
  /** Cover of a node over the cover of its parent (0.5 when the parent has none); 1 on roots. */
  fraction: Float64Array
  roots: Int32Array
  output: Int32Array
  /** Cover-weighted mean margin per output, `baseMargin` included. */
  expected: Float64Array
  maxDepth: number
  le: boolean
}

const forests = new WeakMap<TreeEnsemble, FlatForest>()

/** @internal The flat layout of `ensemble`, cached on the ensemble object. */
export function flatForest(ensemble: TreeEnsemble): FlatForest {
  const hit = forests.get(ensemble)
  if (hit) return hit
  const total = ensemble.trees.reduce((n, t) => n + t.left.length, 0)
  const f: FlatForest = {
    left: new Int32Array(total),
    right: new Int32Array(total),
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    defaultLeft: new Uint8Array(total),
    missing: new Uint8Array(total),
    value: new Float64Array(total),
    fraction: new Float64Array(total),
    roots: new Int32Array(ensemble.trees.length),
    output: Int32Array.from(ensemble.treeOutput),
    expected: Float64Array.from(ensemble.baseMargin),
    maxDepth: 0,
    le: ensemble.rule === 'le',
  }
  let at = 0
  ensemble.trees.forEach((t, i) => {
    const n = t.left.length
    f.roots[i] = at
    for (let j = 0; j < n; j++) {
      const leaf = t.left[j] === -1
      f.left[at + j] = leaf ? -1 : t.left[j]! + at
      f.right[at + j] = leaf ? -1 : t.right[j]! + at
      f.feature[at + j] = t.feature[j]!
      f.threshold[at + j] = t.threshold[j]!
      f.defaultLeft[at + j] = t.defaultLeft[j]!
      f.missing[at + j] = t.missing[j]!
      f.value[at + j] = t.value[j]!
      if (!leaf) {
        const c = t.cover[j]!
        f.fraction[at + t.left[j]!] = c > 0 ? t.cover[t.left[j]!]! / c : 0.5
        f.fraction[at + t.right[j]!] = c > 0 ? t.cover[t.right[j]!]! / c : 0.5
      }
    }
    f.fraction[at] = 1
    f.expected[f.output[i]!] += meanValue(t, 0)
    f.maxDepth = Math.max(f.maxDepth, t.depth)
    at += n
  })
  forests.set(ensemble, f)
  return f
}

function meanValue(t: Tree, node: number): number {
  if (t.left[node] === -1) return t.value[node]!
  const l = t.left[node]!
  const r = t.right[node]!
  const c = t.cover[node]!
  if (c <= 0) return 0.5 * (meanValue(t, l) + meanValue(t, r))
  return (t.cover[l]! * meanValue(t, l) + t.cover[r]! * meanValue(t, r)) / c
}

/**
 * The unique-path workspace of Algorithm 2, laid out as shap's C++ `tree_shap_recursive` lays
 * out its `PathElement` array: the path at unique depth `d` starts `d + 1` slots after its
 * parent's, so a child copies its parent's segment forward and never allocates.
 */
interface Workspace {
  forest: FlatForest
  feature: Int32Array
  zero: Float64Array
  one: Float64Array
  weight: Float64Array
  /** `inv[k] = 1 / k`. */
  inv: Float64Array
  group: Int32Array
  /** The current row, float32-rounded for XGBoost's comparisons. */
  x: Float64Array
  phi: Float64Array
  /** Offset of the current row and output in `phi`: `phi[at + group * K]`. */
  phiAt: number
  K: number
}

/**
 * Path-dependent TreeSHAP by Lundberg et al. 2018, Algorithm 2 (shap's C++ `tree_shap`), for
 * `rows` rows of `x`; same contract as {@link pathDependentTreeShap}, kept as an independent
 * reference for it. O(leaves · depth²) per tree and row.
 * @internal
 */
export function treeShapAlgorithm2(
  ensemble: TreeEnsemble,
  x: ArrayLike<number>,
  rows: number,
  groupOf?: Int32Array,
  groups = ensemble.numFeatures,
): { values: Float64Array; base: Float64Array; fx: Float64Array } {
  const forest = flatForest(ensemble)
  const K = ensemble.numOutputs
  const m = ensemble.numFeatures
  const D = forest.maxDepth + 2
  const size = ((D + 1) * (D + 2)) / 2
  const inv = new Float64Array(D + 2)
  for (let k = 1; k < inv.length; k++) inv[k] = 1 / k
  const s: Workspace = {
    forest,
    feature: new Int32Array(size),
    zero: new Float64Array(size),
    one: new Float64Array(size),
    weight: new Float64Array(size),
    inv,
    group: groupOf ?? Int32Array.from({ length: m }, (_, i) => i),
    x: new Float64Array(m),
    phi: new Float64Array(rows * groups * K),
    phiAt: 0,
    K,
  }
  const { roots, output } = forest
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < m; c++) {
      const v = x[r * m + c]!
      s.x[c] = forest.le ? v : Math.fround(v)
    }
    for (let t = 0; t < roots.length; t++) {
      s.phiAt = r * groups * K + output[t]!
      recurse(s, roots[t]!, 0, 0, 1, 1, -1)
    }
  }
  return {
    values: s.phi,
    base: Float64Array.from(forest.expected),
    fx: predictMargin(ensemble, x, rows),
  }
}

/**
 * Path-dependent TreeSHAP for `rows` rows of `x`. Columns map to attribution groups through
 * `groupOf` (identity when absent), so a one-hot block gets one Shapley value of the grouped
 * game. Returns `values` (`rows × groups × outputs`), `base` (per output: cover-weighted mean
 * margin) and the margins `fx`.
 *
 * Computes the same values as Algorithm 2 in O(nodes · depth) per tree instead of
 * O(leaves · depth²), after Linear TreeShap (Yu et al. 2022). A leaf reached through unique path
 * features `P` with zero fractions `z_j` (cover ratios) and one fractions `o_j` (0 or 1: does `x`
 * follow the path) is the game `v · Π_{j∈S} o_j · Π_{j∈P∖S} z_j`, whose Shapley value for `i` is
 * `v (o_i − z_i) ∫₀¹ Π_{j≠i} (z_j + (o_j − z_j) t) dt` (the Shapley weights are Beta
 * integrals). The integrand is a polynomial of degree `|P| − 1`, integrated exactly by
 * Gauss–Legendre with `⌈depth / 2⌉` nodes. One walk per tree carries the path product at those
 * nodes down and the leaf sums up; a node credits its feature with the leaves whose deepest
 * split on that feature it is.
 * @internal
 */
export function pathDependentTreeShap(
  ensemble: TreeEnsemble,
  x: ArrayLike<number>,
  rows: number,
  groupOf?: Int32Array,
  groups = ensemble.numFeatures,
): { values: Float64Array; base: Float64Array; fx: Float64Array } {
  const forest = flatForest(ensemble)
  const K = ensemble.numOutputs
  const m = ensemble.numFeatures
  const q = Math.max(1, Math.ceil(forest.maxDepth / 2))
  const { nodes: t, weights: w } = quadrature('gauss_legendre', q)
  const B = Math.min(rows, BATCH)
  const levels = forest.maxDepth + 2
  const s: LinearWorkspace = {
    forest,
    q,
    B,
    n: 0,
    t,
    w,
    Q: new Float64Array(levels * q * B),
    U: new Float64Array(levels * q * B),
    S: new Float64Array(levels * q * B),
    O: new Float64Array(levels * B),
    Z: new Float64Array(levels),
    left: new Uint8Array(levels * B),
    credit: new Float64Array(B),
    uSet: new Uint8Array(levels),
    sSet: new Uint8Array(levels),
    glevel: new Int32Array(groups).fill(-1),
    group: groupOf ?? Int32Array.from({ length: m }, (_, i) => i),
    x: new Float64Array(B * m),
    m,
    phi: new Float64Array(rows * groups * K),
    phiAt: new Int32Array(B),
    K,
  }
  s.Q.fill(1, 0, q * B)
  const { roots, output } = forest
  for (let r0 = 0; r0 < rows; r0 += B) {
    const n = Math.min(B, rows - r0)
    s.n = n
    for (let i = 0; i < n * m; i++) {
      const v = x[r0 * m + i]!
      s.x[i] = forest.le ? v : Math.fround(v)
    }
    for (let tr = 0; tr < roots.length; tr++) {
      for (let r = 0; r < n; r++) s.phiAt[r] = (r0 + r) * groups * K + output[tr]!
      if (forest.left[roots[tr]!]! >= 0) visit(s, roots[tr]!, 0)
    }
  }
  return {
    values: s.phi,
    base: Float64Array.from(forest.expected),
    fx: predictMargin(ensemble, x, rows),
  }
}

/** Rows walked together through each tree by {@link pathDependentTreeShap}. */
const BATCH = 64

/**
 * Buffers of {@link pathDependentTreeShap}. Per tree level, `q × B` values laid out
 * `[k][row]`: `Q` the path product at quadrature node `k`, `U` the leaf sums `Σ v·Q` of the
 * subtree being walked, `S` the part of `U` below a deeper split on the same feature. Per level
 * and row: `O` the one fraction of the edge taken (0 or 1), `left` whether the row goes left;
 * `Z` the zero fraction of the edge (the same for every row). `glevel`: level of the deepest
 * split on each group on the current path (−1: none).
 */
interface LinearWorkspace {
  forest: FlatForest
  q: number
  B: number
  n: number
  t: Float64Array
  w: Float64Array
  Q: Float64Array
  U: Float64Array
  S: Float64Array
  O: Float64Array
  Z: Float64Array
  left: Uint8Array
  credit: Float64Array
  /** Per level: `U` already holds a child's sum; `S` holds anything since the edge began. */
  uSet: Uint8Array
  sSet: Uint8Array
  glevel: Int32Array
  group: Int32Array
  x: Float64Array
  m: number
  phi: Float64Array
  phiAt: Int32Array
  K: number
}

function visit(s: LinearWorkspace, node: number, level: number): void {
  const f = s.forest
  const left = f.left[node]!
  const column = f.feature[node]!
  const g = s.group[column]!
  const n = s.n
  const B = s.B
  const m = s.m
  const x = s.x
  const dir = s.left
  for (let r = 0; r < n; r++)
    dir[level * B + r] = hotChild(f, node, x[r * m + column]!) === left ? 1 : 0
  const prev = s.glevel[g]!
  const qB = s.q * B
  const at = level * qB
  s.uSet[level] = 0
  edge(s, left, level, g, prev, 1)
  edge(s, f.right[node]!, level, g, prev, 0)
  s.glevel[g] = prev
  const U = s.U
  if (!s.uSet[level]) U.fill(0, at, at + qB)
  if (prev >= 0) {
    const S = s.S
    const pa = prev * qB
    if (s.sSet[prev]) for (let i = 0; i < qB; i++) S[pa + i] += U[at + i]!
    else for (let i = 0; i < qB; i++) S[pa + i] = U[at + i]!
    s.sSet[prev] = 1
  }
}

/**
 * One edge of {@link visit}: the path product below `child`, the walk of its subtree (a leaf
 * directly), and the credit of the subtree's leaves whose deepest split on group `g` is here.
 */
function edge(
  s: LinearWorkspace,
  child: number,
  level: number,
  g: number,
  prev: number,
  side: number,
): void {
  const q = s.q
  const B = s.B
  const n = s.n
  const O = s.O
  const dir = s.left
  const ob = level * B
  const pb = prev * B
  const z0 = prev >= 0 ? s.Z[prev]! : 1
  const f = s.forest
  const z = z0 * f.fraction[child]!
  let any = 0
  for (let r = 0; r < n; r++) {
    const o = (prev >= 0 ? O[pb + r]! : 1) * (dir[ob + r] === side ? 1 : 0)
    O[ob + r] = o
    any += o
  }
  if (z === 0 && any === 0) return
  const t = s.t
  const w = s.w
  const Q = s.Q
  const U = s.U
  const at = level * q * B
  const below = at + q * B
  const c = s.credit
  const add = s.uSet[level] === 1
  s.uSet[level] = 1
  if (f.left[child]! < 0) {
    c.fill(0, 0, n)
    const v = f.value[child]!
    for (let k = 0; k < q; k++) {
      const tk = t[k]!
      const fa = z * (1 - tk) * v
      const fd = (z + (1 - z) * tk) * v - fa
      const c0 = -w[k]! / (1 - tk)
      const cd = ((1 - z) * w[k]!) / (z + (1 - z) * tk) - c0
      const ga = prev < 0 ? 1 : z0 > 0 ? 1 / (z0 * (1 - tk)) : 0
      const gd = prev < 0 ? 0 : 1 / (z0 + (1 - z0) * tk) - ga
      const row = at + k * B
      for (let r = 0; r < n; r++) {
        const o = O[ob + r]!
        const u = Q[row + r]! * (fa + o * fd) * (prev < 0 ? 1 : ga + O[pb + r]! * gd)
        c[r] += u * (c0 + o * cd)
        U[row + r] = add ? U[row + r]! + u : u
      }
    }
  } else {
    for (let k = 0; k < q; k++) {
      const tk = t[k]!
      const fa = z * (1 - tk)
      const fd = z + (1 - z) * tk - fa
      const row = k * B
      if (prev >= 0) {
        const ga = z0 > 0 ? 1 / (z0 * (1 - tk)) : 0
        const gd = 1 / (z0 + (1 - z0) * tk) - ga
        for (let r = 0; r < n; r++) {
          Q[below + row + r] = Q[at + row + r]! * (fa + O[ob + r]! * fd) * (ga + O[pb + r]! * gd)
        }
      } else {
        for (let r = 0; r < n; r++) Q[below + row + r] = Q[at + row + r]! * (fa + O[ob + r]! * fd)
      }
    }
    s.Z[level] = z
    s.glevel[g] = level
    s.sSet[level] = 0
    visit(s, child, level + 1)
    const S = s.S
    const deeper = s.sSet[level] === 1
    c.fill(0, 0, n)
    for (let k = 0; k < q; k++) {
      const tk = t[k]!
      const c0 = -w[k]! / (1 - tk)
      const cd = ((1 - z) * w[k]!) / (z + (1 - z) * tk) - c0
      const row = k * B
      for (let r = 0; r < n; r++) {
        const u = U[below + row + r]!
        c[r] += (deeper ? u - S[at + row + r]! : u) * (c0 + O[ob + r]! * cd)
        U[at + row + r] = add ? U[at + row + r]! + u : u
      }
    }
  }
  const phi = s.phi
  const phiAt = s.phiAt
  const off = g * s.K
  for (let r = 0; r < n; r++) phi[phiAt[r]! + off] += c[r]!
}

function hotChild(f: FlatForest, node: number, v: number): number {
  if (f.le) {
    const missing = f.missing[node]!
    if (v !== v && missing !== 2) v = 0
    if ((missing === 1 && Math.abs(v) <= 1e-35) || (missing === 2 && v !== v)) {
      return f.defaultLeft[node] ? f.left[node]! : f.right[node]!
    }
    return v <= f.threshold[node]! ? f.left[node]! : f.right[node]!
  }
  if (v !== v) return f.defaultLeft[node] ? f.left[node]! : f.right[node]!
  return v < f.threshold[node]! ? f.left[node]! : f.right[node]!
}

function recurse(
  s: Workspace,
  node: number,
  depth: number,
  parentAt: number,
  parentZero: number,
  parentOne: number,
  parentFeature: number,
): void {
  // an edge with no cover off the hot path carries no weight (shap's C++ divides by zero there)
  if (parentZero === 0 && parentOne === 0) return
  const fa = s.feature
  const za = s.zero
  const oa = s.one
  const wa = s.weight
  const inv = s.inv
  const at = parentAt + depth + 1
  for (let i = 0; i <= depth; i++) {
    fa[at + i] = fa[parentAt + i]!
    za[at + i] = za[parentAt + i]!
    oa[at + i] = oa[parentAt + i]!
    wa[at + i] = wa[parentAt + i]!
  }
  // extend_path
  fa[at + depth] = parentFeature
  za[at + depth] = parentZero
  oa[at + depth] = parentOne
  wa[at + depth] = depth === 0 ? 1 : 0
  const r = inv[depth + 1]!
  const zr = parentZero * r
  const or = parentOne * r
  for (let i = depth - 1; i >= 0; i--) {
    const w = wa[at + i]!
    wa[at + i + 1] += or * w * (i + 1)
    wa[at + i] = zr * w * (depth - i)
  }
  const f = s.forest
  const left = f.left[node]!
  if (left < 0) {
    leaf(s, at, depth, f.value[node]!)
    return
  }
  const column = f.feature[node]!
  const feature = s.group[column]!
  const hot = hotChild(f, node, s.x[column]!)
  const cold = hot === left ? f.right[node]! : left
  let inZero = 1
  let inOne = 1
  let index = 0
  for (; index <= depth; index++) if (fa[at + index] === feature) break
  if (index !== depth + 1) {
    inZero = za[at + index]!
    inOne = oa[at + index]!
    unwind(s, at, depth, index)
    depth -= 1
  }
  recurse(s, hot, depth + 1, at, f.fraction[hot]! * inZero, inOne, feature)
  recurse(s, cold, depth + 1, at, f.fraction[cold]! * inZero, 0, feature)
}

/**
 * Attributions of one leaf. An element whose one-fraction is 0 gets `-(d+1) Σ w_k / (d-k) · v`
 * whatever its zero-fraction (the `zero` of the unwound sum cancels against `one − zero`), so
 * that sum is computed once per leaf; only elements on the hot path need their own unwound sum.
 */
function leaf(s: Workspace, at: number, depth: number, v: number): void {
  const fa = s.feature
  const za = s.zero
  const oa = s.one
  const wa = s.weight
  const inv = s.inv
  const phi = s.phi
  const phiAt = s.phiAt
  const K = s.K
  const d1 = depth + 1
  let cold = NaN
  for (let i = 1; i <= depth; i++) {
    const one = oa[at + i]!
    if (one === 0) {
      if (cold !== cold) {
        cold = 0
        for (let k = depth - 1; k >= 0; k--) cold += wa[at + k]! * inv[depth - k]!
        cold *= d1 * v
      }
      phi[phiAt + fa[at + i]! * K] -= cold
      continue
    }
    const zero = za[at + i]!
    const ro = 1 / one
    let next = wa[at + depth]!
    let total = 0
    for (let k = depth - 1; k >= 0; k--) {
      const tmp = next * inv[k + 1]! * ro
      total += tmp
      next = wa[at + k]! - tmp * zero * (depth - k)
    }
    phi[phiAt + fa[at + i]! * K] += total * d1 * (one - zero) * v
  }
}

function unwind(s: Workspace, at: number, depth: number, index: number): void {
  const fa = s.feature
  const za = s.zero
  const oa = s.one
  const wa = s.weight
  const inv = s.inv
  const one = oa[at + index]!
  const zero = za[at + index]!
  const d1 = depth + 1
  if (one !== 0) {
    const ro = 1 / one
    const zr = zero * inv[d1]!
    let next = wa[at + depth]!
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = wa[at + i]!
      const w = next * d1 * inv[i + 1]! * ro
      wa[at + i] = w
      next = tmp - w * zr * (depth - i)
    }
  } else {
    const rz = d1 / zero
    for (let i = depth - 1; i >= 0; i--) wa[at + i] = wa[at + i]! * rz * inv[depth - i]!
  }
  for (let i = index; i < depth; i++) {
    fa[at + i] = fa[at + i + 1]!
    za[at + i] = za[at + i + 1]!
    oa[at + i] = oa[at + i + 1]!
  }
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
  for (let b = 0; b < nb; b++)
    for (let k = 0; k < K; k++) base[k] += (bgWeights[b]! / wsum) * bgMargin[b * K + k]!
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

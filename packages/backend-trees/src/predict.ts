import type { Tree, TreeEnsemble } from './types.js'

/**
 * Which child a value goes to at an internal node, with the ensemble's comparison and missing-value
 * rules (XGBoost: float32 `x < t`, NaN follows the default; LightGBM: `x <= t` with
 * None/Zero/NaN missing types).
 *
 * @example
 * ```ts
 * const next = childOf(tree, node, x[tree.feature[node]], ensemble.rule === 'le')
 * ```
 */
export function childOf(tree: Tree, node: number, v: number, le: boolean): number {
  if (le) {
    const missing = tree.missing[node]!
    if (v !== v && missing !== 2) v = 0
    if ((missing === 1 && Math.abs(v) <= 1e-35) || (missing === 2 && v !== v)) {
      return tree.defaultLeft[node] ? tree.left[node]! : tree.right[node]!
    }
    return v <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!
  }
  if (v !== v) return tree.defaultLeft[node] ? tree.left[node]! : tree.right[node]!
  return Math.fround(v) < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!
}

/**
 * Raw margins of `rows` rows of `x` (row-major, `numFeatures` wide): a `rows × numOutputs`
 * array, in float64.
 *
 * @example
 * ```ts
 * const margin = predictMargin(ensemble, new Float64Array([0.1, 2, NaN, 4]), 1)
 * ```
 */
export function predictMargin(
  ensemble: TreeEnsemble,
  x: ArrayLike<number>,
  rows: number,
): Float64Array {
  const { numFeatures: m, numOutputs: k, trees, treeOutput } = ensemble
  const le = ensemble.rule === 'le'
  const out = new Float64Array(rows * k)
  for (let r = 0; r < rows; r++) {
    const base = r * m
    for (let j = 0; j < k; j++) out[r * k + j] = ensemble.baseMargin[j]!
    for (let t = 0; t < trees.length; t++) {
      const tree = trees[t]!
      let node = 0
      while (tree.left[node] !== -1) node = childOf(tree, node, x[base + tree.feature[node]!]!, le)
      out[r * k + treeOutput[t]!] += tree.value[node]!
    }
  }
  return out
}

/**
 * Applies the objective's transform to margins in place (sigmoid, softmax per row, exp) and
 * returns them.
 *
 * @example
 * ```ts
 * const probability = transformMargin(ensemble, predictMargin(ensemble, x, rows))
 * ```
 */
export function transformMargin(ensemble: TreeEnsemble, margin: Float64Array): Float64Array {
  const { transform, scale } = ensemble.objective
  const k = ensemble.numOutputs
  if (transform === 'sigmoid')
    for (let i = 0; i < margin.length; i++) margin[i] = 1 / (1 + Math.exp(-scale * margin[i]!))
  else if (transform === 'exp')
    for (let i = 0; i < margin.length; i++) margin[i] = Math.exp(margin[i]!)
  else if (transform === 'softmax') {
    for (let r = 0; r < margin.length; r += k) {
      let max = -Infinity
      for (let j = 0; j < k; j++) max = Math.max(max, margin[r + j]!)
      let sum = 0
      for (let j = 0; j < k; j++) sum += margin[r + j] = Math.exp(margin[r + j]! - max)
      for (let j = 0; j < k; j++) margin[r + j] /= sum
    }
  }
  return margin
}

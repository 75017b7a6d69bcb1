import { depthOf } from './xgboost.js'
import type { Tree, TreeEnsemble, TreeObjective } from './types.js'

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(msg: string): never {
  throw new TypeError(`LightGBM model: ${msg}`)
}

const MISSING: Record<string, number> = { None: 0, Zero: 1, NaN: 2 }

function objectiveOf(raw: string): TreeObjective {
  const [name = 'regression', ...params] = raw.split(' ')
  const param = (key: string) => {
    const p = params.find((x) => x.startsWith(`${key}:`))
    return p === undefined ? undefined : Number(p.slice(key.length + 1))
  }
  if (name === 'binary' || name === 'multiclassova')
    return { name: raw, transform: 'sigmoid', scale: param('sigmoid') ?? 1 }
  if (name === 'cross_entropy' || name === 'xentropy')
    return { name: raw, transform: 'sigmoid', scale: 1 }
  if (name === 'multiclass' || name === 'softmax')
    return { name: raw, transform: 'softmax', scale: 1 }
  if (name === 'poisson' || name === 'gamma' || name === 'tweedie')
    return { name: raw, transform: 'exp', scale: 1 }
  return { name: raw, transform: 'identity', scale: 1 }
}

function parseTree(raw: unknown, index: number, scale: number, numFeatures: number): Tree {
  if (!isObject(raw) || !isObject(raw.tree_structure))
    fail(`tree_info[${index}].tree_structure is missing`)
  const nodes: Record<string, unknown>[] = []
  const left: number[] = []
  const right: number[] = []
  const visit = (node: unknown): number => {
    if (!isObject(node)) fail(`tree ${index} has a malformed node`)
    const id = nodes.length
    nodes.push(node)
    left.push(-1)
    right.push(-1)
    if (node.leaf_value === undefined) {
      if (node.decision_type !== '<=')
        fail(`tree ${index}: decision type "${String(node.decision_type)}" is not supported`)
      left[id] = visit(node.left_child)
      right[id] = visit(node.right_child)
    }
    return id
  }
  visit(raw.tree_structure)
  const n = nodes.length
  const tree: Tree = {
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    defaultLeft: new Uint8Array(n),
    missing: new Uint8Array(n),
    value: new Float64Array(n),
    cover: new Float64Array(n),
    depth: 0,
  }
  nodes.forEach((node, i) => {
    if (left[i] === -1) {
      tree.value[i] = Number(node.leaf_value) * scale
      tree.cover[i] = Number(node.leaf_count ?? node.leaf_weight ?? 0)
      if (!Number.isFinite(tree.value[i]!)) fail(`tree ${index} has a non-numeric leaf value`)
      return
    }
    const f = Number(node.split_feature)
    if (!Number.isInteger(f) || f < 0 || f >= numFeatures)
      fail(`tree ${index} splits on an unknown feature`)
    tree.feature[i] = f
    tree.threshold[i] = Number(node.threshold)
    tree.defaultLeft[i] = node.default_left ? 1 : 0
    tree.missing[i] =
      MISSING[String(node.missing_type ?? 'None')] ?? fail(`tree ${index}: unknown missing_type`)
    tree.cover[i] = Number(node.internal_count ?? node.internal_weight ?? 0)
  })
  tree.depth = depthOf(tree.left, tree.right)
  return tree
}

/**
 * Parses a LightGBM model exported with `booster.dump_model()` (JSON; numerical `<=` splits,
 * `missing_type` None/Zero/NaN, `average_output` for random-forest mode). Node cover is
 * `internal_count`/`leaf_count`, as LightGBM's own SHAP uses. Throws a `TypeError` on anything
 * it cannot evaluate faithfully (categorical splits, linear trees).
 *
 * @example
 * ```ts
 * const ensemble = parseLightGBM(JSON.parse(await readFile('model.json', 'utf8')))
 * ```
 */
export function parseLightGBM(doc: unknown): TreeEnsemble {
  if (!isObject(doc) || !Array.isArray(doc.tree_info))
    fail('expected a dump_model JSON document with "tree_info"')
  if (doc.linear_tree === true) fail('linear trees are not supported')
  const numFeatures = Number(doc.max_feature_idx) + 1
  if (!Number.isSafeInteger(numFeatures) || numFeatures <= 0)
    fail('max_feature_idx must be a non-negative integer')
  const perIteration = Number(doc.num_tree_per_iteration ?? doc.num_class ?? 1)
  if (!Number.isSafeInteger(perIteration) || perIteration <= 0)
    fail('num_tree_per_iteration must be positive')
  const objective = objectiveOf(typeof doc.objective === 'string' ? doc.objective : 'regression')
  const iterations = Math.max(1, Math.ceil(doc.tree_info.length / perIteration))
  const scale = doc.average_output ? 1 / iterations : 1
  const trees = doc.tree_info.map((t, i) => parseTree(t, i, scale, numFeatures))
  const names =
    Array.isArray(doc.feature_names) && doc.feature_names.length === numFeatures
      ? doc.feature_names.map(String)
      : undefined
  return {
    format: 'lightgbm',
    rule: 'le',
    numFeatures,
    numOutputs: perIteration,
    featureNames: names,
    objective,
    baseMargin: new Float64Array(perIteration),
    trees,
    treeOutput: Int32Array.from(trees, (_, i) => i % perIteration),
  }
}

import type { Tree, TreeEnsemble, TreeObjective } from './types.js'

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(msg: string): never {
  throw new TypeError(`XGBoost model: ${msg}`)
}

function numberArray(tree: Record<string, unknown>, key: string, n: number): number[] {
  const a = tree[key]
  if (!Array.isArray(a) || a.length !== n)
    fail(`tree field "${key}" must be an array of ${n} numbers`)
  return a.map((v) => (typeof v === 'boolean' ? Number(v) : Number(v)))
}

function parseBaseScore(raw: unknown): number {
  if (typeof raw === 'number') return raw
  if (typeof raw !== 'string') fail('learner_model_param.base_score is missing')
  const first = raw.replace(/^\[|\]$/g, '').split(',')[0]!
  const v = Number(first)
  if (!Number.isFinite(v)) fail('learner_model_param.base_score is not a number')
  return v
}

function objectiveOf(name: string): TreeObjective {
  if (name === 'binary:logistic' || name === 'reg:logistic')
    return { name, transform: 'sigmoid', scale: 1 }
  if (name === 'multi:softprob' || name === 'multi:softmax')
    return { name, transform: 'softmax', scale: 1 }
  if (
    ['count:poisson', 'reg:gamma', 'reg:tweedie', 'survival:cox', 'survival:aft'].includes(name)
  ) {
    return { name, transform: 'exp', scale: 1 }
  }
  return { name, transform: 'identity', scale: 1 }
}

function baseMarginOf(objective: TreeObjective, baseScore: number): number {
  if (objective.transform === 'sigmoid') return -Math.log(1 / baseScore - 1)
  if (objective.transform === 'exp') return Math.log(baseScore)
  return baseScore
}

function parseTree(raw: unknown, index: number, weight: number, numFeatures: number): Tree {
  if (!isObject(raw)) fail(`trees[${index}] must be an object`)
  const left = raw.left_children
  if (!Array.isArray(left) || left.length === 0)
    fail(`trees[${index}].left_children must be a non-empty array`)
  const n = left.length
  if (Array.isArray(raw.split_type) && raw.split_type.some((t) => Number(t) !== 0)) {
    fail(`trees[${index}] has categorical splits, which are not supported`)
  }
  const l = Int32Array.from(numberArray(raw, 'left_children', n))
  const r = Int32Array.from(numberArray(raw, 'right_children', n))
  const feature = Int32Array.from(numberArray(raw, 'split_indices', n))
  const cond = numberArray(raw, 'split_conditions', n)
  const defaultLeft = Uint8Array.from(numberArray(raw, 'default_left', n))
  const cover = Float64Array.from(numberArray(raw, 'sum_hessian', n))
  const threshold = new Float64Array(n)
  const value = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    if (l[i] === -1) {
      value[i] = Math.fround(cond[i]!) * weight
    } else {
      if (l[i]! <= i || r[i]! <= i || l[i]! >= n || r[i]! >= n)
        fail(`trees[${index}] has invalid child indices`)
      if (feature[i]! < 0 || feature[i]! >= numFeatures)
        fail(`trees[${index}] splits on an unknown feature`)
      threshold[i] = Math.fround(cond[i]!)
    }
  }
  return {
    left: l,
    right: r,
    feature,
    threshold,
    defaultLeft,
    missing: new Uint8Array(n).fill(2),
    value,
    cover,
    depth: depthOf(l, r),
  }
}

/** @internal Longest root-to-leaf path, in edges. */
export function depthOf(left: Int32Array, right: Int32Array): number {
  const depth = new Int32Array(left.length)
  let max = 0
  for (let i = 0; i < left.length; i++) {
    if (left[i] === -1) continue
    depth[left[i]!] = depth[i]! + 1
    depth[right[i]!] = depth[i]! + 1
    max = Math.max(max, depth[i]! + 1)
  }
  return max
}

/**
 * Parses an XGBoost model saved with `save_model('model.json')` (gbtree and dart boosters,
 * numerical splits). `base_score` is converted to margin space (logit for logistic objectives,
 * log for Poisson/Gamma/Tweedie). Throws a `TypeError` naming what is wrong.
 *
 * @example
 * ```ts
 * const ensemble = parseXGBoost(JSON.parse(await readFile('model.json', 'utf8')))
 * ```
 */
export function parseXGBoost(doc: unknown): TreeEnsemble {
  if (!isObject(doc) || !isObject(doc.learner))
    fail('expected a save_model JSON document with a "learner"')
  const learner = doc.learner
  const param = learner.learner_model_param
  if (!isObject(param)) fail('learner.learner_model_param is missing')
  const numFeatures = Number(param.num_feature)
  if (!Number.isSafeInteger(numFeatures) || numFeatures <= 0)
    fail('num_feature must be a positive integer')
  const numClass = Number(param.num_class ?? 0)
  const numTarget = Number(param.num_target ?? 1)
  const numOutputs = Math.max(1, numClass, numTarget)
  const objName =
    isObject(learner.objective) && typeof learner.objective.name === 'string'
      ? learner.objective.name
      : 'reg:squarederror'
  const objective = objectiveOf(objName)
  let booster = learner.gradient_booster
  if (!isObject(booster)) fail('learner.gradient_booster is missing')
  let weights: number[] | undefined
  if (booster.name === 'dart') {
    weights = Array.isArray(booster.weight_drop) ? booster.weight_drop.map(Number) : undefined
    booster = booster.gbtree
    if (!isObject(booster)) fail('dart booster without gbtree')
  }
  if (booster.name !== undefined && booster.name !== 'gbtree')
    fail(`booster "${String(booster.name)}" is not supported`)
  const model = booster.model
  if (!isObject(model) || !Array.isArray(model.trees))
    fail('gradient_booster.model.trees is missing')
  const info = Array.isArray(model.tree_info)
    ? model.tree_info.map(Number)
    : model.trees.map(() => 0)
  if (
    info.length !== model.trees.length ||
    info.some((g) => !Number.isInteger(g) || g < 0 || g >= numOutputs)
  ) {
    fail('tree_info does not match the trees')
  }
  const trees = model.trees.map((t, i) => parseTree(t, i, weights?.[i] ?? 1, numFeatures))
  const base = baseMarginOf(objective, parseBaseScore(param.base_score))
  const names =
    Array.isArray(learner.feature_names) && learner.feature_names.length === numFeatures
      ? learner.feature_names.map(String)
      : undefined
  return {
    format: 'xgboost',
    rule: 'lt',
    numFeatures,
    numOutputs,
    featureNames: names,
    objective,
    baseMargin: new Float64Array(numOutputs).fill(base),
    trees,
    treeOutput: Int32Array.from(info),
  }
}

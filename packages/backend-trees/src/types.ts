import type { ModelBackend } from '@modelgate/core'

/**
 * One decision tree in flat arrays, indexed by node id (node 0 is the root). Leaves have
 * `left[n] === -1`. Leaf values already include learning rate, dart weights and averaging.
 *
 * @example
 * ```ts
 * const t = ensemble.trees[0]
 * const isLeaf = t.left[0] === -1
 * ```
 */
export interface Tree {
  left: Int32Array
  right: Int32Array
  feature: Int32Array
  threshold: Float64Array
  /** 1 when missing values go left. */
  defaultLeft: Uint8Array
  /** LightGBM missing type per node: 0 none (NaN becomes 0), 1 zero, 2 NaN. XGBoost nodes are all 2. */
  missing: Uint8Array
  value: Float64Array
  /** Training cover of each node (XGBoost `sum_hessian`, LightGBM `internal_count`/`leaf_count`). */
  cover: Float64Array
  /** Edges on the longest root-to-leaf path. */
  depth: number
}

/**
 * How margins become predictions: `identity`, `sigmoid` (with `scale`, LightGBM's `sigmoid:`),
 * `softmax` over the outputs, or `exp` (Poisson, Gamma, Tweedie).
 *
 * @example
 * ```ts
 * const o: TreeObjective = { name: 'binary:logistic', transform: 'sigmoid', scale: 1 }
 * ```
 */
export interface TreeObjective {
  name: string
  transform: 'identity' | 'sigmoid' | 'softmax' | 'exp'
  scale: number
}

/**
 * A parsed tree ensemble in a format-neutral, structured-cloneable layout (it can be posted to
 * worker threads as is).
 *
 * - `rule: 'lt'` (XGBoost): `x < threshold` goes left, compared in float32; NaN follows
 *   `defaultLeft`.
 * - `rule: 'le'` (LightGBM): `x <= threshold` goes left; missing handling per node `missing`.
 *
 * @example
 * ```ts
 * const ensemble = parseTreeModel(JSON.parse(text))
 * ensemble.numOutputs // 3 for a 3-class model
 * ```
 */
export interface TreeEnsemble {
  format: 'xgboost' | 'lightgbm'
  rule: 'lt' | 'le'
  numFeatures: number
  numOutputs: number
  featureNames: string[] | undefined
  objective: TreeObjective
  /** Margin added to each output before any tree (XGBoost `base_score` in margin space). */
  baseMargin: Float64Array
  trees: Tree[]
  /** Output (class) each tree adds to. */
  treeOutput: Int32Array
}

/**
 * Options of {@link createTreesBackend}.
 *
 * @example
 * ```ts
 * const opts: TreesBackendOptions = { model: JSON.parse(text), missing: -999 }
 * ```
 */
export interface TreesBackendOptions {
  /** The parsed model document (XGBoost `save_model` or LightGBM `dump_model` JSON), or a {@link TreeEnsemble}. */
  model: unknown
  /** Input tensor name. Default `input`. */
  inputName?: string
  /** An input value that stands for "missing" (like XGBoost's `missing`); NaN always is. */
  missing?: number
  /** Datatype of both outputs. Default `FP64`. */
  outputDatatype?: 'FP32' | 'FP64'
}

/**
 * Options of `createTreesBackend` from `@modelgate/backend-trees/node`: exactly one of `path`
 * (a model file, read when the gate loads the model) or `model`.
 *
 * @example
 * ```ts
 * const opts: TreesFileBackendOptions = { path: 'model.json', missing: -999 }
 * ```
 */
export interface TreesFileBackendOptions extends Omit<TreesBackendOptions, 'model'> {
  /** A model file: XGBoost `save_model` JSON or LightGBM `dump_model` JSON. */
  path?: string
  /** The parsed model document, instead of `path`. */
  model?: unknown
}

/**
 * A backend serving a tree ensemble; `ensemble()` exposes the parsed model for explainers
 * (TreeSHAP) once loaded.
 *
 * @example
 * ```ts
 * const backend = createTreesBackend({ model: document })
 * await backend.load()
 * backend.ensemble().trees.length
 * ```
 */
export interface TreesBackend extends ModelBackend {
  load(): Promise<void>
  ensemble(): TreeEnsemble
  /** The value treated as missing besides NaN, if any. */
  readonly missingValue: number | undefined
}

import type { TreeEnsemble } from '@modelgate/backend-trees'

/**
 * The attribution methods.
 *
 * @example
 * ```ts
 * const m: ExplainerName = 'kernel_shap'
 * ```
 */
export type ExplainerName =
  'exact_shap' | 'kernel_shap' | 'permutation_shap' | 'tree_shap' | 'integrated_gradients'

/**
 * Space in which attributions add up: `identity` (the model output) or `logit` (log-odds of a
 * probability output).
 *
 * @example
 * ```ts
 * const link: LinkName = 'logit'
 * ```
 */
export type LinkName = 'identity' | 'logit'

/**
 * Kernel SHAP coalition sampler: `leverage` (default; stratified leverage-score allocation) or
 * `shap` (a port of shap's KernelExplainer sampler, for comparison).
 *
 * @example
 * ```ts
 * const s: KernelSampler = 'shap'
 * ```
 */
export type KernelSampler = 'leverage' | 'shap'

/**
 * Kernel SHAP regression adjustment: `trees` (boosted trees on coalition indicators,
 * cross-fitted, whose exact Shapley values are corrected by Kernel SHAP on their residuals),
 * `none` (plain Kernel SHAP) or `auto` (default: both on the same evaluations, keeping the one
 * with the smaller bootstrap variance).
 *
 * @example
 * ```ts
 * const s: KernelSurrogate = 'none'
 * ```
 */
export type KernelSurrogate = 'auto' | 'trees' | 'none'

/**
 * Quadrature for Integrated Gradients.
 *
 * @example
 * ```ts
 * const rule: IntegrationRule = 'gauss_legendre'
 * ```
 */
export type IntegrationRule =
  'gauss_legendre' | 'riemann_left' | 'riemann_right' | 'riemann_middle' | 'riemann_trapezoid'

/**
 * A model as the explainers see it: rows in, `outputs` columns out, all float64. Adapters:
 * {@link modelFromBackend}, {@link modelFromEnsemble}.
 *
 * @example
 * ```ts
 * const model: ExplainableModel = {
 *   width: 2,
 *   outputs: 1,
 *   async predict(x, rows) {
 *     return Float64Array.from({ length: rows }, (_, r) => x[2 * r]! * x[2 * r + 1]!)
 *   },
 * }
 * ```
 */
export interface ExplainableModel {
  /** Columns of one input row. */
  width: number
  /** Output columns of `predict`. */
  outputs: number
  outputNames?: string[]
  predict(x: Float64Array, rows: number): Promise<Float64Array>
  /** Gradient of output column `output` with respect to every column, `rows × width`. */
  gradients?(x: Float64Array, rows: number, output: number): Promise<Float64Array>
  /** A tree ensemble whose raw margin `predict` returns; enables `tree_shap`. */
  ensemble?: TreeEnsemble
}

/**
 * Background (reference) data: rows and optional weights (a {@link kmeans} summary has both).
 *
 * @example
 * ```ts
 * const bg: BackgroundData = { data: [[0, 1], [2, 3]], weights: [0.5, 0.5] }
 * ```
 */
export interface BackgroundData {
  data: number[][]
  weights?: number[]
}

/**
 * Columns that get one attribution together (a one-hot block, a schema feature).
 *
 * @example
 * ```ts
 * const g: FeatureGroupSpec = { name: 'purpose', columns: [3, 4, 5] }
 * ```
 */
export interface FeatureGroupSpec {
  name: string
  columns: number[]
}

/**
 * Options of {@link explain}.
 *
 * @example
 * ```ts
 * const opts: ExplainOptions = { model, x: [[1, 2]], background: { data: [[0, 0]] }, method: 'exact_shap' }
 * ```
 */
export interface ExplainOptions {
  model: ExplainableModel
  /** Rows to explain (null or NaN for missing values). */
  x: Array<Array<number | null>>
  /** `auto` (default): `tree_shap` for tree models, `exact_shap` up to 12 groups, else `kernel_shap`. */
  method?: ExplainerName | 'auto'
  background?: BackgroundData
  /** One name per column; `x0, x1, …` by default. */
  featureNames?: string[]
  /** Attribution groups; every column on its own by default. */
  groups?: FeatureGroupSpec[]
  link?: LinkName
  /** Seed of every random choice. Default 0. */
  seed?: number
  /** Kernel SHAP coalitions per row. Default `2 * groups + 2048`. */
  nsamples?: number
  sampler?: KernelSampler
  /** Kernel SHAP regression adjustment. Default `auto`. */
  surrogate?: KernelSurrogate
  /** Kernel SHAP bootstrap replicates for standard errors. Default 32. */
  bootstrap?: number
  /** Keep doubling Kernel SHAP samples until every standard error is at most this. */
  tolerance?: number
  /** Stop doubling once this many model rows were evaluated. */
  maxEvaluations?: number
  /** Stop doubling after this many milliseconds. */
  maxTimeMs?: number
  /** Antithetic permutation pairs for `permutation_shap`. Default: about the Kernel SHAP budget. */
  npermutations?: number
  /** `path_dependent` (default, no background needed) or `interventional` (uses `background`). */
  treeMode?: 'path_dependent' | 'interventional'
  /** Integrated Gradients: initial steps (default 16), doubled until the completeness error is met. */
  steps?: number
  maxSteps?: number
  rule?: IntegrationRule
  /** Integrated Gradients baselines: `zeros` (default), `mean` of the background, or rows. */
  baseline?: 'zeros' | 'mean' | number[] | number[][]
  /** Relative completeness error IG must reach. Default 0.01. */
  completenessTolerance?: number
  /** Largest number of synthetic rows per model call. Default 65,536. */
  maxBatchRows?: number
  /** Relative additivity tolerance. Default 1e-6. */
  additivityTolerance?: number
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
}

/**
 * An explanation in shap's layout: `values` is `rows × features` for one output or
 * `rows × features × outputs`; `base_values` is `rows` or `rows × outputs`. `data` holds the
 * explained feature values (what a masking plugin hides). Sampled methods add
 * `standard_errors` (same shape as `values`). `additivity` reports `sum(values) + base = f(x)`.
 *
 * @example
 * ```ts
 * const e = await explainModel({ model, x, background, method: 'kernel_shap' })
 * e.values[0] // attributions of the first row
 * ```
 */
export interface Explanation {
  values: number[][] | number[][][]
  base_values: number[] | number[][]
  data: unknown[][]
  feature_names: string[]
  output_names: string[]
  method: ExplainerName
  link: LinkName
  standard_errors?: number[][] | number[][][]
  additivity: { ok: boolean; max_relative_error: number; tolerance: number }
  /** Integrated Gradients only: completeness error and the steps that reached it. */
  completeness?: { max_relative_error: number; steps: number; ok: boolean }
  stats: {
    model_calls: number
    evaluations: number
    elapsed_ms: number
    samples?: number
    stopped?: string
  }
}

/**
 * One explained output column as it goes on the wire (`explanations[]` of the explain
 * extension): `values[row][feature]`, `base_value`, `feature_names`, `method`, and for sampling
 * methods `standard_errors` (same shape as `values`). `data[row][feature]` holds the explained
 * input values: V2 numbers (arrays for multi-column groups), V1 the record's own field values. A
 * masking plugin hides a field by rewriting `data[*][i]` (and, if policy says so, `values[*][i]`)
 * where `feature_names[i]` is the field. V1 responses add `attributions[row]` keyed by feature
 * name, and plots requested with `parameters.plot` arrive in `plots`.
 *
 * @example
 * ```ts
 * const e: WireExplanation = { output: 'prediction', method: 'tree_shap', link: 'identity', base_value: 0.1, base_values: [0.1], values: [[0.3, -0.2]], feature_names: ['age', 'income'], data: [[41, 52000]], additivity: { ok: true, max_relative_error: 0, tolerance: 1e-6 } }
 * ```
 */
export interface WireExplanation {
  output: string
  output_index?: number
  method: ExplainerName
  link: LinkName
  base_value: number
  base_values: number[]
  values: number[][]
  feature_names: string[]
  data: unknown[][]
  standard_errors?: number[][]
  completeness_error?: number
  additivity: { ok: boolean; max_relative_error: number; tolerance: number }
  attributions?: Array<Record<string, number>>
  plots?: Array<{ row: number; kind: string; svg: string }>
}

/**
 * What the explain plugin puts on `ctx.explanation` before the response body is serialised. The
 * response's `explanations` property reads `ctx.explanation.explanations` when the body is
 * serialised, so a plugin outside `explain` (masking) may rewrite these objects in place or
 * replace the array.
 *
 * @example
 * ```ts
 * const hideEmail: Plugin = async function hideEmail(ctx, next) {
 *   await next()
 *   const result = ctx.explanation as ExplanationResult | undefined
 *   for (const e of result?.explanations ?? []) {
 *     const i = e.feature_names.indexOf('email')
 *     if (i >= 0) e.data.forEach((row) => (row[i] = '***'))
 *   }
 * }
 * ```
 */
export interface ExplanationResult {
  model: string
  version?: string
  method: ExplainerName
  cached: boolean
  explanations: WireExplanation[]
}

/**
 * Per-model explanation settings of the explain plugin.
 *
 * @example
 * ```ts
 * const c: ModelExplainConfig = { background: kmeans(trainRows, 10), method: 'kernel_shap', output: 'probability', link: 'logit' }
 * ```
 */
export interface ModelExplainConfig {
  background?: BackgroundData
  method?: ExplainerName
  /** Output tensor explained by default (all outputs when absent; `margin` for tree_shap). */
  output?: string
  link?: LinkName
  /** Column names when the model has no feature schema. */
  featureNames?: string[]
  nsamples?: number
}

/**
 * Options of the {@link explain} plugin.
 *
 * @example
 * ```ts
 * explain({ models: { credit: { background } }, workers: 2, cacheTtlMs: 600_000 })
 * ```
 */
export interface ExplainPluginOptions {
  models?: Record<string, ModelExplainConfig>
  defaults?: ModelExplainConfig
  /** Worker threads for large jobs; 0 runs everything inline. Default: cores − 1, at most 4. */
  workers?: number
  /** Jobs estimated below this many model rows run inline. Default 20,000. */
  inlineBelowEvaluations?: number
  /** Explanation cache; `false` disables it. Default a `MemoryStore`. */
  cache?: import('@modelgate/core').KeyValueStore | false
  cacheTtlMs?: number
  /** Rows per explain request. Default 100. */
  maxRows?: number
  /**
   * Model evaluations (rows sent to the model, summed over the whole request) one request may
   * cost; larger requests, and out-of-range `steps`, `npermutations`, `nsamples` or baselines,
   * get 400 before any work. Default 5,000,000.
   */
  maxEvaluations?: number
}

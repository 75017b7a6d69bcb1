import type { TreeEnsemble } from '@modelgate/backend-trees'
import type { OutputExplanation } from '@modelgate/core'

export type { OutputExplanation, ExplanationResult } from '@modelgate/core'

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
  /**
   * Seed of every random choice. Default 0. Sampling methods seed row `r` of `x` with `seed + r`
   * alone, so a slice of rows starting at `a` explained with `seed + a` gets the same values.
   */
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
 * One explained output column as a client receives it (`explanations[]` of the explain
 * extension): core's {@link OutputExplanation} (`values[row][feature]`, `base_value`,
 * `feature_names`, `method`, `data`, and for sampling methods `standard_errors`), plus what
 * core's encoder adds: V1 `attributions[row]` keyed by feature name, and the plots requested with
 * `parameters.plot`, rendered from the explanation as the plugins left it (masked).
 *
 * @example
 * ```ts
 * const body = (await res.json()) as { explanations: WireExplanation[] }
 * const svg = body.explanations[0]!.plots?.[0]?.svg
 * ```
 */
export interface WireExplanation extends OutputExplanation {
  attributions?: Array<Record<string, number>>
  plots?: Array<{ row: number; kind: string; svg: string }>
}

/**
 * Where explanations run when a request is large: `@modelgate/explain/node`'s `ExplainPool`
 * (worker threads), or anything with the same two methods. The explain plugin hands it jobs
 * estimated at `inlineBelowEvaluations` model rows or more and closes it on `gate.close()`.
 *
 * @example
 * ```ts
 * import { ExplainPool } from '@modelgate/explain/node'
 * const runner: ExplainRunner = new ExplainPool({ size: 2 })
 * ```
 */
export interface ExplainRunner {
  run(options: ExplainOptions): Promise<Explanation>
  close(): Promise<void>
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
 * Options of the {@link explain} plugin. Unknown keys are refused at creation, with the nearest
 * valid key.
 *
 * @example
 * ```ts
 * explain({ models: { credit: { background } }, cacheTtlMs: 600_000 })
 * ```
 */
export interface ExplainPluginOptions {
  models?: Record<string, ModelExplainConfig>
  defaults?: ModelExplainConfig
  /**
   * Runs large jobs off the request's thread (`ExplainPool` of `@modelgate/explain/node`);
   * closed by `gate.close()`. Default: every job runs inline.
   */
  pool?: ExplainRunner
  /** With a `pool`: jobs estimated below this many model rows still run inline. Default 20,000. */
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

/**
 * Options of the Node `explain` plugin (`@modelgate/explain/node`): those of the default entry's
 * plugin, with a worker pool made from `workers` instead of `pool`.
 *
 * @example
 * ```ts
 * const options: NodeExplainPluginOptions = { workers: 2, models: { credit: { background } } }
 * ```
 */
export interface NodeExplainPluginOptions extends Omit<ExplainPluginOptions, 'pool'> {
  /** Worker threads for large jobs; 0 runs everything inline. Default: cores − 1, at most 4. */
  workers?: number
}

/**
 * What the explain plugin records about an explanation, for the audit record.
 *
 * @example
 * ```ts
 * const fact: ExplanationFact = { method: 'kernel_shap', rows: 2, cached: false }
 * ```
 */
export interface ExplanationFact {
  method: string
  rows: number
  cached: boolean
}

declare module '@modelgate/core' {
  interface GateFacts {
    /** Set by the explain plugin on explain routes it answered. */
    explanation?: ExplanationFact
  }
}

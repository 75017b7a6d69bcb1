import { exactShap } from './explainers/exact.js'
import { integratedGradients } from './explainers/gradients.js'
import { kernelShap } from './explainers/kernel.js'
import { permutationShap } from './explainers/permutation.js'
import { interventionalTreeShap, pathDependentTreeShap } from './explainers/tree.js'
import type { Problem } from './problem.js'
import type { ExplainerName, ExplainOptions, Explanation } from './types.js'

/** @internal The explainer names, in the order error messages list them. */
export const METHODS: readonly string[] = [
  'exact_shap',
  'kernel_shap',
  'permutation_shap',
  'tree_shap',
  'integrated_gradients',
]

/** @internal Numeric result of one explanation, before layout. */
export interface Attributions {
  rows: number
  M: number
  K: number
  values: Float64Array
  base: Float64Array
  fx: Float64Array
  se?: Float64Array
  samples?: number
  stopped?: string
  completeness?: { error: number; steps: number }
}

/**
 * Explains rows of a model with one of the SHAP family methods or Integrated Gradients and returns
 * shap's layout, with an additivity check on every row. Options are validated up front
 * (`TypeError`); every random choice follows `seed`.
 *
 * @example
 * ```ts
 * import { explainModel, kmeans, modelFromEnsemble } from '@modelgate/explain'
 * import { loadTreeModel } from '@modelgate/backend-trees/node'
 *
 * const model = modelFromEnsemble(await loadTreeModel('model.json'))
 * const e = await explainModel({ model, x: [[0.2, 1.5, null, 3]], method: 'tree_shap' })
 * console.log(e.values[0], e.base_values[0])
 * ```
 */
export async function explainModel(options: ExplainOptions): Promise<Explanation> {
  const started = Date.now()
  const o = options
  const model = o?.model
  if (!model || typeof model.predict !== 'function' || !(model.width > 0) || !(model.outputs > 0)) {
    throw new TypeError('"model" must have width, outputs and predict()')
  }
  const W = model.width
  const K = model.outputs
  if (!Array.isArray(o.x) || o.x.length === 0)
    throw new TypeError('"x" must be a non-empty array of rows')
  const x = toMatrix(o.x, W, 'x')
  const rows = o.x.length
  const featureNames = o.featureNames ?? Array.from({ length: W }, (_, i) => `x${i}`)
  if (featureNames.length !== W) throw new TypeError(`"featureNames" must have ${W} names`)
  const groups = o.groups ?? featureNames.map((name, i) => ({ name, columns: [i] }))
  const groupOf = new Int32Array(W).fill(-1)
  groups.forEach((g, gi) => {
    if (!g || typeof g.name !== 'string' || !Array.isArray(g.columns) || g.columns.length === 0)
      throw new TypeError('every group needs a name and columns')
    for (const c of g.columns) {
      if (!Number.isInteger(c) || c < 0 || c >= W || groupOf[c] !== -1)
        throw new TypeError(`group "${g.name}": bad or repeated column ${c}`)
      groupOf[c] = gi
    }
  })
  if (groupOf.some((g) => g === -1)) throw new TypeError('groups must cover every column')
  const M = groups.length
  const link = o.link ?? 'identity'
  if (link !== 'identity' && link !== 'logit')
    throw new TypeError('"link" must be identity or logit')
  let method = o.method ?? 'auto'
  if (method === 'auto')
    method = model.ensemble ? 'tree_shap' : M <= 12 ? 'exact_shap' : 'kernel_shap'
  if (!METHODS.includes(method))
    throw new TypeError(
      `unknown method "${String(method).slice(0, 32)}"; use ${METHODS.join(', ')}`,
    )
  const seed = o.seed ?? 0
  for (const [k, v] of Object.entries({
    nsamples: o.nsamples,
    npermutations: o.npermutations,
    steps: o.steps,
    maxSteps: o.maxSteps,
    bootstrap: o.bootstrap,
    maxBatchRows: o.maxBatchRows,
  })) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0))
      throw new TypeError(`"${k}" must be a positive integer`)
  }
  if (o.sampler !== undefined && o.sampler !== 'leverage' && o.sampler !== 'shap')
    throw new TypeError('"sampler" must be leverage or shap')
  if (o.surrogate !== undefined && !['auto', 'trees', 'none'].includes(o.surrogate))
    throw new TypeError('"surrogate" must be auto, trees or none')
  const bg = o.background ? toMatrix(o.background.data, W, 'background') : undefined
  const bgRows = o.background?.data.length ?? 0
  const bgWeights = Float64Array.from(o.background?.weights ?? new Array(bgRows).fill(1))
  if (bg && (bgWeights.length !== bgRows || bgWeights.some((w) => !(w >= 0))))
    throw new TypeError('background weights must match its rows and be non-negative')
  const stats = { modelCalls: 0, evaluations: 0 }
  const problem = (): Problem => {
    if (!bg) throw new TypeError(`${method} needs "background" data`)
    return {
      predict: (a, n) => model.predict(a, n),
      width: W,
      K,
      background: bg,
      bgWeights,
      groups: groups.map((g) => Int32Array.from(g.columns)),
      link,
      maxBatchRows: o.maxBatchRows ?? 65_536,
      stats,
      signal: o.signal,
    }
  }
  let result: Attributions
  if (method === 'tree_shap') result = treeShap(o, x, rows, groupOf, M, bg, bgWeights)
  else if (method === 'integrated_gradients')
    result = await gradientsMethod(o, x, rows, groupOf, M, bg, bgWeights, stats)
  else {
    const p = problem()
    if (method === 'exact_shap' && M > 20)
      throw new TypeError('exact_shap enumerates 2^M coalitions; use at most 20 groups')
    result = {
      rows,
      M,
      K,
      values: new Float64Array(rows * M * K),
      base: new Float64Array(rows * K),
      fx: new Float64Array(rows * K),
    }
    if (method !== 'exact_shap') result.se = new Float64Array(rows * M * K)
    for (let r = 0; r < rows; r++) {
      const xr = x.subarray(r * W, (r + 1) * W)
      let out: { phi: Float64Array; base: Float64Array; fx: Float64Array; se?: Float64Array }
      if (method === 'exact_shap') out = await exactShap(p, xr)
      else if (method === 'kernel_shap') {
        const k = await kernelShap(p, xr, {
          nsamples: o.nsamples,
          seed: seed + r,
          sampler: o.sampler ?? 'leverage',
          surrogate: o.surrogate ?? 'auto',
          bootstrap: o.bootstrap ?? 32,
          tolerance: o.tolerance,
          maxEvaluations: o.maxEvaluations,
          maxTimeMs: o.maxTimeMs,
        })
        out = k
        result.samples = Math.max(result.samples ?? 0, k.samples)
        result.stopped = k.stopped
      } else {
        const pairs =
          o.npermutations ?? Math.max(2, Math.ceil((2 * M + 2048) / (2 * Math.max(1, M - 1)) / 4))
        out = await permutationShap(p, xr, pairs, seed + r)
        result.samples = 2 + 2 * pairs * (M - 1)
      }
      result.values.set(out.phi, r * M * K)
      result.base.set(out.base, r * K)
      result.fx.set(out.fx, r * K)
      if (out.se && result.se) result.se.set(out.se, r * M * K)
      o.onProgress?.(r + 1, rows)
    }
  }
  if (method === 'tree_shap') o.onProgress?.(rows, rows)
  return layout(result, method as ExplainerName, o, x, featureNames, groups, stats, started)
}

function treeShap(
  o: ExplainOptions,
  x: Float64Array,
  rows: number,
  groupOf: Int32Array,
  M: number,
  bg: Float64Array | undefined,
  bgWeights: Float64Array,
): Attributions {
  const ensemble = o.model.ensemble
  if (!ensemble) throw new TypeError('tree_shap needs a tree model')
  if ((o.link ?? 'identity') !== 'identity')
    throw new TypeError('tree_shap explains the raw margin; use link "identity"')
  const interventional = (o.treeMode ?? 'path_dependent') === 'interventional'
  if (interventional && !bg) throw new TypeError('interventional tree_shap needs "background" data')
  const r = interventional
    ? interventionalTreeShap(ensemble, x, rows, bg!, bgWeights, groupOf, M)
    : pathDependentTreeShap(ensemble, x, rows, groupOf, M)
  const K = ensemble.numOutputs
  const base = new Float64Array(rows * K)
  for (let i = 0; i < rows; i++) base.set(r.base, i * K)
  return { rows, M, K, values: r.values, base, fx: r.fx }
}

async function gradientsMethod(
  o: ExplainOptions,
  x: Float64Array,
  rows: number,
  groupOf: Int32Array,
  M: number,
  bg: Float64Array | undefined,
  bgWeights: Float64Array,
  stats: { modelCalls: number; evaluations: number },
): Promise<Attributions> {
  const model = o.model
  const grad = model.gradients?.bind(model)
  if (!grad)
    throw new TypeError(
      'integrated_gradients needs a model with gradients(), as a differentiable backend (TF.js) gives',
    )
  if ((o.link ?? 'identity') !== 'identity')
    throw new TypeError('integrated_gradients explains the model output; use link "identity"')
  const W = model.width
  const K = model.outputs
  let baselines: Float64Array[]
  const b = o.baseline ?? 'zeros'
  if (b === 'zeros') baselines = [new Float64Array(W)]
  else if (b === 'mean') {
    if (!bg) throw new TypeError('baseline "mean" needs "background" data')
    const mean = new Float64Array(W)
    const total = bgWeights.reduce((a, c) => a + c, 0)
    bgWeights.forEach((w, i) => {
      for (let c = 0; c < W; c++) mean[c] += (w / total) * bg[i * W + c]!
    })
    baselines = [mean]
  } else {
    const list = Array.isArray(b[0]) ? (b as number[][]) : [b as number[]]
    baselines = list.map((row) => toMatrix([row], W, 'baseline'))
  }
  const rule = o.rule ?? 'gauss_legendre'
  const tol = o.completenessTolerance ?? 0.01
  const maxSteps = o.maxSteps ?? 1024
  const fb = await model.predict(concat(baselines, W), baselines.length)
  const fxAll = await model.predict(x, rows)
  stats.modelCalls += 2
  stats.evaluations += baselines.length + rows
  const values = new Float64Array(rows * M * K)
  const base = new Float64Array(rows * K)
  let worst = 0
  let usedSteps = o.steps ?? 16
  for (let r = 0; r < rows; r++) {
    const xr = x.subarray(r * W, (r + 1) * W)
    for (let k = 0; k < K; k++) {
      for (let bi = 0; bi < baselines.length; bi++) {
        const target = fxAll[r * K + k]! - fb[bi * K + k]!
        let steps = o.steps ?? 16
        let attr: Float64Array
        let err: number
        while (true) {
          attr = await integratedGradients(grad, xr, baselines[bi]!, k, rule, steps)
          stats.modelCalls++
          stats.evaluations += steps
          const sum = attr.reduce((a, c) => a + c, 0)
          err = Math.abs(sum - target) / Math.max(Math.abs(target), 1e-12)
          if (err <= tol || steps * 2 > maxSteps) break
          steps *= 2
        }
        worst = Math.max(worst, err)
        usedSteps = Math.max(usedSteps, steps)
        for (let c = 0; c < W; c++)
          values[(r * M + groupOf[c]!) * K + k] += attr[c]! / baselines.length
        base[r * K + k] += fb[bi * K + k]! / baselines.length
      }
    }
    o.onProgress?.(r + 1, rows)
  }
  return { rows, M, K, values, base, fx: fxAll, completeness: { error: worst, steps: usedSteps } }
}

function concat(list: Float64Array[], W: number): Float64Array {
  const out = new Float64Array(list.length * W)
  list.forEach((a, i) => out.set(a, i * W))
  return out
}

/** @internal Rows of numbers (null → NaN) as one row-major array, checked for width. */
export function toMatrix(
  rows: ArrayLike<ArrayLike<number | null>>,
  W: number,
  what: string,
): Float64Array {
  const out = new Float64Array(rows.length * W)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    if (!row || row.length !== W) throw new TypeError(`${what}[${r}] must have ${W} values`)
    for (let c = 0; c < W; c++) {
      const v = row[c]
      if (v !== null && typeof v !== 'number')
        throw new TypeError(`${what}[${r}][${c}] must be a number or null`)
      out[r * W + c] = v === null ? NaN : v
    }
  }
  return out
}

/** @internal shap's layout plus the additivity check. */
export function layout(
  a: Attributions,
  method: ExplainerName,
  o: Pick<ExplainOptions, 'link' | 'additivityTolerance' | 'completenessTolerance' | 'model'>,
  x: Float64Array,
  featureNames: string[],
  groups: Array<{ name: string; columns: number[] }>,
  stats: { modelCalls: number; evaluations: number },
  started: number,
): Explanation {
  const { rows, M, K } = a
  const W = featureNames.length
  const tolerance = o.additivityTolerance ?? 1e-6
  let worst = 0
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      let sum = a.base[r * K + k]!
      let scale = Math.abs(a.base[r * K + k]!)
      for (let j = 0; j < M; j++) {
        sum += a.values[(r * M + j) * K + k]!
        scale += Math.abs(a.values[(r * M + j) * K + k]!)
      }
      const fx = a.fx[r * K + k]!
      worst = Math.max(worst, Math.abs(sum - fx) / Math.max(Math.abs(fx), scale * 1e-3, 1e-12))
    }
  }
  const shaped = (arr: Float64Array) =>
    Array.from({ length: rows }, (_, r) =>
      Array.from({ length: M }, (_, j) =>
        K === 1 ? arr[r * M + j]! : Array.from(arr.subarray((r * M + j) * K, (r * M + j + 1) * K)),
      ),
    ) as number[][] | number[][][]
  const data = Array.from({ length: rows }, (_, r) =>
    groups.map((g) => {
      const vals = g.columns.map((c) => {
        const v = x[r * W + c]!
        return v === v ? v : null
      })
      return vals.length === 1 ? vals[0] : vals
    }),
  )
  const out: Explanation = {
    values: shaped(a.values),
    base_values: Array.from({ length: rows }, (_, r) =>
      K === 1 ? a.base[r]! : Array.from(a.base.subarray(r * K, (r + 1) * K)),
    ) as number[] | number[][],
    data,
    feature_names: groups.map((g) => g.name),
    output_names:
      o.model.outputNames ??
      Array.from({ length: K }, (_, k) => (K === 1 ? 'output' : `output_${k}`)),
    method,
    link: o.link ?? 'identity',
    additivity: { ok: worst <= tolerance, max_relative_error: worst, tolerance },
    stats: {
      model_calls: stats.modelCalls,
      evaluations: stats.evaluations,
      elapsed_ms: Date.now() - started,
    },
  }
  if (a.se) out.standard_errors = shaped(a.se)
  if (a.samples !== undefined) out.stats.samples = a.samples
  if (a.stopped !== undefined) out.stats.stopped = a.stopped
  if (a.completeness) {
    const tol = o.completenessTolerance ?? 0.01
    out.completeness = {
      max_relative_error: a.completeness.error,
      steps: a.completeness.steps,
      ok: a.completeness.error <= tol,
    }
    out.additivity = { ok: a.completeness.error <= tol, max_relative_error: worst, tolerance: tol }
  }
  return out
}

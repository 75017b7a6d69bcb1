import { BadRequestError, checkOptionKeys, MemoryStore } from '@modelgate/core'
import type {
  ExplainerResult,
  ExplanationPlot,
  ExplanationResult,
  GateContext,
  InferRequest,
  KeyValueStore,
  OptionsShape,
  OutputExplanation,
  Parameters,
  Plugin,
  Tensor,
} from '@modelgate/core'
import type { TreeEnsemble } from '@modelgate/backend-trees'
import { explainModel, METHODS } from '../explain.js'
import { modelFromEnsemble, modelFromInfer } from '../models.js'
import { renderPlot, type PlotKind } from '../plots/index.js'
import type {
  ExplainableModel,
  ExplainerName,
  ExplainOptions,
  Explanation,
  ExplainPluginOptions,
} from '../types.js'

const MODEL_CONFIG: OptionsShape = {
  background: { data: true, weights: true },
  method: true,
  output: true,
  link: true,
  featureNames: true,
  nsamples: true,
}

/** @internal The option keys of the explain plugin. */
export const EXPLAIN_OPTIONS: OptionsShape = {
  models: { '*': MODEL_CONFIG },
  defaults: MODEL_CONFIG,
  pool: true,
  inlineBelowEvaluations: true,
  cache: true,
  cacheTtlMs: true,
  maxRows: true,
  maxEvaluations: true,
}

const PLOTS: readonly string[] = ['waterfall', 'bar', 'force']

/**
 * The explain extension: answers `POST /v2/models/{m}/explain` (the infer request plus
 * `parameters.explainer`; the infer response plus `explanations`) and
 * `POST /v1/models/{m}:explain` (records; attributions by feature name through the model's
 * feature schema, one per schema feature, one-hot blocks grouped). Options in `parameters`:
 * `explainer`, `output`, `nsamples`, `seed`, `sampler`, `link`, `npermutations`, `tolerance`,
 * `tree_mode`, `steps`, `rule`, `baseline`, `plot` (`waterfall` | `bar` | `force`).
 *
 * The plugin answers nothing itself: on explain routes it registers an explainer with the gate
 * (`ctx.provideExplainer`) and calls `next()`; core's explain route runs it at the centre of the
 * onion and encodes its outputs and {@link ExplanationResult} once, so plugins outside see the
 * explanation as data (`ctx.explanation`, which masking rewrites) and plots are drawn at encoding
 * time from what they left. Results are cached per model version, tenant, unmask grants and input
 * hash; `ctx.facts.explanation` records the method, rows and whether the cache answered.
 *
 * This entry runs every job inline (Web-only, runs at the edge); `explain` of
 * `@modelgate/explain/node` runs large jobs on worker threads.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { explain, kmeans } from '@modelgate/explain'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [explain({ models: { credit: { background: kmeans(trainRows, 10), method: 'kernel_shap' } } })],
 * })
 * ```
 */
export const explain = (options: ExplainPluginOptions = {}): Plugin => {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('explain options must be an object')
  checkOptionKeys('explain', options, EXPLAIN_OPTIONS)
  for (const [name, c] of Object.entries({
    ...options.models,
    ...(options.defaults ? { defaults: options.defaults } : {}),
  })) {
    const at = name === 'defaults' ? 'defaults' : `models.${name}`
    if (c.method !== undefined && !METHODS.includes(c.method))
      throw new TypeError(`explain: ${at}.method must be one of ${METHODS.join(', ')}`)
    if (
      c.background !== undefined &&
      (!Array.isArray(c.background.data) || c.background.data.length === 0)
    )
      throw new TypeError(`explain: ${at}.background.data must be rows`)
  }
  const pool = options.pool
  if (pool !== undefined && (typeof pool?.run !== 'function' || typeof pool.close !== 'function'))
    throw new TypeError('explain: "pool" must have run() and close() (an ExplainPool)')
  const maxRows = options.maxRows ?? 100
  const maxEvaluations = options.maxEvaluations ?? 5_000_000
  if (!Number.isSafeInteger(maxEvaluations) || maxEvaluations < 1)
    throw new TypeError('explain: "maxEvaluations" must be a positive integer')
  const inlineBelow = options.inlineBelowEvaluations ?? 20_000
  const cache: KeyValueStore | undefined =
    options.cache === false ? undefined : (options.cache ?? new MemoryStore({ maxEntries: 10_000 }))
  const ttl = options.cacheTtlMs ?? 600_000

  async function explainer(ctx: GateContext, request: InferRequest): Promise<ExplainerResult> {
    const model = ctx.requireModel()
    const config = { ...options.defaults, ...options.models?.[model.name] }
    const params: Parameters = request.parameters ?? {}
    plotKind(params)
    const meta = model.metadata()
    if (request.inputs.length !== 1)
      throw new BadRequestError('explanations need a model with exactly one input')
    const input = request.inputs[0]!
    const inputMeta = meta.inputs.find((i) => i.name === input.name)!
    const rows = input.shape[0] ?? 0
    const width = input.shape.slice(1).reduce((a, b) => a * b, 1)
    if (rows > maxRows) throw new BadRequestError(`at most ${maxRows} rows per explain request`)
    const backend = model.entry.backend
    const ensemble = treeOf(backend)
    const method =
      str(params.explainer) ?? config.method ?? (ensemble ? 'tree_shap' : 'kernel_shap')
    if (!METHODS.includes(method))
      throw new BadRequestError(
        `unknown explainer "${method.slice(0, 32)}"; the explainers are ${METHODS.join(', ')}`,
        'unknown_explainer',
      )
    if (method === 'integrated_gradients' && typeof backend.gradients !== 'function')
      throw new BadRequestError(
        `integrated_gradients needs a differentiable backend (TF.js, @modelgate/backend-tfjs); ` +
          `model "${model.name}" runs on one without gradients: use kernel_shap, exact_shap or permutation_shap`,
        'explainer_unsupported',
      )
    if (method === 'tree_shap' && !ensemble)
      throw new BadRequestError(
        `tree_shap needs a tree model (@modelgate/backend-trees); model "${model.name}" is not one: ` +
          'use kernel_shap, exact_shap or permutation_shap',
        'explainer_unsupported',
      )
    const outputs = await ctx.runModel(
      request.inputs,
      request.parameters ? { parameters: request.parameters } : {},
    )
    const wanted = str(params.output) ?? config.output ?? request.outputs?.[0]?.name
    const explained = outputs.filter((t) =>
      method === 'tree_shap' ? t.name === 'margin' : wanted === undefined || t.name === wanted,
    )
    if (explained.length === 0)
      throw new BadRequestError(
        method === 'tree_shap'
          ? 'tree_shap needs a tree model (margin output)'
          : `unknown output "${String(wanted).slice(0, 64)}"`,
      )
    const schema = ctx.route.kind === 'v1-explain' || model.schema ? model.schema : undefined
    const groups = schema
      ? schema.groups.map((g) => ({ name: g.feature, columns: range(g.start, g.end) }))
      : undefined
    const featureNames =
      schema?.columns ?? config.featureNames ?? range(0, width).map((i) => `x${i}`)
    const data = input.data as ArrayLike<number>
    const x = Array.from({ length: rows }, (_, r) =>
      Array.from(data).slice(r * width, (r + 1) * width),
    )
    const records =
      ctx.route.kind === 'v1-explain'
        ? ((await ctx.records()) as Array<Record<string, unknown>>)
        : undefined
    const scope = cacheScope(ctx)
    const explanations: OutputExplanation[] = []
    let cached = true
    for (const out of explained) {
      const K = out.shape.length > 1 ? out.shape[out.shape.length - 1]! : 1
      const xm: ExplainableModel =
        ensemble && (out.name === 'margin' || out.name === 'prediction')
          ? modelFromEnsemble(ensemble, out.name)
          : modelFromInfer((t, o) => ctx.runModel(t, o), {
              input: inputMeta,
              output: out.name,
              outputs: K,
              width,
              ...(backend.gradients ? { gradients: backend.gradients.bind(backend) } : {}),
            })
      xm.outputNames = range(0, K).map((k) => (K === 1 ? out.name : `${out.name}[${k}]`))
      const opts: ExplainOptions = {
        model: xm,
        x,
        method: method as ExplainerName,
        featureNames,
        ...(groups ? { groups } : {}),
        ...(config.background ? { background: config.background } : {}),
        ...explainParams(params, config),
        signal: ctx.signal,
      }
      checkBudget(opts, maxEvaluations)
      const key = cache
        ? await cacheKey(scope, model.name, model.version, out.name, opts, input)
        : undefined
      const hit = key ? await cache!.get(key) : undefined
      let e: Explanation
      if (hit) e = JSON.parse(hit) as Explanation
      else {
        cached = false
        e = await run(opts)
        if (key) await cache!.set(key, JSON.stringify(e), ttl)
      }
      for (let k = 0; k < K; k++) explanations.push(toOutput(e, out.name, K, k, records))
    }
    ctx.facts.explanation = { method, rows, cached }
    const explanation: ExplanationResult = {
      model: model.name,
      ...(model.version ? { version: model.version } : {}),
      method,
      cached,
      explanations,
    }
    return { outputs, explanation }
  }

  async function run(opts: ExplainOptions): Promise<Explanation> {
    try {
      if (!pool || estimateEvaluations(opts) < inlineBelow) return await explainModel(opts)
      return await pool.run(opts)
    } catch (error) {
      if (error instanceof TypeError) throw new BadRequestError(error.message)
      throw error
    }
  }

  const plugin: Plugin = async function explain(ctx, next) {
    if (ctx.route.kind !== 'v2-explain' && ctx.route.kind !== 'v1-explain') return next()
    ctx.provideExplainer(explainer)
    await next()
    // Also for explanations another explainer produced (a cloud forwarder), so plots are drawn
    // here, from the explanation as every plugin left it.
    const result = ctx.explanation
    if (result && !result.plot) {
      const kind = plotKind((await ctx.inferRequest()).parameters ?? {})
      if (kind) result.plot = plotOf(kind)
    }
  }
  plugin.extensions = ['explain']
  plugin.close = async () => {
    await pool?.close()
  }
  return plugin
}

function plotKind(params: Parameters): PlotKind | undefined {
  const plot = params.plot
  if (plot === undefined) return undefined
  if (typeof plot !== 'string' || !PLOTS.includes(plot))
    throw new BadRequestError(`plot must be one of ${PLOTS.join(', ')}`)
  return plot as PlotKind
}

/** The renderer core calls when it encodes the answer, with the explanation as plugins left it. */
function plotOf(kind: PlotKind): ExplanationPlot {
  return {
    kind,
    render(e, row) {
      const index = e.output_index !== undefined ? `[${e.output_index}]` : ''
      return renderPlot(kind, {
        featureNames: e.feature_names,
        values: e.values[row] ?? [],
        baseValue: e.base_values[row] ?? e.base_value,
        data: e.data[row] ?? [],
        title: `${kind} plot of ${e.output}${index}, row ${row}`,
      })
    },
  }
}

/**
 * Who may share cached explanations: one tenant (or, without tenants, one principal) with one set
 * of unmask grants, so a caller cannot learn from `cached` (or timing) what another explained.
 */
function cacheScope(ctx: GateContext): string {
  const p = ctx.principal
  const who = p?.tenant !== undefined ? `t:${p.tenant}` : p ? `p:${p.kind}:${p.id}` : 'anonymous'
  const unmask = [...(ctx.decision?.unmask ?? [])].sort()
  return JSON.stringify([who, unmask])
}

function treeOf(backend: unknown): TreeEnsemble | undefined {
  const b = backend as { ensemble?: () => TreeEnsemble }
  try {
    return typeof b.ensemble === 'function' ? b.ensemble() : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

function explainParams(
  p: Parameters,
  c: { link?: ExplainOptions['link']; nsamples?: number },
): Partial<ExplainOptions> {
  const o: Partial<ExplainOptions> = {}
  const set = <K extends keyof ExplainOptions>(k: K, v: ExplainOptions[K] | undefined) =>
    v !== undefined && (o[k] = v)
  set('link', (str(p.link) as ExplainOptions['link']) ?? c.link)
  set('nsamples', num(p.nsamples) ?? c.nsamples)
  set('seed', num(p.seed))
  set('sampler', str(p.sampler) as ExplainOptions['sampler'])
  set('npermutations', num(p.npermutations))
  set('tolerance', num(p.tolerance))
  set('treeMode', str(p.tree_mode) as ExplainOptions['treeMode'])
  set('steps', num(p.steps))
  set('rule', str(p.rule) as ExplainOptions['rule'])
  const b = p.baseline
  if (typeof b === 'string' || Array.isArray(b)) o.baseline = b as ExplainOptions['baseline']
  return o
}

const intIn = (v: number | undefined, min: number, max: number) =>
  v === undefined || (Number.isSafeInteger(v) && v >= min && v <= max)

/**
 * Refuses, before any work or allocation, request parameters that would make one request cost
 * more than `maxEvaluations` model rows (a client must not be able to buy unbounded work).
 */
function checkBudget(o: ExplainOptions, maxEvaluations: number): void {
  if (!intIn(o.steps, 1, o.maxSteps ?? 1024))
    throw new BadRequestError(`"steps" must be an integer from 1 to ${o.maxSteps ?? 1024}`)
  if (!intIn(o.npermutations, 1, 100_000))
    throw new BadRequestError('"npermutations" must be an integer from 1 to 100000')
  if (!intIn(o.nsamples, 1, 10_000_000))
    throw new BadRequestError('"nsamples" must be an integer from 1 to 10000000')
  if (Array.isArray(o.baseline) && o.baseline.length > 64)
    throw new BadRequestError('at most 64 baseline rows')
  const estimate = estimateEvaluations(o)
  if (estimate > maxEvaluations) {
    throw new BadRequestError(
      `this explanation needs about ${Math.round(estimate)} model evaluations; the limit is ${maxEvaluations}`,
      'explanation_too_large',
    )
  }
}

function estimateEvaluations(o: ExplainOptions): number {
  const rows = o.x.length
  const bg = o.background?.data.length ?? 1
  const M = o.groups?.length ?? o.model.width
  switch (o.method) {
    case 'tree_shap':
      return rows * (o.model.ensemble?.trees.length ?? 100) * 4
    case 'exact_shap':
      return rows * bg * 2 ** M
    case 'integrated_gradients': {
      const baselines = Array.isArray(o.baseline) ? o.baseline.length : 1
      // Step doubling runs at most up to maxSteps: steps + 2·steps + … < 2·maxSteps.
      return rows * baselines * 2 * (o.maxSteps ?? 1024)
    }
    case 'permutation_shap': {
      const perms =
        o.npermutations ?? Math.max(2, Math.ceil((2 * M + 2048) / (2 * Math.max(1, M - 1)) / 4))
      return rows * bg * 2 * perms * (M + 1)
    }
    default:
      return rows * bg * (o.nsamples ?? 2 * M + 2048)
  }
}

async function cacheKey(
  scope: string,
  model: string,
  version: string | undefined,
  output: string,
  o: ExplainOptions,
  input: Tensor,
): Promise<string> {
  const { model: _m, signal: _s, x: _x, background: _b, ...rest } = o
  const data = input.data as ArrayLike<number>
  const bytes = new TextEncoder().encode(
    JSON.stringify([
      scope,
      model,
      version ?? '',
      output,
      rest,
      input.shape,
      Array.from(data),
      o.background ? o.background.data.length : 0,
    ]),
  )
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return `explain:${model}:${version ?? ''}:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

function toOutput(
  e: Explanation,
  output: string,
  K: number,
  k: number,
  records: Array<Record<string, unknown>> | undefined,
): OutputExplanation {
  const pick = (a: number[][] | number[][][]) =>
    a.map((row) => row.map((v) => (K === 1 ? (v as number) : (v as number[])[k]!)))
  const base = (e.base_values as Array<number | number[]>).map((b) =>
    K === 1 ? (b as number) : (b as number[])[k]!,
  )
  const w: OutputExplanation = {
    output,
    ...(K > 1 ? { output_index: k } : {}),
    method: e.method,
    link: e.link,
    base_value: base[0]!,
    base_values: base,
    values: pick(e.values),
    feature_names: e.feature_names,
    data: records ? records.map((r) => e.feature_names.map((f) => r[f] ?? null)) : e.data,
    additivity: e.additivity,
  }
  if (e.standard_errors) w.standard_errors = pick(e.standard_errors)
  if (e.completeness) w.completeness_error = e.completeness.max_relative_error
  return w
}

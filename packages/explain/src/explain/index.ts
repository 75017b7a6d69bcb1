import { BadRequestError, encodeInferResponse, MemoryStore, NotReadyError } from '@modelgate/core'
import type { KeyValueStore, Parameters, Plugin, Tensor } from '@modelgate/core'
import type { TreeEnsemble } from '@modelgate/backend-trees'
import { explainModel } from '../explain.js'
import { modelFromEnsemble, modelFromInfer } from '../models.js'
import { renderPlot, type PlotKind } from '../plots/index.js'
import { ExplainPool } from '../pool.js'
import type {
  ExplainableModel,
  ExplainerName,
  ExplainOptions,
  Explanation,
  ExplanationResult,
  ExplainPluginOptions,
  WireExplanation,
} from '../types.js'

const METHODS = [
  'exact_shap',
  'kernel_shap',
  'permutation_shap',
  'tree_shap',
  'integrated_gradients',
]

/**
 * The explain extension: serves `POST /v2/models/{m}/explain` (the infer request plus
 * `parameters.explainer`; the infer response plus `explanations`) and
 * `POST /v1/models/{m}:explain` (records; attributions by feature name through the model's
 * feature schema, one per schema feature, one-hot blocks grouped). Options in `parameters`:
 * `explainer`, `output`, `nsamples`, `seed`, `sampler`, `link`, `npermutations`, `tolerance`,
 * `tree_mode`, `steps`, `rule`, `baseline`, `plot` (`waterfall` | `bar` | `force`). Large jobs
 * run on a worker pool; results are cached by model version and input hash. The explanation is
 * put on `ctx.explanation` ({@link ExplanationResult}) for plugins outside it (masking).
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
  const workers = options.workers
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 0))
    throw new TypeError('"workers" must be a non-negative integer')
  for (const [name, c] of Object.entries({
    ...options.models,
    ...(options.defaults ? { defaults: options.defaults } : {}),
  })) {
    if (c.method !== undefined && !METHODS.includes(c.method))
      throw new TypeError(`models.${name}.method is not an explainer`)
    if (
      c.background !== undefined &&
      (!Array.isArray(c.background.data) || c.background.data.length === 0)
    )
      throw new TypeError(`models.${name}.background.data must be rows`)
  }
  const maxRows = options.maxRows ?? 100
  const maxEvaluations = options.maxEvaluations ?? 5_000_000
  if (!Number.isSafeInteger(maxEvaluations) || maxEvaluations < 1)
    throw new TypeError('"maxEvaluations" must be a positive integer')
  const inlineBelow = options.inlineBelowEvaluations ?? 20_000
  const cache: KeyValueStore | undefined =
    options.cache === false ? undefined : (options.cache ?? new MemoryStore({ maxEntries: 10_000 }))
  const ttl = options.cacheTtlMs ?? 600_000
  let pool: ExplainPool | undefined
  const plugin: Plugin = async function explain(ctx, next) {
    if (ctx.route.kind !== 'v2-explain' && ctx.route.kind !== 'v1-explain') return next()
    const model = ctx.requireModel()
    if (!(await model.isReady())) throw new NotReadyError(`model "${model.name}" is not ready`)
    const config = { ...options.defaults, ...options.models?.[model.name] }
    const request = await ctx.inferRequest()
    const params: Parameters = request.parameters ?? {}
    const meta = model.metadata()
    if (request.inputs.length !== 1)
      throw new BadRequestError('explanations need a model with exactly one input')
    const input = request.inputs[0]!
    const inputMeta = meta.inputs.find((i) => i.name === input.name)!
    const rows = input.shape[0] ?? 0
    const width = input.shape.slice(1).reduce((a, b) => a * b, 1)
    if (rows > maxRows) throw new BadRequestError(`at most ${maxRows} rows per explain request`)
    const method =
      str(params.explainer) ??
      config.method ??
      (treeOf(model.entry.backend) ? 'tree_shap' : undefined) ??
      'kernel_shap'
    if (!METHODS.includes(method))
      throw new BadRequestError(`unknown explainer "${method.slice(0, 32)}"`)
    const ensemble = treeOf(model.entry.backend)
    const outputs = await ctx.runModel(
      request.inputs,
      request.parameters ? { parameters: request.parameters } : {},
    )
    ctx.outputs = outputs
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
    const x = Array.from({ length: rows }, (_, r) =>
      Array.from(input.data as ArrayLike<number> as ArrayLike<number>).slice(
        r * width,
        (r + 1) * width,
      ),
    )
    const records =
      ctx.route.kind === 'v1-explain'
        ? ((await ctx.records()) as Array<Record<string, unknown>>)
        : undefined
    const plot = str(params.plot)
    if (plot !== undefined && !['waterfall', 'bar', 'force'].includes(plot))
      throw new BadRequestError('plot must be waterfall, bar or force')
    const explanations: WireExplanation[] = []
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
              ...(model.entry.backend.gradients
                ? { gradients: model.entry.backend.gradients.bind(model.entry.backend) }
                : {}),
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
        signal: ctx.request.signal,
      }
      checkBudget(opts, maxEvaluations)
      const key = cache
        ? await cacheKey(model.name, model.version, out.name, opts, input)
        : undefined
      const hit = key ? await cache!.get(key) : undefined
      let e: Explanation
      if (hit) e = JSON.parse(hit) as Explanation
      else {
        cached = false
        e = await run(opts)
        if (key) await cache!.set(key, JSON.stringify(e), ttl)
      }
      for (let k = 0; k < K; k++) explanations.push(toWire(e, out.name, K, k, records))
    }
    const result: ExplanationResult = {
      model: model.name,
      ...(model.version ? { version: model.version } : {}),
      method: method as ExplainerName,
      cached,
      explanations,
    }
    ctx.explanation = result
    ctx.audit.explain = { method, rows, cached }
    const body: Record<string, unknown> =
      ctx.route.kind === 'v1-explain'
        ? { predictions: predictions(outputs) }
        : {
            ...encodeInferResponse({
              modelName: model.name,
              ...(model.version ? { modelVersion: model.version } : {}),
              ...(request.id !== undefined ? { id: request.id } : {}),
              outputs,
            }),
          }
    Object.defineProperty(body, 'explanations', {
      enumerable: true,
      get: () => {
        const list = (ctx.explanation as ExplanationResult | undefined)?.explanations ?? []
        return plot ? list.map((e) => withPlots(e, plot as PlotKind)) : list
      },
    })
    ctx.body = body
  }

  async function run(opts: ExplainOptions): Promise<Explanation> {
    try {
      if (workers === 0 || estimateEvaluations(opts) < inlineBelow) return await explainModel(opts)
      pool ??= new ExplainPool(workers !== undefined ? { size: workers } : {})
      return await pool.run(opts)
    } catch (error) {
      if (error instanceof TypeError) throw new BadRequestError(error.message)
      throw error
    }
  }

  plugin.extensions = ['explain']
  return plugin
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

function toWire(
  e: Explanation,
  output: string,
  K: number,
  k: number,
  records: Array<Record<string, unknown>> | undefined,
): WireExplanation {
  const pick = (a: number[][] | number[][][]) =>
    a.map((row) => row.map((v) => (K === 1 ? (v as number) : (v as number[])[k]!)))
  const base = (e.base_values as Array<number | number[]>).map((b) =>
    K === 1 ? (b as number) : (b as number[])[k]!,
  )
  const values = pick(e.values)
  const w: WireExplanation = {
    output,
    ...(K > 1 ? { output_index: k } : {}),
    method: e.method,
    link: e.link,
    base_value: base[0]!,
    base_values: base,
    values,
    feature_names: e.feature_names,
    data: records ? records.map((r) => e.feature_names.map((f) => r[f] ?? null)) : e.data,
    additivity: e.additivity,
  }
  if (e.standard_errors) w.standard_errors = pick(e.standard_errors)
  if (e.completeness) w.completeness_error = e.completeness.max_relative_error
  if (records)
    w.attributions = values.map((row) =>
      Object.fromEntries(e.feature_names.map((f, i) => [f, row[i]!])),
    )
  return w
}

/**
 * The explanation with its plots, rendered from what it holds now: the body reads this when it
 * is serialised, after any plugin outside `explain` (masking) rewrote `ctx.explanation`.
 */
function withPlots(e: WireExplanation, plot: PlotKind): WireExplanation {
  const index = e.output_index !== undefined ? `[${e.output_index}]` : ''
  const plots = e.values.map((row, r) => ({
    row: r,
    kind: plot,
    svg: renderPlot(plot, {
      featureNames: e.feature_names,
      values: row,
      baseValue: e.base_values[r] ?? e.base_value,
      data: e.data[r] ?? [],
      title: `${plot} plot of ${e.output}${index}, row ${r}`,
    }),
  }))
  return { ...e, plots }
}

function predictions(outputs: Tensor[]): unknown[] {
  const rows = outputs[0]?.shape[0] ?? 0
  return Array.from({ length: rows }, (_, r) =>
    Object.fromEntries(
      outputs.map((t) => {
        const w = t.shape.slice(1).reduce((a, b) => a * b, 1)
        const vals = Array.from(t.data as ArrayLike<number> as ArrayLike<number>)
          .slice(r * w, (r + 1) * w)
          .map(Number)
        return [t.name, w === 1 ? vals[0] : vals]
      }),
    ),
  )
}

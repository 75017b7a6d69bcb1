import {
  BadGatewayError,
  checkOptionKeys,
  decodeInferRequest,
  GateError,
  isPlainObject,
  NotReadyError,
  parseJsonSafe,
  toJsonArray,
} from '@modelgate/core'
import type {
  ExplainerResult,
  ExplanationResult,
  GateContext,
  InferRequest,
  OutputExplanation,
  Parameters,
  Plugin,
  Tensor,
  TensorMetadata,
} from '@modelgate/core'
import { breakerFrom } from '../breaker.js'
import type { DegradedReason, ForwardExplainOptions } from '../types.js'

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_MAX_RESPONSE = 16 * 1024 * 1024

const OPTIONS = {
  url: true,
  model: true,
  timeoutMs: true,
  headers: true,
  fetch: true,
  transformOutbound: true,
  breaker: true,
  fallback: true,
  maxResponseBytes: true,
} as const

/**
 * Explains at the cloud gate, which has the explainers, the background data and the time: on
 * explain routes (`POST /v2/models/{m}/explain`, `/v1/models/{m}:explain`) it registers an
 * explainer with the gate (`ctx.provideExplainer`) that sends the request's decoded input tensors
 * (after every plugin inside it, masking included, and `transformOutbound`) to the cloud's V2
 * explain route through the given `fetch`, and turns the answer back into output tensors and an
 * explanation. Core encodes them as for a local explanation, so V1 clients get predictions named
 * by the schema's `outputNames` and attributions by feature name; records never leave the edge,
 * only the tensors the schema made of them. The answer carries `x-modelgate-route: cloud` and
 * the `hybridRoute` fact. Plots are drawn at the edge by an `explain` plugin in the chain, from
 * the explanation as the edge's plugins left it (the `plot` parameter is not sent).
 *
 * When the cloud is unreachable, times out, answers 5xx or 429, or its breaker is open, the
 * request gets 503 `cloud_unavailable`, or with `fallback: 'next'` goes to the next explainer (a
 * local `explain` plugin inside this one), marked `x-modelgate-route: edge` and
 * `x-modelgate-degraded: <reason>`. The plugin adds `explain` to the gate's extensions.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { explain } from '@modelgate/explain'
 * import { createCircuitBreaker, createHybridBackend, forwardExplain } from '@modelgate/hybrid'
 *
 * const breaker = createCircuitBreaker()
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: createHybridBackend({ local, remote, breaker }), schema }],
 *   plugins: [forwardExplain({ url: 'http://cloud.internal:8080', breaker, fallback: 'next' }), explain()],
 * })
 * ```
 */
export const forwardExplain = (options: ForwardExplainOptions): Plugin => {
  if (!options || typeof options !== 'object') throw new TypeError('forwardExplain needs options')
  checkOptionKeys('forwardExplain', options, OPTIONS)
  if (typeof options.url !== 'string') throw new TypeError('forwardExplain needs a "url"')
  let base: URL
  try {
    base = new URL(options.url)
  } catch {
    throw new TypeError('"url" must be an absolute http(s) URL')
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError('"url" must be an absolute http(s) URL')
  }
  const prefix = base.href.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be > 0')
  const fallback = options.fallback ?? 'error'
  if (fallback !== 'error' && fallback !== 'next')
    throw new TypeError('"fallback" must be "error" or "next"')
  if (options.transformOutbound !== undefined && typeof options.transformOutbound !== 'function')
    throw new TypeError('transformOutbound must be a function')
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  const breaker = breakerFrom(options.breaker)

  async function payloadOf(request: InferRequest): Promise<Record<string, unknown>> {
    const { plot: _plot, ...parameters } = request.parameters ?? {}
    let inputs = request.inputs
    let sent: Parameters = parameters
    if (options.transformOutbound) {
      const out = await options.transformOutbound({ kind: 'tensors', inputs, parameters })
      if (out?.kind !== 'tensors' || !Array.isArray(out.inputs))
        throw new TypeError('transformOutbound must return a tensors payload')
      inputs = out.inputs
      sent = out.parameters ?? {}
    }
    return {
      ...(request.id !== undefined ? { id: request.id } : {}),
      inputs: inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        data: toJsonArray(t.datatype, t.data),
      })),
      ...(Object.keys(sent).length > 0 ? { parameters: sent } : {}),
      ...(request.outputs ? { outputs: request.outputs } : {}),
    }
  }

  /** The cloud's answer, or why it could not give one. */
  async function ask(
    ctx: GateContext,
    request: InferRequest,
  ): Promise<{ status: number; answer: unknown } | { reason: DegradedReason }> {
    const model = ctx.requireModel()
    const path = `/v2/models/${encodeURIComponent(options.model ?? model.name)}/explain`
    let body: string
    try {
      body = JSON.stringify(await payloadOf(request))
    } catch {
      return { reason: 'outbound_refused' }
    }
    if (!breaker.allow()) return { reason: 'breaker_open' }
    const timeout = AbortSignal.timeout(timeoutMs)
    let response: Response
    let bytes: Uint8Array
    try {
      response = await doFetch(prefix + path, {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
          'x-request-id': ctx.requestId,
        },
        body,
        signal: AbortSignal.any([ctx.signal, timeout]),
        redirect: 'manual',
      })
      if (response.status >= 300 && response.status < 400) throw new Error('redirect refused')
      bytes = await readLimited(response, maxBytes)
    } catch (error) {
      if (ctx.signal.aborted) {
        breaker.release()
        throw error
      }
      breaker.failure()
      return { reason: timeout.aborted ? 'cloud_timeout' : 'cloud_error' }
    }
    if (response.status >= 500 || response.status === 429) {
      breaker.failure()
      return { reason: 'cloud_error' }
    }
    breaker.success()
    try {
      return { status: response.status, answer: parseJsonSafe(bytes, { maxDepth: 64 }) }
    } catch {
      throw new BadGatewayError('the cloud answered with invalid JSON')
    }
  }

  async function explainInCloud(
    ctx: GateContext,
    request: InferRequest,
    next: (() => Promise<ExplainerResult>) | undefined,
  ): Promise<ExplainerResult> {
    const result = await ask(ctx, request)
    if ('reason' in result) {
      ctx.facts.hybridRoute = { route: 'edge', degraded: true, reason: result.reason }
      ctx.headers.set('x-modelgate-route', 'edge')
      ctx.headers.set('x-modelgate-degraded', result.reason)
      if (fallback === 'next' && next) return next()
      throw new NotReadyError('the cloud is unavailable', 'cloud_unavailable', {
        'retry-after': '1',
      })
    }
    const { status, answer } = result
    if (status >= 400) {
      const message =
        isPlainObject(answer) && typeof answer.error === 'string'
          ? answer.error.slice(0, 300)
          : 'the cloud refused the request'
      const code =
        isPlainObject(answer) && typeof answer.code === 'string'
          ? answer.code.slice(0, 64)
          : 'cloud_rejected'
      throw new GateError(code, status, message)
    }
    const model = ctx.requireModel()
    if (!isPlainObject(answer)) throw malformed('answer')
    const outputs = decodeOutputs(answer.outputs, model.metadata().outputs)
    const records =
      ctx.route.kind === 'v1-explain'
        ? ((await ctx.records()) as Array<Record<string, unknown>>)
        : undefined
    const explanations = decodeExplanations(answer.explanations, records)
    const explanation: ExplanationResult = {
      model: model.name,
      ...(model.version !== undefined ? { version: model.version } : {}),
      method: explanations[0]!.method,
      cached: false,
      explanations,
    }
    ctx.facts.hybridRoute = { route: 'cloud', degraded: false }
    ctx.headers.set('x-modelgate-route', 'cloud')
    return { outputs, explanation }
  }

  const plugin: Plugin = async function forwardExplain(ctx, next) {
    if (ctx.route.kind === 'v2-explain' || ctx.route.kind === 'v1-explain')
      ctx.provideExplainer(explainInCloud)
    await next()
  }
  plugin.extensions = ['explain']
  return plugin
}

function malformed(what: string): BadGatewayError {
  return new BadGatewayError(`the cloud answered with a malformed ${what}`)
}

/** The cloud's V2 outputs as tensors: each a declared output of the model, as declared. */
function decodeOutputs(value: unknown, declared: TensorMetadata[]): Tensor[] {
  if (!Array.isArray(value) || value.length === 0) throw malformed('outputs list')
  const meta = value.map((o: unknown) => {
    const name = isPlainObject(o) ? o.name : undefined
    const known = declared.find((d) => d.name === name)
    if (!known) throw malformed('output')
    return known
  })
  try {
    return decodeInferRequest({ inputs: value }, { platform: '', inputs: meta, outputs: [] }).inputs
  } catch (error) {
    if (error instanceof GateError) throw malformed('output')
    throw error
  }
}

const numbers = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number')
const matrix = (v: unknown, rows: number, width: number): v is number[][] =>
  Array.isArray(v) && v.length === rows && v.every((r) => numbers(r) && r.length === width)

/**
 * The cloud's explanations, checked field by field and rebuilt from the known fields only (plots
 * and attributions are dropped: the edge's encoder makes its own). On a V1 route `data` holds the
 * edge's records (as the plugins inside left them), as a local explanation would.
 */
function decodeExplanations(
  value: unknown,
  records: Array<Record<string, unknown>> | undefined,
): OutputExplanation[] {
  if (!Array.isArray(value) || value.length === 0) throw malformed('explanations list')
  return value.map((e: unknown) => {
    if (!isPlainObject(e)) throw malformed('explanation')
    const names = e.feature_names
    const rows = Array.isArray(e.values) ? e.values.length : -1
    const width = Array.isArray(names) ? names.length : -1
    const additivity = e.additivity
    if (
      typeof e.output !== 'string' ||
      typeof e.method !== 'string' ||
      typeof e.link !== 'string' ||
      typeof e.base_value !== 'number' ||
      !numbers(e.base_values) ||
      e.base_values.length !== rows ||
      !Array.isArray(names) ||
      !names.every((n) => typeof n === 'string') ||
      !matrix(e.values, rows, width) ||
      !Array.isArray(e.data) ||
      !e.data.every((r) => Array.isArray(r)) ||
      !isPlainObject(additivity) ||
      typeof additivity.ok !== 'boolean' ||
      typeof additivity.max_relative_error !== 'number' ||
      typeof additivity.tolerance !== 'number' ||
      (e.output_index !== undefined && !Number.isSafeInteger(e.output_index)) ||
      (e.standard_errors !== undefined && !matrix(e.standard_errors, rows, width)) ||
      (e.completeness_error !== undefined && typeof e.completeness_error !== 'number') ||
      (records !== undefined && records.length !== rows)
    )
      throw malformed('explanation')
    const out: OutputExplanation = {
      output: e.output,
      ...(e.output_index !== undefined ? { output_index: e.output_index as number } : {}),
      method: e.method,
      link: e.link,
      base_value: e.base_value,
      base_values: e.base_values,
      values: e.values,
      feature_names: names as string[],
      data: records
        ? records.map((r) => (names as string[]).map((f) => r[f] ?? null))
        : (e.data as unknown[][]),
      additivity: {
        ok: additivity.ok,
        max_relative_error: additivity.max_relative_error,
        tolerance: additivity.tolerance,
      },
    }
    if (e.standard_errors !== undefined) out.standard_errors = e.standard_errors as number[][]
    if (e.completeness_error !== undefined) out.completeness_error = e.completeness_error as number
    return out
  })
}

async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel().catch(() => undefined)
    throw new Error('too large')
  }
  const buffer = new Uint8Array(await response.arrayBuffer())
  if (buffer.byteLength > maxBytes) throw new Error('too large')
  return buffer
}

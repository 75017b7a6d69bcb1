import {
  checkOptionKeys,
  GateError,
  type GateContext,
  type ModelBackend,
  type Plugin,
} from '@modelgate/core'
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import { PLUGIN_TIMER, SPAN_CONTEXT, type PluginTimer } from '../observe.js'
import type { TracingOptions } from '../types.js'

const TRACER = '@modelgate/audit'
const REQUEST_SPAN = Symbol('modelgate.tracing.requestSpan')
const OPTIONS = { tracer: true, principal: true } as const
const headerGetter = {
  keys: (h: Headers) => [...h.keys()],
  get: (h: Headers, key: string) => h.get(key) ?? undefined,
}

/**
 * One OpenTelemetry span per request (`modelgate <operation>`, kind SERVER), continuing a
 * `traceparent` from the client when a propagator is registered. Every request gets its span,
 * whatever the plugin order: the span is opened when the request reaches this plugin (so
 * plugins after it and the backend nest under it) and ended with the final answer
 * (`onResponse`); a request refused before it reached this plugin (by an outer plugin, or by
 * core: 400 `bad_path`, 404, 405, 413) gets a span from when the gate received it. Wrap later
 * plugins in {@link traced} for per-plugin child spans, and backends in {@link tracedBackend}.
 * Attributes: `http.request.method`, `url.path`, `modelgate.route`, `modelgate.request_id`,
 * `modelgate.operation`, `modelgate.model`, `modelgate.model_version`, `enduser.id`,
 * `modelgate.decision`, `modelgate.masked_entities`, `http.response.status_code`, `error.type`.
 * `url.path` goes through `ctx.redactText` (the masking plugin's text masking). Uses
 * `@opentelemetry/api` only: without a registered SDK, spans are no-ops.
 *
 * @example
 * ```ts
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: tracedBackend(backend, { model: 'credit' }) }],
 *   plugins: [tracing(), audit({ trail }), traced(authenticate(auth)), traced(authorize(policy))],
 * })
 * ```
 */
export const tracing = (options: TracingOptions = {}): Plugin => {
  const tracer = checkTracer(options, 'tracing')
  const withPrincipal = options.principal ?? true
  const start = (ctx: GateContext, startTime?: number) => {
    const parent = propagation.extract(context.active(), ctx.requestHeaders, headerGetter)
    const span = tracer.startSpan(
      `modelgate ${ctx.operation}`,
      {
        kind: SpanKind.SERVER,
        ...(startTime !== undefined ? { startTime } : {}),
        attributes: {
          'http.request.method': ctx.method,
          'url.path': redactedPath(ctx),
          'modelgate.route': ctx.route.kind,
          'modelgate.request_id': ctx.requestId,
          'modelgate.operation': ctx.operation,
          ...(ctx.model ? { 'modelgate.model': ctx.model.name } : {}),
          ...(ctx.model?.version ? { 'modelgate.model_version': ctx.model.version } : {}),
        },
      },
      parent,
    )
    ctx.state.set(REQUEST_SPAN, span)
    return { span, spanContext: trace.setSpan(parent, span) }
  }
  const plugin: Plugin = async function tracing(ctx, next) {
    const { spanContext } = start(ctx)
    ctx.state.set(SPAN_CONTEXT, spanContext)
    await context.with(spanContext, next)
  }
  plugin.onResponse = (ctx, outcome) => {
    const span =
      (ctx.state.get(REQUEST_SPAN) as Span | undefined) ?? start(ctx, ctx.receivedAt).span
    if (withPrincipal && ctx.principal) span.setAttribute('enduser.id', ctx.principal.id)
    if (ctx.decision) span.setAttribute('modelgate.decision', ctx.decision.allow ? 'allow' : 'deny')
    const masked = (ctx.facts as { masking?: unknown }).masking
    if (masked && typeof masked === 'object') {
      let total = 0
      for (const n of Object.values(masked)) if (typeof n === 'number') total += n
      span.setAttribute('modelgate.masked_entities', total)
    }
    span.setAttribute('http.response.status_code', outcome.status)
    if (outcome.error !== undefined) fail(span, outcome.error, outcome.cause, outcome.status)
    span.end()
  }
  return plugin
}

/**
 * Wraps a plugin so it gets its own child span (`plugin <name>`) and, with the `metrics` plugin
 * of `@modelgate/audit/node`, its self time in `plugin_duration_seconds` (time in the plugin
 * minus time in the plugins and model after it). The wrapper keeps the plugin's name,
 * extensions, routes, observer and `close`.
 *
 * @example
 * ```ts
 * plugins: [tracing(), audit({ trail }), traced(authenticate(auth)), traced(mask(maskOptions), { name: 'mask' })]
 * ```
 */
export function traced(plugin: Plugin, options: TracingOptions & { name?: string } = {}): Plugin {
  if (typeof plugin !== 'function') throw new TypeError('traced: plugin must be a function')
  const name = options.name ?? (plugin.name || 'plugin')
  const tracer = checkTracer(options, 'traced')
  const wrapper = async function traced(ctx: GateContext, next: () => Promise<void>) {
    const parent = (ctx.state.get(SPAN_CONTEXT) as Context | undefined) ?? context.active()
    const span = tracer.startSpan(
      `plugin ${name}`,
      { attributes: { 'modelgate.plugin': name } },
      parent,
    )
    const own = trace.setSpan(parent, span)
    const start = performance.now()
    let inner = 0
    let failed = false
    ctx.state.set(SPAN_CONTEXT, own)
    try {
      await context.with(own, () =>
        plugin(ctx, async () => {
          const t = performance.now()
          try {
            await next()
          } finally {
            inner += performance.now() - t
            ctx.state.set(SPAN_CONTEXT, own)
          }
        }),
      )
    } catch (error) {
      failed = true
      fail(span, codeOf(error), error, error instanceof GateError ? error.status : 500)
      throw error
    } finally {
      ctx.state.set(SPAN_CONTEXT, parent)
      span.end()
      const timer = ctx.state.get(PLUGIN_TIMER) as PluginTimer | undefined
      timer?.(name, Math.max(0, performance.now() - start - inner) / 1000, failed)
    }
  }
  Object.defineProperty(wrapper, 'name', { value: name })
  const { extensions, routes, onResponse, close } = plugin
  return Object.assign(wrapper, {
    ...(extensions ? { extensions } : {}),
    ...(routes ? { routes } : {}),
    ...(onResponse ? { onResponse } : {}),
    ...(close ? { close } : {}),
  })
}

/**
 * Wraps a backend so every `infer` and `gradients` call is a span (`backend infer`, kind
 * CLIENT) with `modelgate.model`, `modelgate.rows` and `modelgate.inputs`. Spans nest under the
 * request span when a context manager is registered (the OpenTelemetry Node SDK registers
 * AsyncLocalStorage); with micro-batching, one call serves several requests and nests under the
 * first.
 *
 * @example
 * ```ts
 * const models = [{ name: 'credit', backend: tracedBackend(createOnnxBackend({ path }), { model: 'credit' }) }]
 * ```
 */
export function tracedBackend(
  backend: ModelBackend,
  options: TracingOptions & { model?: string } = {},
): ModelBackend {
  if (!backend || typeof backend.infer !== 'function')
    throw new TypeError('tracedBackend: backend must implement infer()')
  const tracer = checkTracer(options, 'tracedBackend')
  const run = <T>(
    op: string,
    inputs: Parameters<ModelBackend['infer']>[0],
    call: () => Promise<T>,
  ): Promise<T> =>
    tracer.startActiveSpan(
      `backend ${op}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          ...(options.model ? { 'modelgate.model': options.model } : {}),
          'modelgate.inputs': inputs.length,
          ...(inputs[0]?.shape.length ? { 'modelgate.rows': inputs[0].shape[0]! } : {}),
        },
      },
      async (span: Span) => {
        try {
          return await call()
        } catch (error) {
          fail(span, codeOf(error), error, 500)
          throw error
        } finally {
          span.end()
        }
      },
    )
  const wrapped: ModelBackend = {
    metadata: () => backend.metadata(),
    ready: () => backend.ready(),
    infer: (inputs, inferOptions) =>
      run('infer', inputs, () => backend.infer(inputs, inferOptions)),
  }
  if (backend.load) wrapped.load = () => backend.load!()
  if (backend.close) wrapped.close = () => backend.close!()
  if (backend.gradients) {
    wrapped.gradients = (inputs, gradientOptions) =>
      run('gradients', inputs, () => backend.gradients!(inputs, gradientOptions))
  }
  return wrapped
}

function checkTracer(
  options: TracingOptions & { name?: string; model?: string },
  who: string,
): Tracer {
  if (!options || typeof options !== 'object')
    throw new TypeError(`${who}: options must be an object`)
  checkOptionKeys(who, options, {
    ...OPTIONS,
    ...(who === 'traced' ? { name: true } : who === 'tracedBackend' ? { model: true } : {}),
  })
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new TypeError(`${who}: tracer must be an OpenTelemetry Tracer`)
  }
  if (options.principal !== undefined && typeof options.principal !== 'boolean')
    throw new TypeError(`${who}: principal must be a boolean`)
  return options.tracer ?? trace.getTracer(TRACER)
}

function redactedPath(ctx: GateContext): string {
  try {
    return ctx.redactText(ctx.url.pathname).slice(0, 256)
  } catch {
    return '[redaction failed]'
  }
}

function codeOf(error: unknown): string {
  return error instanceof GateError ? error.code : 'internal'
}

function fail(span: Span, code: string, error: unknown, status: number): void {
  span.setAttribute('error.type', code)
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: code })
    if (!(error instanceof GateError) && error instanceof Error)
      span.recordException({ name: error.name, message: 'internal error' })
  }
}

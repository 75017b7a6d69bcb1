import { GateError, type GateContext, type ModelBackend, type Plugin } from '@modelgate/core'
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
const headerGetter = {
  keys: (h: Headers) => [...h.keys()],
  get: (h: Headers, key: string) => h.get(key) ?? undefined,
}

/**
 * One OpenTelemetry span per request (`modelgate <operation>`, kind SERVER), continuing a
 * `traceparent` from the client when a propagator is registered. Put it first; wrap later
 * plugins in {@link traced} for per-plugin child spans, and backends in {@link tracedBackend}.
 * Attributes: `http.request.method`, `url.path`, `modelgate.route`, `modelgate.request_id`,
 * `modelgate.operation`, `modelgate.model`, `modelgate.model_version`, `enduser.id`,
 * `modelgate.decision`, `modelgate.masked_entities`, `http.response.status_code`, `error.type`.
 * Uses `@opentelemetry/api` only: without a registered SDK, spans are no-ops.
 *
 * @example
 * ```ts
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: tracedBackend(backend, { model: 'credit' }) }],
 *   plugins: [tracing(), metrics(), audit({ trail }), traced(authenticate(auth)), traced(authorize(policy))],
 * })
 * ```
 */
export const tracing = (options: TracingOptions = {}): Plugin => {
  const tracer = checkTracer(options, 'tracing')
  const withPrincipal = options.principal ?? true
  return async function tracing(ctx, next) {
    const parent = propagation.extract(context.active(), ctx.request.headers, headerGetter)
    const span = tracer.startSpan(
      `modelgate ${ctx.operation}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': ctx.request.method,
          'url.path': ctx.url.pathname,
          'modelgate.route': ctx.route.kind,
          'modelgate.request_id': ctx.requestId,
          'modelgate.operation': ctx.operation,
          ...(ctx.model ? { 'modelgate.model': ctx.model.name } : {}),
          ...(ctx.model?.version ? { 'modelgate.model_version': ctx.model.version } : {}),
        },
      },
      parent,
    )
    const spanContext = trace.setSpan(parent, span)
    ctx.state.set(SPAN_CONTEXT, spanContext)
    let status = 200
    try {
      await context.with(spanContext, next)
      status = ctx.status
    } catch (error) {
      status = error instanceof GateError ? error.status : 500
      fail(span, error, status)
      throw error
    } finally {
      if (withPrincipal && ctx.principal) span.setAttribute('enduser.id', ctx.principal.id)
      const decision = ctx.decision ?? (ctx.audit.decision as { allow?: unknown } | undefined)
      if (decision && typeof decision.allow === 'boolean')
        span.setAttribute('modelgate.decision', decision.allow ? 'allow' : 'deny')
      const masked = ctx.audit.masking
      if (masked && typeof masked === 'object') {
        span.setAttribute(
          'modelgate.masked_entities',
          Object.values(masked).reduce((a: number, n) => a + (typeof n === 'number' ? n : 0), 0),
        )
      }
      span.setAttribute('http.response.status_code', status)
      span.end()
    }
  }
}

/**
 * Wraps a plugin so it gets its own child span (`plugin <name>`) and, under a {@link metrics}
 * plugin, its self time in `plugin_duration_seconds` (time in the plugin minus time in the
 * plugins and model after it).
 *
 * @example
 * ```ts
 * plugins: [tracing(), metrics(), audit({ trail }), traced(authenticate(auth)), traced(mask(maskOptions), { name: 'mask' })]
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
      fail(span, error, error instanceof GateError ? error.status : 500)
      throw error
    } finally {
      ctx.state.set(SPAN_CONTEXT, parent)
      span.end()
      const timer = ctx.state.get(PLUGIN_TIMER) as PluginTimer | undefined
      timer?.(name, Math.max(0, performance.now() - start - inner) / 1000, failed)
    }
  }
  Object.defineProperty(wrapper, 'name', { value: name })
  return Object.assign(wrapper, plugin.extensions ? { extensions: plugin.extensions } : {})
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
          fail(span, error, 500)
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

function checkTracer(options: TracingOptions, who: string): Tracer {
  if (!options || typeof options !== 'object')
    throw new TypeError(`${who}: options must be an object`)
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new TypeError(`${who}: tracer must be an OpenTelemetry Tracer`)
  }
  return options.tracer ?? trace.getTracer(TRACER)
}

function fail(span: Span, error: unknown, status: number): void {
  const code = error instanceof GateError ? error.code : 'internal'
  span.setAttribute('error.type', code)
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: code })
    if (!(error instanceof GateError) && error instanceof Error)
      span.recordException({ name: error.name, message: 'internal error' })
  }
}

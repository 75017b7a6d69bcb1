import { compose } from './compose.js'
import { GateContext, type EncodedAnswer } from './context.js'
import { encodeModelAnswer } from './encode.js'
import {
  errorReply,
  GateError,
  MethodNotAllowedError,
  NotFoundError,
  NotReadyError,
  replyToResponse,
} from './errors.js'
import { encodeModelMetadata } from './oip.js'
import { ModelRegistry } from './registry.js'
import { createRouter, type RouteMatch } from './router.js'
import { pushSourceFor, pushStream } from './push.js'
import type {
  ExplainerResult,
  GateLimits,
  GateOptions,
  GateOutcome,
  GateReply,
  IncomingRequest,
  Operation,
  Plugin,
  RouteDefinition,
} from './types.js'

/**
 * Default request limits: 10 MiB bodies, 64 levels of JSON nesting, 16M tensor elements,
 * 100k records.
 *
 * @example
 * ```ts
 * createGate({ models, limits: { ...DEFAULT_LIMITS, maxBodyBytes: 1 << 20 } })
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Required<GateLimits>> = Object.freeze({
  maxBodyBytes: 10 * 1024 * 1024,
  maxJsonDepth: 64,
  maxTensorElements: 1 << 24,
  maxRecords: 100_000,
})

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const encoder = new TextEncoder()

/**
 * A route served for one request only: a handler of your own (an Express route wrapped by
 * `protect()`) with the whole plugin onion around it. `body` declares what its JSON bodies hold,
 * for masking.
 *
 * @example
 * ```ts
 * await gate.handleRoute(request, {
 *   name: 'protect:/score',
 *   operation: 'predict',
 *   model: 'credit',
 *   body: { records: '', schema: 'credit' },
 *   terminal: async (ctx) => {
 *     ctx.body = { ok: true }
 *   },
 * })
 * ```
 */
export interface HandlerRoute {
  name: string
  operation: Operation
  /** A registered model this handler stands for, so policies and masking can name it. */
  model?: string
  body?: RouteDefinition['body']
  terminal: RouteDefinition['terminal']
}

/**
 * What Workers, Deno and Bun pass as the third argument of a fetch handler.
 *
 * @example
 * ```ts
 * export default { fetch: (req: Request, env: unknown, ctx: ExecutionContextLike) => gate.fetch(req, env, ctx) }
 * ```
 */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void
}

/**
 * A running gate: a Web-standard fetch handler plus lifecycle.
 *
 * @example
 * ```ts
 * const gate = createGate({ models: [{ name: 'm', backend }] })
 * await gate.ready()
 * const res = await gate.fetch(new Request('http://gate/v2/health/ready'))
 * ```
 */
export interface Gate {
  /**
   * The fetch handler, with exactly the signature Workers, Deno and Bun call: a module may
   * `export default { fetch: gate.fetch }`.
   */
  fetch(request: Request, env?: unknown, executionContext?: ExecutionContextLike): Promise<Response>
  /**
   * Like `fetch`, but takes a Node adapter's {@link IncomingRequest} as well and answers a
   * {@link GateReply} that Node adapters write without Web streams.
   */
  handle(
    request: Request | IncomingRequest,
    env?: unknown,
    executionContext?: ExecutionContextLike,
  ): Promise<GateReply>
  /** Runs the plugins around a handler of your own instead of a gate route (`protect()`). */
  handleRoute(request: Request | IncomingRequest, route: HandlerRoute): Promise<GateReply>
  /** Resolves once every model is loaded; rejects when one fails to load. */
  ready(): Promise<void>
  /** Closes every plugin (worker pools, timers, sinks) and every backend. */
  close(): Promise<void>
  readonly models: ModelRegistry
  readonly plugins: readonly Plugin[]
}

/**
 * Builds a gate from a model registry, an ordered list of plugins (outermost first) and routes.
 * Every route (the protocol routes of DESIGN §2, routes plugins contribute, `handleRoute`
 * handlers) runs the whole plugin onion with its terminal at the centre. The answer is encoded
 * once, after every plugin has run: model routes from `ctx.outputs` and `ctx.explanation` (one V1
 * and one V2 encoder), other routes from `ctx.body`; then `seal` and `sign` stages run over the
 * bytes, and every `onResponse` observer sees the final answer. Errors leave as
 * `{"error": "...", "code": "..."}` JSON with the right status, never HTML or a stack.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createOnnxBackend } from '@modelgate/backend-onnx'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: createOnnxBackend({ path: 'credit.onnx' }) }],
 *   plugins: [],
 * })
 * export default { fetch: gate.fetch }
 * ```
 */
export function createGate(options: GateOptions): Gate {
  if (!options || typeof options !== 'object')
    throw new TypeError('createGate needs an options object')
  const plugins = [...(options.plugins ?? [])]
  if (!Array.isArray(options.models)) throw new TypeError('"models" must be an array')
  const registry = new ModelRegistry([
    ...options.models,
    ...plugins.flatMap((p) => p?.models ?? []),
  ])
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new TypeError(`limits.${k} must be a positive integer`)
  }
  const serverName = options.name ?? 'modelgate'
  const requestIdHeader = (options.requestIdHeader ?? 'x-request-id').toLowerCase()
  const extensions = [...new Set(plugins.flatMap((p) => p.extensions ?? []))].sort()
  const onError = options.onError ?? (() => undefined)
  const observers = plugins.filter((p) => typeof p.onResponse === 'function')
  const preparers = plugins.filter((p) => typeof p.onRequest === 'function')
  const match = createRouter([...(options.routes ?? []), ...plugins.flatMap((p) => p.routes ?? [])])

  const loading = Promise.allSettled(registry.all().map((h) => h.load()))
  const readyPromise = loading.then((results) => {
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  })
  readyPromise.catch(() => undefined)

  const run = compose(plugins, async (ctx) => {
    const matched = ctx.state.get(MATCH) as RouteMatch
    if (matched.route.kind !== 'unknown' && !matched.methods.includes(ctx.method))
      throw new MethodNotAllowedError([...matched.methods])
    for (const check of ctx.checks) await check()
    if (ctx.sealRequired && ctx.answerHooks.seal.length === 0)
      throw new GateError('response_unsealed', 500, 'this gate cannot encrypt its answer')
    await (matched.terminal ?? serveRoute)(ctx)
  })

  async function serveRoute(ctx: GateContext): Promise<void> {
    switch (ctx.route.kind) {
      case 'health-live':
        ctx.body = { live: true }
        return
      case 'health-ready': {
        const ready = await allReady()
        ctx.status = ready ? 200 : 503
        ctx.body = ready ? { ready: true } : { ready: false, error: 'not ready' }
        return
      }
      case 'server-metadata':
        ctx.body = { name: serverName, version: '0.1.0', extensions }
        return
      case 'model-metadata': {
        const model = ctx.requireModel()
        ctx.body = encodeModelMetadata(model.name, registry.versions(model.name), model.metadata())
        return
      }
      case 'model-ready':
      case 'v1-status': {
        const model = ctx.requireModel()
        const ready = await model.isReady()
        ctx.status = ready ? 200 : 503
        ctx.body = { name: model.name, ready, ...(ready ? {} : { error: 'not ready' }) }
        return
      }
      case 'v2-infer':
      case 'v1-predict':
        return predict(ctx)
      case 'v2-explain':
      case 'v1-explain':
        return explain(ctx)
      default:
        throw new NotFoundError('no such route')
    }
  }

  async function readyModel(ctx: GateContext) {
    const model = ctx.requireModel()
    if (!(await model.isReady())) throw new NotReadyError(`model "${model.name}" is not ready`)
    return model
  }

  async function predict(ctx: GateContext): Promise<void> {
    await readyModel(ctx)
    const request = await ctx.inferRequest()
    const wanted = request.outputs?.map((o) => o.name)
    ctx.outputs = await ctx.runModel(request.inputs, {
      ...(wanted ? { outputs: wanted } : {}),
      ...(request.parameters ? { parameters: request.parameters } : {}),
    })
    ctx.answeredRequest = request
  }

  async function explain(ctx: GateContext): Promise<void> {
    if (ctx.explainers.length === 0)
      throw new NotFoundError(
        'the explain extension is not enabled on this gate',
        'extension_disabled',
      )
    await readyModel(ctx)
    const request = await ctx.inferRequest()
    const call = (i: number): Promise<ExplainerResult> =>
      ctx.explainers[i]!(
        ctx,
        request,
        i + 1 < ctx.explainers.length ? () => call(i + 1) : undefined,
      )
    const { outputs, explanation } = await call(0)
    ctx.outputs = outputs
    ctx.explanation = explanation
    ctx.answeredRequest = request
  }

  async function allReady(): Promise<boolean> {
    const states = await Promise.all(registry.all().map((h) => h.isReady()))
    return states.every(Boolean)
  }

  function newContext(
    request: Request | IncomingRequest,
    matchFor: (url: URL) => RouteMatch,
    env: unknown,
    executionContext: ExecutionContextLike | undefined,
  ): { ctx: GateContext; refusal: unknown } {
    let refusal: unknown = request instanceof Request ? undefined : request.refusal
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      url = new URL('http://invalid/')
      refusal ??= new GateError('bad_path', 400, 'invalid request target')
    }
    const matched: RouteMatch = refusal
      ? { route: { kind: 'unknown' }, operation: 'custom', methods: [] }
      : matchFor(url)
    const { route } = matched
    const model = route.model === undefined ? undefined : registry.find(route.model, route.version)
    const ctx: GateContext = new GateContext({
      request,
      url,
      route,
      operation: matched.operation,
      requestId: crypto.randomUUID(),
      limits,
      model,
      findModel: (name, version) => registry.find(name, version),
      env,
      waitUntil: executionContext ? (p) => executionContext.waitUntil(p) : undefined,
      onBackendError: (error) => onError(error, ctx),
    })
    ctx.state.set(MATCH, matched)
    const clientId = ctx.requestHeaders.get(requestIdHeader)
    if (clientId !== null && CLIENT_REQUEST_ID.test(clientId)) ctx.facts.clientRequestId = clientId
    if (refusal instanceof GateError) ctx.facts.refused = refusal.code
    return { ctx, refusal }
  }

  async function serve(
    request: Request | IncomingRequest,
    matchFor: (url: URL) => RouteMatch,
    env?: unknown,
    executionContext?: ExecutionContextLike,
  ): Promise<GateReply> {
    const started = performance.now()
    const { ctx, refusal } = newContext(request, matchFor, env, executionContext)
    let failure: unknown
    let answer: EncodedAnswer
    try {
      for (const p of preparers) p.onRequest!(ctx)
      if (refusal) throw refusal
      await run(ctx)
      answer = encodeAnswer(ctx)
      for (const hook of ctx.answerHooks.seal) await hook(answer, ctx)
      if (ctx.sealRequired && !answer.sealed)
        throw new GateError('response_unsealed', 500, 'this gate cannot encrypt its answer')
    } catch (error) {
      failure = error
      if (!(error instanceof GateError)) onError(error, ctx)
      answer = errorAnswer(ctx, error)
    }
    if (answer.body instanceof ReadableStream && observers.length > 0) {
      // A streamed answer is observed when it ends, so facts learned while streaming (token
      // usage) reach the audit record; it can no longer be replaced then.
      answer = await signed(ctx, answer)
      if (answer.body instanceof ReadableStream) {
        answer.body = observedStream(answer.body, async (end) => {
          const outcome: GateOutcome = {
            status: answer.status,
            latencyMs: performance.now() - started,
            ...(end ? { error: end.code, cause: end.cause } : {}),
          }
          await observe(ctx, outcome, (error) => onError(error, ctx))
        })
        return finish(ctx, answer)
      }
    }
    const outcome: GateOutcome = {
      status: answer.status,
      latencyMs: performance.now() - started,
      ...(answer.error !== undefined ? { error: answer.error, cause: failure } : {}),
    }
    await observe(ctx, outcome, (error) => (answer = errorAnswer(ctx, error)))
    return finish(ctx, await signed(ctx, answer))
  }

  /** The answer after every sign stage; a failing stage turns it into an error answer. */
  async function signed(ctx: GateContext, answer: EncodedAnswer): Promise<EncodedAnswer> {
    try {
      for (const hook of ctx.answerHooks.sign) await hook(answer, ctx)
      return answer
    } catch (error) {
      onError(error, ctx)
      return errorAnswer(ctx, error)
    }
  }

  /** Runs every observer; a GateError one throws goes to `replace`, anything else to onError. */
  async function observe(
    ctx: GateContext,
    outcome: GateOutcome,
    replace: (error: GateError) => void,
  ): Promise<void> {
    for (const observer of observers) {
      try {
        await observer.onResponse!(ctx, outcome)
      } catch (error) {
        if (error instanceof GateError) replace(error)
        else onError(error, ctx)
      }
    }
  }

  const matchUrl = (url: URL) => match(url.pathname)
  const handle: Gate['handle'] = (request, env, executionContext) =>
    serve(request, matchUrl, env, executionContext)

  return {
    fetch: async (request, env, executionContext) =>
      replyToResponse(await serve(request, matchUrl, env, executionContext)),
    handle,
    handleRoute(request, route) {
      if (!route || typeof route.terminal !== 'function')
        throw new TypeError('handleRoute needs a route with a terminal function')
      const matched: RouteMatch = {
        route: {
          kind: 'custom',
          name: route.name,
          ...(route.model !== undefined ? { model: route.model } : {}),
          ...(route.body ? { body: route.body } : {}),
        },
        operation: route.operation,
        methods: [request.method],
        terminal: route.terminal,
      }
      return serve(request, () => matched)
    },
    ready: () => readyPromise,
    async close() {
      await Promise.allSettled(plugins.map((p) => p.close?.()))
      await Promise.allSettled(registry.all().map((h) => h.entry.backend.close?.()))
    },
    models: registry,
    plugins,
  }
}

const MATCH = Symbol('modelgate.routeMatch')

/**
 * The same stream, calling `ended` once when it finishes (nothing), fails (`stream_failed`) or the
 * client cancels it (`client_closed`).
 */
function observedStream(
  body: ReadableStream<Uint8Array>,
  ended: (end: { code: string; cause: unknown } | undefined) => Promise<void>,
): ReadableStream<Uint8Array> {
  let called = false
  const end = (code?: string, cause?: unknown): Promise<void> => {
    if (called) return Promise.resolve()
    called = true
    return ended(code ? { code, cause } : undefined).catch(() => undefined)
  }
  // A push source, so a reader that takes the source (the Node adapter) gets the body's own.
  return pushStream((sink) => {
    const control = pushSourceFor(body)({
      write: (chunk) => sink.write(chunk),
      close: () => void end().then(() => sink.close()),
      error: (error) => void end('stream_failed', error).then(() => sink.error(error)),
    })
    return {
      resume: () => control.resume(),
      cancel(reason) {
        // The body's own end first (a relay settles its facts), then the observers.
        Promise.resolve(control.cancel(reason)).catch(() => undefined)
        return end('client_closed', reason)
      },
    }
  })
}

/** The answer as bytes: model routes through the protocol encoders, others from `ctx.body`. */
function encodeAnswer(ctx: GateContext): EncodedAnswer {
  const headers = ctx.headers
  let body = ctx.body
  if (body === undefined && ctx.outputs && ctx.model) {
    body = encodeModelAnswer({
      kind: ctx.route.kind,
      model: ctx.model,
      outputs: ctx.outputs,
      request: ctx.answeredRequest,
      explanation: ctx.explanation,
    })
  }
  let bytes: Uint8Array | ReadableStream<Uint8Array>
  if (body instanceof Uint8Array || body instanceof ReadableStream) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/octet-stream')
    bytes = body
  } else if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8')
    bytes = encoder.encode(body)
  } else {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    bytes = encoder.encode(JSON.stringify(body ?? null))
  }
  return { status: ctx.status, headers, body: bytes, sealed: false }
}

function errorAnswer(ctx: GateContext, error: unknown): EncodedAnswer {
  // Error messages may quote what the client sent (a field name, a value): they leave through
  // the same masking function as audit records.
  let redacted = error
  if (error instanceof GateError) {
    const message = ctx.redactText(error.message)
    if (message !== error.message)
      redacted = new GateError(error.code, error.status, message, error.headers)
  }
  const reply = errorReply(redacted)
  // Headers plugins set for every answer (rate-limit state, tracing) survive an error; the
  // body's own headers do not.
  for (const [k, v] of ctx.headers) {
    if (
      !reply.headers.has(k) &&
      k !== 'content-type' &&
      k !== 'content-length' &&
      k !== 'content-encoding'
    )
      reply.headers.set(k, v)
  }
  const code = error instanceof GateError ? error.code : 'internal'
  return {
    status: reply.status,
    headers: reply.headers,
    body: reply.body as Uint8Array,
    sealed: false,
    error: code,
  }
}

function finish(ctx: GateContext, answer: EncodedAnswer): GateReply {
  answer.headers.set('x-request-id', ctx.requestId)
  if (ctx.facts.clientRequestId)
    answer.headers.set('x-client-request-id', ctx.facts.clientRequestId)
  const empty = ctx.method === 'HEAD' || answer.status === 204 || answer.status === 304
  return { status: answer.status, headers: answer.headers, body: empty ? null : answer.body }
}

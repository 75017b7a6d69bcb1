import { compose } from './compose.js'
import { GateContext } from './context.js'
import {
  errorReply,
  GateError,
  MethodNotAllowedError,
  NotFoundError,
  NotReadyError,
  replyToResponse,
} from './errors.js'
import { encodeInferResponse, encodeModelMetadata } from './oip.js'
import { ModelRegistry, type ModelHandle } from './registry.js'
import { matchRoute } from './router.js'
import type { GateLimits, GateOptions, GateReply, Operation, Plugin, Tensor } from './types.js'

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

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Options of one {@link Gate.fetch} call that runs the plugins around a handler of your own
 * instead of a protocol route (used by `protect()` in the Express adapter).
 *
 * @example
 * ```ts
 * await gate.fetch(request, { operation: 'predict', handler: async (ctx) => { ctx.body = { ok: true } } })
 * ```
 */
export interface CustomHandlerOptions {
  handler: (ctx: GateContext) => Promise<void>
  operation?: Operation
  /** A registered model this handler stands for, so policies can name it. */
  model?: string
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
  fetch(request: Request, custom?: CustomHandlerOptions): Promise<Response>
  /** Like `fetch`, but answers a {@link GateReply} that Node adapters write without Web streams. */
  handle(request: Request, custom?: CustomHandlerOptions): Promise<GateReply>
  /** Resolves once every model is loaded; rejects when one fails to load. */
  ready(): Promise<void>
  /** Closes every backend. */
  close(): Promise<void>
  readonly models: ModelRegistry
  readonly plugins: readonly Plugin[]
}

/**
 * Builds a gate from a model registry and an ordered list of plugins (outermost first). The gate
 * serves the routes of DESIGN §2, runs every request through the plugins, never lets an error
 * out as anything but `{"error": "..."}` JSON with the right status, and starts loading every
 * model at once.
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
  const registry = new ModelRegistry(options.models)
  const plugins = [...(options.plugins ?? [])]
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new TypeError(`limits.${k} must be a positive integer`)
  }
  const serverName = options.name ?? 'modelgate'
  const requestIdHeader = (options.requestIdHeader ?? 'x-request-id').toLowerCase()
  const extensions = [...new Set(plugins.flatMap((p) => p.extensions ?? []))].sort()
  const onError = options.onError ?? (() => undefined)

  const loading = Promise.allSettled(registry.all().map((h) => h.load()))
  const readyPromise = loading.then((results) => {
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
  })
  readyPromise.catch(() => undefined)

  const run = compose(plugins, (ctx) => serveRoute(ctx))
  const runCustom = (handler: CustomHandlerOptions['handler']) => compose(plugins, handler)

  async function serveRoute(ctx: GateContext): Promise<void> {
    const { kind } = ctx.route
    switch (kind) {
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
        throw new NotFoundError(
          'the explain extension is not enabled on this gate',
          'extension_disabled',
        )
      default:
        throw new NotFoundError('no such route')
    }
  }

  async function predict(ctx: GateContext): Promise<void> {
    const model = ctx.requireModel()
    if (!(await model.isReady())) throw new NotReadyError(`model "${model.name}" is not ready`)
    const request = await ctx.inferRequest()
    const wanted = request.outputs?.map((o) => o.name)
    const outputs = await ctx.runModel(request.inputs, {
      ...(wanted ? { outputs: wanted } : {}),
      ...(request.parameters ? { parameters: request.parameters } : {}),
    })
    ctx.outputs = outputs
    if (ctx.route.kind === 'v1-predict') {
      ctx.body = { predictions: toPredictions(model, outputs) }
      return
    }
    ctx.body = encodeInferResponse({
      modelName: model.name,
      ...(model.version !== undefined ? { modelVersion: model.version } : {}),
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs,
      ...(request.outputs ? { requested: request.outputs } : {}),
    })
  }

  async function allReady(): Promise<boolean> {
    const states = await Promise.all(registry.all().map((h) => h.isReady()))
    return states.every(Boolean)
  }

  async function handle(request: Request, custom?: CustomHandlerOptions): Promise<GateReply> {
    const headerId = request.headers.get(requestIdHeader)
    const requestId =
      headerId !== null && REQUEST_ID.test(headerId) ? headerId : crypto.randomUUID()
    let ctx: GateContext | undefined
    try {
      const url = new URL(request.url)
      const matched = custom
        ? {
            route: { kind: 'custom' as const, ...(custom.model ? { model: custom.model } : {}) },
            operation: custom.operation ?? 'predict',
            methods: [request.method],
          }
        : matchRoute(url.pathname)
      const { route } = matched
      const model =
        route.model === undefined ? undefined : registry.find(route.model, route.version)
      ctx = new GateContext({
        request,
        url,
        route,
        operation: matched.operation,
        requestId,
        limits,
        model,
        onBackendError: (error) => onError(error, ctx!),
      })
      if (route.kind !== 'unknown' && !matched.methods.includes(request.method)) {
        throw new MethodNotAllowedError([...matched.methods])
      }
      await (custom ? runCustom(custom.handler) : run)(ctx)
      return ctx.toReply()
    } catch (error) {
      if (!(error instanceof GateError) && ctx) onError(error, ctx)
      const reply = errorReply(error, requestId)
      if (ctx) {
        for (const [k, v] of ctx.headers) {
          if (!reply.headers.has(k) && k !== 'content-type' && k !== 'content-length')
            reply.headers.set(k, v)
        }
      }
      return reply
    }
  }

  return {
    fetch: async (request, custom) => replyToResponse(await handle(request, custom)),
    handle,
    ready: () => readyPromise,
    async close() {
      await Promise.allSettled(registry.all().map((h) => h.entry.backend.close?.()))
    },
    models: registry,
    plugins,
  }
}

type JsonValue = number | string | boolean | JsonValue[] | { [k: string]: JsonValue }

function rowValue(t: Tensor, row: number): JsonValue {
  const inner = t.shape.slice(1)
  const width = inner.reduce((a, b) => a * b, 1)
  const flat: JsonValue[] = []
  for (let i = row * width; i < (row + 1) * width; i++) {
    const v = t.data[i]!
    flat.push(
      typeof v === 'bigint' ? Number(v) : t.datatype === 'BOOL' ? v !== 0 : (v as number | string),
    )
  }
  if (inner.length === 0 || width === 1) return flat[0]!
  return nest(flat, inner)
}

function nest(flat: JsonValue[], shape: number[]): JsonValue[] {
  if (shape.length <= 1) return flat
  const step = flat.length / shape[0]!
  const out: JsonValue[] = []
  for (let i = 0; i < shape[0]!; i++)
    out.push(nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)))
  return out
}

function toPredictions(model: ModelHandle, outputs: Tensor[]): JsonValue[] {
  const rows = outputs[0]?.shape[0] ?? 0
  const names = model.schema?.definition.outputNames
  const predictions: JsonValue[] = []
  for (let r = 0; r < rows; r++) {
    if (outputs.length === 1 && !names?.[outputs[0]!.name]) {
      predictions.push(rowValue(outputs[0]!, r))
      continue
    }
    const record: Record<string, JsonValue> = {}
    for (const t of outputs) {
      const value = rowValue(t, r)
      const columns = names?.[t.name]
      if (columns && Array.isArray(value) && columns.length === value.length) {
        columns.forEach((c, i) => (record[c] = value[i]!))
      } else if (columns && columns.length === 1 && !Array.isArray(value)) {
        record[columns[0]!] = value
      } else {
        record[t.name] = value
      }
    }
    predictions.push(record)
  }
  return predictions
}

import {
  BadGatewayError,
  GateError,
  NotReadyError,
  isPlainObject,
  parseJsonSafe,
} from '@modelgate/core'
import type { GateContext, Plugin } from '@modelgate/core'
import { breakerFrom } from '../breaker.js'
import type { ForwardExplainOptions, OutboundPayload } from '../types.js'

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_MAX_RESPONSE = 16 * 1024 * 1024

/**
 * Sends explanation requests (`POST /v2/models/{m}/explain` and `/v1/models/{m}:explain`) to the
 * cloud gate, which has the explainers, the background data and the time; every other request
 * passes on. Put it after authentication, authorization and masking: it forwards the body as
 * those plugins left it, through `transformOutbound` and the given `fetch`. The cloud's answer
 * (status and JSON body) is returned as it came, with `x-modelgate-route: cloud`.
 *
 * When the cloud is unreachable, times out, answers 5xx or its breaker is open, the request gets
 * 503 `cloud_unavailable` (or, with `fallback: 'next'`, the rest of the chain answers it). The
 * plugin adds `explain` to the gate's extensions.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createCircuitBreaker, createHybridBackend, forwardExplain } from '@modelgate/hybrid'
 *
 * const breaker = createCircuitBreaker()
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: createHybridBackend({ local, remote, breaker }) }],
 *   plugins: [forwardExplain({ url: 'http://cloud.internal:8080', breaker })],
 * })
 * ```
 */
export const forwardExplain = (options: ForwardExplainOptions): Plugin => {
  if (!options || typeof options.url !== 'string')
    throw new TypeError('forwardExplain needs a "url"')
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
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  const breaker = breakerFrom(options.breaker)
  const fallback = options.fallback ?? 'error'

  async function body(ctx: GateContext): Promise<unknown> {
    const json = await ctx.json()
    if (!options.transformOutbound) return json
    let payload: OutboundPayload
    if (ctx.route.kind === 'v1-explain') {
      const instances = await ctx.records()
      const parameters =
        isPlainObject(json) && isPlainObject(json.parameters) ? json.parameters : undefined
      payload = {
        kind: 'records',
        instances,
        ...(parameters ? { parameters: parameters as never } : {}),
      }
    } else {
      payload = { kind: 'json', body: json }
    }
    const out = await options.transformOutbound(payload)
    if (out.kind !== payload.kind) throw new TypeError('transformOutbound changed the payload kind')
    if (out.kind === 'json') return out.body
    if (out.kind === 'records') {
      return {
        ...(isPlainObject(json) ? json : {}),
        instances: out.instances,
        ...(out.parameters ? { parameters: out.parameters } : {}),
      }
    }
    return json
  }

  const plugin = async function forwardExplain(
    ctx: GateContext,
    next: () => Promise<void>,
  ): Promise<void> {
    const kind = ctx.route.kind
    if (kind !== 'v2-explain' && kind !== 'v1-explain') return next()
    const model = ctx.requireModel()
    const name = encodeURIComponent(options.model ?? model.name)
    const path = kind === 'v1-explain' ? `/v1/models/${name}:explain` : `/v2/models/${name}/explain`
    const payload = JSON.stringify(await body(ctx))
    if (!breaker.allow()) {
      if (fallback === 'next') return next()
      throw new NotReadyError('the cloud is unavailable', 'cloud_unavailable', {
        'retry-after': '1',
      })
    }
    let response: Response
    let bytes: Uint8Array
    const signal = AbortSignal.any([ctx.request.signal, AbortSignal.timeout(timeoutMs)])
    try {
      response = await doFetch(prefix + path, {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
          'x-request-id': ctx.requestId,
        },
        body: payload,
        signal,
        redirect: 'manual',
      })
      if (response.status >= 300 && response.status < 400) throw new Error('redirect refused')
      bytes = await readLimited(response, maxBytes)
    } catch (error) {
      if (ctx.request.signal.aborted) {
        breaker.release()
        throw error
      }
      breaker.failure()
      if (fallback === 'next') return next()
      throw new NotReadyError('the cloud is unavailable', 'cloud_unavailable', {
        'retry-after': '1',
      })
    }
    if (response.status >= 500 || response.status === 429) {
      breaker.failure()
      if (fallback === 'next') return next()
      throw new NotReadyError('the cloud is unavailable', 'cloud_unavailable', {
        'retry-after': '1',
      })
    }
    breaker.success()
    let answer: unknown
    try {
      answer = parseJsonSafe(bytes, { maxDepth: 64 })
    } catch {
      throw new BadGatewayError('the cloud answered with invalid JSON')
    }
    if (response.status >= 400) {
      const message =
        isPlainObject(answer) && typeof answer.error === 'string'
          ? answer.error.slice(0, 300)
          : 'the cloud refused the request'
      const code =
        isPlainObject(answer) && typeof answer.code === 'string'
          ? answer.code.slice(0, 64)
          : 'cloud_rejected'
      throw new GateError(code, response.status, message)
    }
    ctx.status = response.status
    ctx.headers.set('x-modelgate-route', 'cloud')
    ctx.body = answer
  }
  plugin.extensions = ['explain'] as const
  return plugin
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

import {
  BadGatewayError,
  BadRequestError,
  GateError,
  GatewayTimeoutError,
  NotReadyError,
  PayloadTooLargeError,
  readBodyLimited,
  parseJsonSafe,
} from '@modelgate/core'
import type { ResolvedOptions } from './options.js'

/**
 * Thrown by a remote backend when the caller's `signal` aborted the call: the upstream request is
 * cancelled and not retried. On the wire it is a 499 (`client_closed`) that nobody reads, and,
 * being a GateError, it is not reported to the gate's `onError`.
 *
 * @example
 * ```ts
 * try {
 *   await backend.infer(inputs, { signal: AbortSignal.timeout(50) })
 * } catch (error) {
 *   if (error instanceof ClientClosedError) console.log('caller gave up')
 * }
 * ```
 */
export class ClientClosedError extends GateError {
  constructor() {
    super('client_closed', 499, 'client closed the request')
  }
}

export interface UpstreamResponse {
  status: number
  bytes: Uint8Array
}

type Failure = 'network' | 'timeout' | 'body' | 'too_large' | 'aborted' | 'redirect'

class AttemptError extends Error {
  constructor(readonly failure: Failure) {
    super(failure)
  }
}

export interface CallOptions {
  method: 'GET' | 'POST'
  path: string
  body?: unknown
  signal?: AbortSignal | undefined
  /** Overrides `options.retries`. */
  retries?: number
  /** Overrides `options.timeoutMs`. */
  timeoutMs?: number
}

/**
 * Sends one logical request with per-attempt timeouts and retries. Resolves with whatever status
 * the upstream finally gave (callers map statuses); rejects with a GateError when no usable
 * answer arrived.
 */
export async function call(
  options: ResolvedOptions,
  request: CallOptions,
): Promise<UpstreamResponse> {
  const retries = request.retries ?? options.retries
  const headers = new Headers(options.headers)
  headers.set('accept', 'application/json')
  let body: string | undefined
  if (request.body !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(request.body)
  }
  const url = options.base + request.path
  const timeoutMs = request.timeoutMs ?? options.timeoutMs
  for (let attempt = 0; ; attempt++) {
    if (request.signal?.aborted) throw new ClientClosedError()
    let failure: Failure
    try {
      const response = await attemptOnce(options, url, request, headers, body, timeoutMs)
      if (attempt < retries && options.retryStatuses.has(response.status)) {
        await backoff(options, attempt, request.signal)
        continue
      }
      return response
    } catch (error) {
      if (!(error instanceof AttemptError)) throw error
      failure = error.failure
    }
    if (failure === 'aborted') throw new ClientClosedError()
    if (attempt < retries && retryable(failure, request.method, options.retryTimeouts)) {
      await backoff(options, attempt, request.signal)
      continue
    }
    throw errorFor(failure, options, timeoutMs)
  }
}

function retryable(failure: Failure, method: 'GET' | 'POST', retryTimeouts: boolean): boolean {
  switch (failure) {
    case 'network':
      return true
    case 'timeout':
      return method === 'GET' || retryTimeouts
    case 'body':
      return method === 'GET'
    default:
      return false
  }
}

function errorFor(failure: Failure, options: ResolvedOptions, timeoutMs: number): GateError {
  switch (failure) {
    case 'network':
      return new NotReadyError('the model server is unreachable', 'upstream_unavailable', {
        'retry-after': '1',
      })
    case 'timeout':
      return new GatewayTimeoutError(
        `the model server did not answer within ${timeoutMs} ms`,
        'upstream_timeout',
      )
    case 'redirect':
      return new BadGatewayError('the model server answered with a redirect', 'bad_gateway')
    case 'too_large':
      return new BadGatewayError(
        `the model server's answer exceeds ${options.maxResponseBytes} bytes`,
      )
    default:
      return new BadGatewayError('the model server closed the connection mid-answer')
  }
}

async function attemptOnce(
  options: ResolvedOptions,
  url: string,
  request: CallOptions,
  headers: Headers,
  body: string | undefined,
  timeoutMs: number,
): Promise<UpstreamResponse> {
  const { method, signal } = request
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new Error('upstream timeout'))
  }, timeoutMs)
  const onAbort = () => controller.abort(signal!.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  const classify = (error: unknown, otherwise: Failure): AttemptError => {
    if (signal?.aborted) return new AttemptError('aborted')
    if (timedOut) return new AttemptError('timeout')
    if (error instanceof PayloadTooLargeError) return new AttemptError('too_large')
    return new AttemptError(otherwise)
  }
  try {
    let response: Response
    try {
      response = await options.fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: controller.signal,
        // 'manual' rather than 'error': edge runtimes (workerd) only know 'follow' and 'manual'.
        redirect: 'manual',
      })
    } catch (error) {
      throw classify(error, 'network')
    }
    if ((response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect') {
      await response.body?.cancel().catch(() => undefined)
      throw new AttemptError('redirect')
    }
    try {
      return {
        status: response.status,
        bytes: await readBodyLimited(response, options.maxResponseBytes),
      }
    } catch (error) {
      throw classify(error, 'body')
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

function backoff(
  options: ResolvedOptions,
  attempt: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const ceiling = Math.min(options.retryMaxDelayMs, options.retryBaseDelayMs * 2 ** attempt)
  const delay = ceiling / 2 + Math.random() * (ceiling / 2)
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ClientClosedError())
    const onAbort = () => {
      clearTimeout(timer)
      reject(new ClientClosedError())
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, delay)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The JSON of a 2xx answer; anything else from the upstream becomes the matching GateError. */
export function expectJson(response: UpstreamResponse, what: 'infer' | 'metadata'): unknown {
  const { status } = response
  if (status >= 200 && status < 300) return parseUpstreamJson(response.bytes)
  if (status >= 500) throw new BadGatewayError(`the model server answered HTTP ${status}`)
  if (status === 429) {
    throw new NotReadyError('the model server is busy', 'upstream_busy', { 'retry-after': '1' })
  }
  if (what === 'infer' && status >= 400 && status < 500 && ![401, 403, 404, 407].includes(status)) {
    throw new BadRequestError('the model server rejected the request', 'upstream_rejected')
  }
  throw new BadGatewayError(`the model server refused the gateway (HTTP ${status})`)
}

export function parseUpstreamJson(bytes: Uint8Array): unknown {
  try {
    return parseJsonSafe(bytes, { maxDepth: 64 })
  } catch {
    throw new BadGatewayError('the model server answered with invalid JSON')
  }
}

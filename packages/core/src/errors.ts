import type { GateReply } from './types.js'

/**
 * Base of every error modelgate sends to a client. `code` is a stable machine-readable string,
 * `status` the HTTP status; `message` is safe to show (never a secret, never a stack).
 * `headers` are added to the error response (`WWW-Authenticate`, `Retry-After`, …).
 *
 * @example
 * ```ts
 * throw new GateError('model_busy', 503, 'model is warming up', { 'retry-after': '1' })
 * ```
 */
export class GateError extends Error {
  readonly code: string
  readonly status: number
  readonly headers: Record<string, string>

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.status = status
    this.headers = headers
  }
}

/**
 * 400: the request is malformed or does not fit the model.
 *
 * @example
 * ```ts
 * throw new BadRequestError('input "x": expected 4 values, got 3')
 * ```
 */
export class BadRequestError extends GateError {
  constructor(message: string, code = 'bad_request') {
    super(code, 400, message)
  }
}

/**
 * 401: no or invalid credentials. Pass the RFC 6750 challenge in `headers`.
 *
 * @example
 * ```ts
 * throw new UnauthorizedError('invalid token', { 'www-authenticate': 'Bearer error="invalid_token"' })
 * ```
 */
export class UnauthorizedError extends GateError {
  constructor(
    message = 'unauthorized',
    headers: Record<string, string> = {},
    code = 'unauthorized',
  ) {
    super(code, 401, message, headers)
  }
}

/**
 * 403: authenticated, but not allowed.
 *
 * @example
 * ```ts
 * throw new ForbiddenError('insufficient scope')
 * ```
 */
export class ForbiddenError extends GateError {
  constructor(message = 'forbidden', headers: Record<string, string> = {}, code = 'forbidden') {
    super(code, 403, message, headers)
  }
}

/**
 * 404: unknown route, model or version.
 *
 * @example
 * ```ts
 * throw new NotFoundError('unknown model "credit"')
 * ```
 */
export class NotFoundError extends GateError {
  constructor(message = 'not found', code = 'not_found') {
    super(code, 404, message)
  }
}

/**
 * 405: the route exists for other methods.
 *
 * @example
 * ```ts
 * throw new MethodNotAllowedError(['POST'])
 * ```
 */
export class MethodNotAllowedError extends GateError {
  constructor(allowed: string[]) {
    super('method_not_allowed', 405, 'method not allowed', { allow: allowed.join(', ') })
  }
}

/**
 * 413: the body is larger than the configured limit.
 *
 * @example
 * ```ts
 * throw new PayloadTooLargeError(10 * 1024 * 1024)
 * ```
 */
export class PayloadTooLargeError extends GateError {
  constructor(limit: number, message = `request body exceeds ${limit} bytes`) {
    super('payload_too_large', 413, message, { connection: 'close' })
  }
}

/**
 * 415: the body's media type is not accepted.
 *
 * @example
 * ```ts
 * throw new UnsupportedMediaTypeError('text/plain')
 * ```
 */
export class UnsupportedMediaTypeError extends GateError {
  constructor(mediaType: string) {
    super('unsupported_media_type', 415, `unsupported media type "${mediaType.slice(0, 64)}"`)
  }
}

/**
 * 429: a rate limit was hit. `retryAfterSeconds` becomes `Retry-After`.
 *
 * @example
 * ```ts
 * throw new RateLimitedError(2)
 * ```
 */
export class RateLimitedError extends GateError {
  constructor(retryAfterSeconds: number, message = 'rate limit exceeded') {
    super('rate_limited', 429, message, {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    })
  }
}

/**
 * 503: the model or a dependency is not ready, or the queue is full.
 *
 * @example
 * ```ts
 * throw new NotReadyError('model "credit" is not ready')
 * ```
 */
export class NotReadyError extends GateError {
  constructor(message = 'not ready', code = 'not_ready', headers: Record<string, string> = {}) {
    super(code, 503, message, headers)
  }
}

/**
 * 500: the backend failed while running the model. The message is generic unless given.
 *
 * @example
 * ```ts
 * throw new BackendError('inference failed')
 * ```
 */
export class BackendError extends GateError {
  constructor(message = 'inference failed', code = 'backend_error') {
    super(code, 500, message)
  }
}

/**
 * 502: a remote model server answered with something unusable.
 *
 * @example
 * ```ts
 * throw new BadGatewayError('upstream returned 500')
 * ```
 */
export class BadGatewayError extends GateError {
  constructor(message = 'bad gateway', code = 'bad_gateway') {
    super(code, 502, message)
  }
}

/**
 * 504: a remote model server did not answer in time.
 *
 * @example
 * ```ts
 * throw new GatewayTimeoutError('upstream timed out after 5000 ms')
 * ```
 */
export class GatewayTimeoutError extends GateError {
  constructor(message = 'gateway timeout', code = 'gateway_timeout') {
    super(code, 504, message)
  }
}

const encoder = new TextEncoder()

/**
 * Turns anything thrown inside a gate into the wire error: `{"error": "...", "code": "..."}` with
 * the right status. Errors that are not {@link GateError}s become an opaque 500: their messages
 * and stacks never leave the process. This is the only place errors meet the wire.
 *
 * @example
 * ```ts
 * const reply = errorReply(new NotFoundError('unknown model "x"'))
 * reply.status // 404
 * ```
 */
export function errorReply(error: unknown, requestId?: string): GateReply {
  const gateError =
    error instanceof GateError ? error : new GateError('internal', 500, 'internal error')
  const headers = new Headers(gateError.headers)
  headers.set('content-type', 'application/json')
  headers.set('cache-control', 'no-store')
  if (requestId) headers.set('x-request-id', requestId)
  const body = encoder.encode(JSON.stringify({ error: gateError.message, code: gateError.code }))
  return { status: gateError.status, headers, body }
}

/**
 * {@link errorReply} as a Web `Response`.
 *
 * @example
 * ```ts
 * const res = errorResponse(new NotFoundError('unknown model "x"'))
 * res.status // 404
 * ```
 */
export function errorResponse(error: unknown, requestId?: string): Response {
  return replyToResponse(errorReply(error, requestId))
}

/**
 * A {@link GateReply} as a Web `Response`.
 *
 * @example
 * ```ts
 * const response = replyToResponse(await gate.handle(request))
 * ```
 */
export function replyToResponse(reply: GateReply): Response {
  return new Response(reply.body as BodyInit | null, {
    status: reply.status,
    headers: reply.headers,
  })
}

/**
 * The status a thrown value will get on the wire.
 *
 * @example
 * ```ts
 * statusOf(new RateLimitedError(1)) // 429
 * statusOf(new Error('boom')) // 500
 * ```
 */
export function statusOf(error: unknown): number {
  return error instanceof GateError ? error.status : 500
}

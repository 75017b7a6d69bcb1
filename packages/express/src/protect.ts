import type {
  NextFunction,
  Request as ExpressRequest,
  RequestHandler,
  Response as ExpressResponse,
} from 'express'
import {
  errorReply,
  GateError,
  NotFoundError,
  type Gate,
  type GateContext,
  type GateReply,
} from '@modelgate/core'
import { writeNodeReply } from '@modelgate/edge/node'
import { toGateRequest } from './bridge.js'
import { responseShim } from './shim.js'
import type { ProtectOptions } from './types.js'

/**
 * Wraps an existing Express route handler so that its request and response pass through the
 * gate's plugins (authentication, decryption, masking, signing, audit …). The plugins see the
 * request first; if they reject it, your handler never runs. Otherwise your handler runs with
 * `req.body` set from the gate's (possibly decrypted or masked) JSON body — masked as `body`
 * declares (records of a feature schema, entity paths, scanned strings) — and with a `res` that
 * records `status()`, `set()`/`header()`/`setHeader()`, `type()`, `json()`, `send()`,
 * `sendStatus()`, `write()`/`end()` and `redirect()` instead of writing to the socket. The plugins
 * then see that response on the way out, and the final Response goes to the client.
 *
 * Errors thrown by or passed to `next(err)` from your handler become JSON errors: a
 * `GateError` keeps its status, an error with an exposed 4xx `status` (http-errors) keeps its
 * status and message, anything else is an opaque 500. `next()` without an error is a 404.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { protect } from '@modelgate/express'
 *
 * const app = express()
 * app.post('/score', express.json(), protect(gate, (req, res) => {
 *   res.status(200).json({ score: score(req.body) })
 * }, { operation: 'predict', model: 'credit' }))
 * ```
 */
export function protect(
  gate: Gate,
  handler: RequestHandler,
  options: ProtectOptions = {},
): RequestHandler {
  if (!gate || typeof gate.handleRoute !== 'function') throw new TypeError('protect needs a gate')
  if (typeof handler !== 'function') throw new TypeError('protect needs a route handler function')
  const operation = options.operation ?? 'predict'
  const model = options.model
  if (model !== undefined && !gate.models.find(model))
    throw new TypeError(`protect: unknown model "${model}"`)
  const body = options.body
  if (typeof body?.schema === 'string' && !gate.models.find(body.schema)?.schema)
    throw new TypeError(
      `protect: body.schema names no model with a feature schema ("${body.schema}")`,
    )

  return function protectedRoute(
    req: ExpressRequest,
    res: ExpressResponse,
    _next: NextFunction,
  ): void {
    void (async () => {
      let reply: GateReply
      try {
        reply = await gate.handleRoute(toGateRequest(req, res, req.originalUrl), {
          name: `protect:${req.route?.path ?? req.path}`,
          operation,
          ...(model !== undefined ? { model } : {}),
          ...(body ? { body } : {}),
          terminal: (ctx) => runHandler(handler, ctx, req, res),
        })
      } catch (error) {
        reply = errorReply(error)
      }
      await writeNodeReply(reply, req, res)
    })()
  }
}

async function runHandler(
  handler: RequestHandler,
  ctx: GateContext,
  req: ExpressRequest,
  res: ExpressResponse,
): Promise<void> {
  req.body = await bodyOf(ctx)
  await new Promise<void>((resolve, reject) => {
    const shim = responseShim(ctx, res, resolve)
    const next: NextFunction = (error?: unknown) => {
      if (error === undefined || error === null || error === 'route' || error === 'router') {
        reject(new NotFoundError('no such route'))
      } else reject(asGateError(error))
    }
    try {
      const result: unknown = handler(req, shim, next)
      if (result instanceof Promise)
        result.then(undefined, (error: unknown) => reject(asGateError(error)))
    } catch (error) {
      reject(asGateError(error))
    }
  })
}

async function bodyOf(ctx: GateContext): Promise<unknown> {
  const method = ctx.request.method
  if (method === 'GET' || method === 'HEAD') return undefined
  const bytes = await ctx.bodyBytes()
  const type = ctx.mediaType()
  if (type === '' || type === 'application/json' || type.endsWith('+json')) {
    return bytes.byteLength === 0 && type === '' ? undefined : ctx.json()
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function asGateError(error: unknown): unknown {
  if (error instanceof GateError || typeof error !== 'object' || error === null) return error
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown }
  const status = typeof e.status === 'number' ? e.status : e.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500 && e.expose !== false) {
    return new GateError(
      'handler_error',
      status,
      typeof e.message === 'string' ? e.message : 'request failed',
    )
  }
  return error
}

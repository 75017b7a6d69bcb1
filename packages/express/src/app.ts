import { STATUS_CODES } from 'node:http'
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express'
import { errorReply, GateError, NotFoundError } from '@modelgate/core'
import { writeNodeReply } from '@modelgate/edge/node'
import { gateHandler } from './handler.js'
import type { ExpressAppOptions, FetchTarget } from './types.js'

/**
 * An Express 5 app serving a gate: `x-powered-by` off, the gate mounted at `basePath`, a JSON 404
 * for paths outside it and a JSON error handler for anything your own middleware (from `setup`)
 * throws. Errors never come out as HTML or with a stack.
 *
 * @example
 * ```ts
 * import { createExpressApp } from '@modelgate/express'
 *
 * const app = createExpressApp(gate)
 * const server = app.listen(8080)
 * ```
 */
export function createExpressApp(gate: FetchTarget, options: ExpressAppOptions = {}): Express {
  const basePath = options.basePath ?? '/'
  if (!basePath.startsWith('/')) throw new TypeError('basePath must start with "/"')
  const app = express()
  app.disable('x-powered-by')
  options.setup?.(app)
  app.use(basePath, gateHandler(gate))
  const notFound: RequestHandler = (req, res) => {
    void writeNodeReply(errorReply(new NotFoundError('no such route')), req, res)
  }
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    void writeNodeReply(errorReply(exposed(error)), req, res)
  }
  app.use(notFound)
  app.use(onError)
  return app
}

function exposed(error: unknown): unknown {
  if (error instanceof GateError || typeof error !== 'object' || error === null) return error
  const e = error as {
    status?: unknown
    statusCode?: unknown
    expose?: unknown
    message?: unknown
    type?: unknown
  }
  const status = typeof e.status === 'number' ? e.status : e.statusCode
  if (typeof status !== 'number' || status < 400 || status > 499 || e.expose === false) return error
  const headers: Record<string, string> = status === 413 ? { connection: 'close' } : {}
  // Body parser errors (they carry a `type`) quote the body or the content type in their message.
  if (typeof e.type === 'string') {
    const generic = (STATUS_CODES[status] ?? 'bad request').toLowerCase()
    return new GateError(e.type.replace(/\W+/g, '_'), status, generic, headers)
  }
  return new GateError(
    'bad_request',
    status,
    typeof e.message === 'string' ? e.message : 'bad request',
    headers,
  )
}

import type {
  NextFunction,
  Request as ExpressRequest,
  RequestHandler,
  Response as ExpressResponse,
} from 'express'
import { errorResponse } from '@modelgate/core'
import { toWebRequest, writeWebResponse } from './bridge.js'
import type { FetchTarget } from './types.js'

/**
 * An Express 5 handler that serves a gate. The Web Request is built from `req.url` (relative to
 * where the handler is mounted), the method and the headers as sent; the body is streamed, or
 * rebuilt from `req.body` when `express.json()` or another parser already read it. A client that
 * disconnects aborts the request's `signal`. The gate's Response is written back with all its
 * headers and a streamed body. It never calls `next(err)`: a failure of the bridge itself is a
 * JSON 500, never Express's HTML error page.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { gateHandler } from '@modelgate/express'
 *
 * const app = express()
 * app.use('/ml', gateHandler(gate)) // GET /ml/v2/health/ready → gate's /v2/health/ready
 * app.listen(8080)
 * ```
 */
export function gateHandler(gate: FetchTarget): RequestHandler {
  if (!gate || typeof gate.fetch !== 'function') throw new TypeError('gateHandler needs a gate')
  return function modelgate(req: ExpressRequest, res: ExpressResponse, _next: NextFunction): void {
    void bridge(gate, req, res)
  }
}

async function bridge(gate: FetchTarget, req: ExpressRequest, res: ExpressResponse): Promise<void> {
  let response: Response
  try {
    response = await gate.fetch(toWebRequest(req, res, req.url))
  } catch (error) {
    response = errorResponse(error)
  }
  await sendResponse(response, req, res)
}

/** @internal Writes a Response; a failure before the headers went out becomes a JSON 500. */
export async function sendResponse(
  response: Response,
  req: ExpressRequest,
  res: ExpressResponse,
): Promise<void> {
  try {
    await writeWebResponse(response, req, res)
  } catch {
    if (res.headersSent) {
      res.destroy()
      return
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    await writeWebResponse(errorResponse(new Error('bridge failure')), req, res).catch(() =>
      res.destroy(),
    )
  }
}

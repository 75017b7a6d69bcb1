import type {
  NextFunction,
  Request as ExpressRequest,
  RequestHandler,
  Response as ExpressResponse,
} from 'express'
import { errorReply, type GateReply } from '@modelgate/core'
import { writeNodeReply } from '@modelgate/edge/node'
import { toFetchRequest, toGateRequest } from './bridge.js'
import type { FetchTarget } from './types.js'

/**
 * An Express 5 handler that serves a gate. The Web Request is built from `req.url` (relative to
 * where the handler is mounted), the method and the headers as sent; the gate reads the body
 * straight from the socket under its own size limit, or gets it rebuilt from `req.body` when
 * `express.json()` or another parser already read it. A client that disconnects aborts the
 * request's `signal`. The answer is written back with all its headers. It never calls
 * `next(err)`: a failure of the bridge itself is a JSON 500, never Express's HTML error page.
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
  let reply: GateReply
  try {
    if (gate.handle) {
      reply = await gate.handle(toGateRequest(req, res, req.url))
    } else {
      const response = await gate.fetch(toFetchRequest(req, res, req.url))
      reply = { status: response.status, headers: response.headers, body: response.body }
    }
  } catch (error) {
    reply = errorReply(error)
  }
  await writeNodeReply(reply, req, res)
}

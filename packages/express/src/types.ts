import type { Express } from 'express'
import type { Operation } from '@modelgate/core'

/**
 * What {@link gateHandler} serves: anything with a Web-standard `fetch(request)` — a gate, whose
 * stream-free `handle()` is then used, or any other fetch handler.
 *
 * @example
 * ```ts
 * const target: FetchTarget = createGate({ models })
 * ```
 */
export interface FetchTarget {
  fetch(request: Request): Promise<Response>
  /** A gate's stream-free entry point, used when present. */
  handle?(
    request: Request | import('@modelgate/core').IncomingRequest,
  ): Promise<import('@modelgate/core').GateReply>
}

/**
 * Options of {@link protect}.
 *
 * @example
 * ```ts
 * const opts: ProtectOptions = { operation: 'predict', model: 'credit' }
 * ```
 */
export interface ProtectOptions {
  /** What the route does, for access policies. Default `predict`. */
  operation?: Operation
  /** A registered model the route stands for, so policies and audit records can name it. */
  model?: string
  /**
   * What the route's JSON request and response bodies hold, so masking treats them as it treats
   * the protocol routes (records of a schema or a model's schema, entity paths, scanned strings).
   * Without it the bodies are not masked.
   */
  body?: import('@modelgate/core').BodyShape
}

/**
 * Options of {@link createExpressApp}.
 *
 * @example
 * ```ts
 * const opts: ExpressAppOptions = { basePath: '/ml', setup: (app) => app.get('/healthz', (_req, res) => res.send('ok')) }
 * ```
 */
export interface ExpressAppOptions {
  /** Where the gate is mounted; its routes appear below it. Default `/`. */
  basePath?: string
  /** Called before the gate is mounted, to add middleware or routes of your own. */
  setup?: (app: Express) => void
}

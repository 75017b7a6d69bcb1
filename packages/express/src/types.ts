import type { Express } from 'express'
import type { Operation } from '@modelgate/core'

/**
 * What {@link gateHandler} needs: anything with a Web-standard `fetch(request)` (a gate).
 *
 * @example
 * ```ts
 * const target: FetchTarget = createGate({ models })
 * ```
 */
export interface FetchTarget {
  fetch(request: Request): Promise<Response>
  /** A gate's stream-free entry point, used when present. */
  handle?(request: Request): Promise<import('@modelgate/core').GateReply>
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

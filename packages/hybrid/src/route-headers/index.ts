import type { GateContext, Plugin } from '@modelgate/core'
import type { DegradedReason, HybridRoute } from '../types.js'

const ROUTES: readonly string[] = ['edge', 'cloud', 'mixed']

/**
 * Copies where a hybrid backend answered into response headers, for clients of the V1 protocol
 * (whose `predictions` carry no tensor parameters) and for proxies and logs:
 * `x-modelgate-route: edge | cloud | mixed` and, when the cloud was wanted but not used,
 * `x-modelgate-degraded: <reason>`. The same facts go into `ctx.facts.hybridRoute`, which the
 * audit record carries.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createHybridBackend, routeHeaders } from '@modelgate/hybrid'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: createHybridBackend(options) }],
 *   plugins: [routeHeaders()],
 * })
 * ```
 */
export const routeHeaders = (): Plugin => {
  return async function routeHeaders(ctx: GateContext, next: () => Promise<void>): Promise<void> {
    await next()
    const marks = ctx.outputs?.[0]?.parameters
    if (!marks || typeof marks.route !== 'string' || !ROUTES.includes(marks.route)) return
    const degraded = marks.degraded === true
    const reason = degraded ? String(marks.degraded_reason ?? 'true') : undefined
    ctx.headers.set('x-modelgate-route', marks.route)
    if (reason !== undefined) ctx.headers.set('x-modelgate-degraded', reason)
    ctx.facts.hybridRoute = {
      route: marks.route as HybridRoute,
      degraded,
      ...(reason !== undefined ? { reason: reason as DegradedReason } : {}),
    }
  }
}

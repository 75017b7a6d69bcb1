import type { GateContext, Plugin } from '@modelgate/core'

/**
 * Copies where a hybrid backend answered into response headers, for clients of the V1 protocol
 * (whose `predictions` carry no tensor parameters) and for proxies and logs:
 * `x-modelgate-route: edge | cloud | mixed` and, when the cloud was wanted but not used,
 * `x-modelgate-degraded: <reason>`. The same facts go into `ctx.audit.route`.
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
    if (!marks || typeof marks.route !== 'string') return
    ctx.headers.set('x-modelgate-route', marks.route)
    if (marks.degraded === true) {
      ctx.headers.set('x-modelgate-degraded', String(marks.degraded_reason ?? 'true'))
    }
    ctx.audit.route = { route: marks.route, degraded: marks.degraded === true }
  }
}

import type { GateContext } from './context.js'
import { GateError } from './errors.js'
import type { Plugin } from './types.js'

/**
 * Composes plugins into one onion: each runs code before `await next()` on the way in and after it
 * on the way out, and `terminal` runs innermost. Every plugin must call `next()` exactly once or
 * refuse the request by throwing: a plugin that returns without calling `next()` (so that the
 * route's terminal never ran) fails the request with a 500 `plugin_skipped_next` naming it, and
 * calling `next()` twice is an error.
 *
 * @example
 * ```ts
 * const run = compose([logTiming, requireHeader], async (ctx) => {
 *   ctx.body = { ok: true }
 * })
 * await run(ctx)
 * ```
 */
export function compose(
  plugins: readonly Plugin[],
  terminal: (ctx: GateContext) => Promise<void>,
): (ctx: GateContext) => Promise<void> {
  for (const p of plugins) {
    if (typeof p !== 'function')
      throw new TypeError('every plugin must be a function (ctx, next) => Promise<void>')
  }
  return function composed(ctx) {
    let last = -1
    const dispatch = async (i: number): Promise<void> => {
      if (i <= last) throw new Error('next() called more than once')
      last = i
      if (i === plugins.length) return terminal(ctx)
      const plugin = plugins[i]!
      await plugin(ctx, () => dispatch(i + 1))
      if (last <= i) {
        throw new GateError(
          'plugin_skipped_next',
          500,
          `plugin "${plugin.name || i}" neither called next() nor refused the request`,
        )
      }
    }
    return dispatch(0)
  }
}

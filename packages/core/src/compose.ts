import type { GateContext } from './context.js'
import type { Plugin } from './types.js'

/**
 * Composes plugins into one onion: each runs code before `await next()` on the way in and after it
 * on the way out. `terminal` runs innermost. Calling `next()` twice in one plugin is an error.
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
    const dispatch = (i: number): Promise<void> => {
      if (i <= last) return Promise.reject(new Error('next() called more than once'))
      last = i
      if (i === plugins.length) return terminal(ctx)
      try {
        return Promise.resolve(plugins[i]!(ctx, () => dispatch(i + 1)))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return dispatch(0)
  }
}

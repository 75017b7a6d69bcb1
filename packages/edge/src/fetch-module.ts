import { errorReply, errorResponse } from '@modelgate/core'
import type { ExecutionContextLike, FetchHandler, FetchModule } from './types.js'

/**
 * Wraps a gate as a fetch module: the default export Cloudflare Workers, Deno and Bun expect.
 * It uses Web APIs only. Anything thrown past the gate becomes a JSON 500, never an HTML page.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { toFetchModule } from '@modelgate/edge'
 *
 * const gate = createGate({ models: [{ name: 'credit', backend }] })
 * export default toFetchModule(gate)
 * ```
 */
export function toFetchModule(gate: FetchHandler): FetchModule {
  if (!gate || typeof gate.fetch !== 'function') {
    throw new TypeError('toFetchModule needs an object with a fetch(request) method')
  }
  const module: FetchModule = {
    async fetch(request: Request, env?: unknown, ctx?: ExecutionContextLike): Promise<Response> {
      try {
        return await gate.fetch(request, env, ctx)
      } catch (error) {
        return errorResponse(error)
      }
    },
  }
  const handle = gate.handle?.bind(gate)
  if (handle) {
    module.handle = async (request) => {
      try {
        return await handle(request)
      } catch (error) {
        return errorReply(error)
      }
    }
  }
  return module
}

/**
 * Anything with a Web-standard `fetch(request)` method: a gate, or the module made by
 * {@link toFetchModule}.
 *
 * @example
 * ```ts
 * const app: FetchHandler = { fetch: async () => new Response('ok') }
 * ```
 */
export interface FetchHandler {
  fetch(request: Request, env?: unknown, ctx?: ExecutionContextLike): Response | Promise<Response>
  /** A gate's stream-free entry point; Node adapters use it when present. */
  handle?(
    request: Request | import('@modelgate/core').IncomingRequest,
  ): Promise<import('@modelgate/core').GateReply>
}

/**
 * The part of a Workers `ExecutionContext` the module may use; other runtimes pass nothing.
 *
 * @example
 * ```ts
 * const ctx: ExecutionContextLike = { waitUntil: (p) => void p }
 * ```
 */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException?(): void
}

/**
 * A module whose default export Workers, Deno (`deno serve`) and Bun serve as they are.
 *
 * @example
 * ```ts
 * const mod: FetchModule = toFetchModule(gate)
 * export default mod
 * ```
 */
export interface FetchModule {
  fetch(request: Request, env?: unknown, ctx?: ExecutionContextLike): Promise<Response>
  /** Present when the module wraps a gate: its stream-free entry point for Node servers. */
  handle?(
    request: Request | import('@modelgate/core').IncomingRequest,
  ): Promise<import('@modelgate/core').GateReply>
}

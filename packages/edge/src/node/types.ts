/**
 * Options of {@link toNodeRequest}.
 *
 * @example
 * ```ts
 * const request = toNodeRequest(req, res, { path: req.url, body: alreadyParsedBytes })
 * ```
 */
export interface NodeRequestOptions {
  /** Path and query to serve; default `req.url`. */
  path?: string
  /** The body, when a body parser already read it from the socket. */
  body?: Uint8Array
  /** Put the body on the Request as a stream (for handlers other than a gate). */
  streamBody?: boolean
}

/**
 * Options of {@link serveNode}.
 *
 * @example
 * ```ts
 * const opts: ServeNodeOptions = { port: 0, host: '127.0.0.1' }
 * ```
 */
export interface ServeNodeOptions {
  /** TCP port; `0` picks a free one. Default 8080. */
  port?: number
  /** Interface to bind. Default `127.0.0.1`; use `0.0.0.0` or `::` to accept outside traffic. */
  host?: string
  /** How long `close()` waits for requests in flight before cutting connections. Default 10,000 ms. */
  closeTimeoutMs?: number
  /**
   * How long a client may take to send a whole request, headers and body; past it the server
   * answers 408 and closes the connection, so a body trickled in byte by byte cannot hold memory
   * and a connection for long. Default 30,000 ms (Node's own default is 300,000).
   */
  requestTimeoutMs?: number
}

/**
 * A running Node server made by {@link serveNode}.
 *
 * @example
 * ```ts
 * const { url, close } = await serveNode(toFetchModule(gate), { port: 0 })
 * await fetch(`${url}/v2/health/live`)
 * await close()
 * ```
 */
export interface NodeServer {
  server: import('node:http').Server
  /** `http://host:port`, without a trailing slash. */
  url: string
  port: number
  /** Stops accepting connections, lets requests in flight finish, then resolves. */
  close(): Promise<void>
}

import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Gate } from '@modelgate/core'
import type { Runtime } from './config/types.js'
import { CliError } from './errors.js'
import { importPackage, messageOf } from './config/modules.js'

/**
 * Where and how to serve a gate.
 *
 * @example
 * ```ts
 * const options: ServeOptions = { runtime: 'edge', host: '127.0.0.1', port: 0 }
 * ```
 */
export interface ServeOptions {
  runtime: Runtime
  host: string
  /** `0` picks a free port. */
  port: number
  /** How long `close()` waits for requests in flight before cutting connections. Default 10 s. */
  closeTimeoutMs?: number
}

/**
 * A listening gate server.
 *
 * @example
 * ```ts
 * const server = await serveGate(gate, { runtime: 'cloud', host: '127.0.0.1', port: 0 })
 * console.log(server.url)
 * await server.close()
 * ```
 */
export interface GateServer {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string
  readonly port: number
  readonly runtime: Runtime
  /**
   * Stops accepting connections and resolves once requests in flight have finished (connections
   * still open after `closeTimeoutMs` are cut). The gate itself stays open.
   */
  close(): Promise<void>
}

/**
 * Serves a gate over HTTP: `cloud` mounts it in the Express adapter, `edge` runs the Web fetch
 * handler on Node's HTTP server. Both serve the same routes and bytes.
 *
 * @throws {CliError} (exit 1) when the address cannot be bound.
 * @example
 * ```ts
 * import { buildGate, loadGateConfig, serveGate } from '@modelgate/cli'
 *
 * const gate = await buildGate(await loadGateConfig('gate.json'), '.')
 * await gate.ready()
 * const server = await serveGate(gate, { runtime: 'edge', host: '127.0.0.1', port: 8080 })
 * ```
 */
export async function serveGate(gate: Gate, options: ServeOptions): Promise<GateServer> {
  const where = `${options.host}:${options.port}`
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  try {
    if (options.runtime === 'edge') {
      const pkg = '@modelgate/edge'
      const edge = await importPackage(() => import('@modelgate/edge'), pkg, '--runtime edge')
      const served = await edge.serveNode(edge.toFetchModule(gate), {
        port: options.port,
        host: options.host,
        closeTimeoutMs,
      })
      return { url: served.url, port: served.port, runtime: 'edge', close: () => served.close() }
    }
    const pkg = '@modelgate/express'
    const { createExpressApp } = await importPackage(
      () => import('@modelgate/express'),
      pkg,
      '--runtime cloud',
    )
    const { createServer } = await import('node:http')
    const app = createExpressApp(gate)
    const inFlight = new Set<ServerResponse>()
    let closing: Promise<void> | undefined
    const server = createServer((req, res) => {
      inFlight.add(res)
      res.once('close', () => inFlight.delete(res))
      if (closing) res.setHeader('connection', 'close')
      app(req, res)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return {
      url: `http://${host}:${address.port}`,
      port: address.port,
      runtime: 'cloud',
      close: () => (closing ??= closeGracefully(server, inFlight, closeTimeoutMs)),
    }
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`cannot listen on ${where}: ${messageOf(error)}`, 1, { cause: error })
  }
}

function closeGracefully(
  server: Server,
  inFlight: Set<ServerResponse>,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs)
    timer.unref()
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close')
  })
}

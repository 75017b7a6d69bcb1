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
  const listen = {
    port: options.port,
    host: options.host,
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
  }
  try {
    const edge = await importPackage(
      () => import('@modelgate/edge/node'),
      '@modelgate/edge',
      `--runtime ${options.runtime}`,
    )
    let served: Awaited<ReturnType<typeof edge.serveNode>>
    if (options.runtime === 'edge') {
      served = await edge.serveNode(gate, listen)
    } else {
      const { createExpressApp } = await importPackage(
        () => import('@modelgate/express'),
        '@modelgate/express',
        '--runtime cloud',
      )
      served = await edge.serveListener(createExpressApp(gate), listen)
    }
    return {
      url: served.url,
      port: served.port,
      runtime: options.runtime,
      close: () => served.close(),
    }
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`cannot listen on ${where}: ${messageOf(error)}`, 1, { cause: error })
  }
}

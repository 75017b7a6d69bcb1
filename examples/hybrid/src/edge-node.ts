import { fileIOHandler } from '@modelgate/backend-tfjs'
import { serveNode, toFetchModule } from '@modelgate/edge'
import type { NodeServer } from '@modelgate/edge'
import type { HybridBackend, RouteEvent } from '@modelgate/hybrid'
import { createEdgeGate } from './edge.js'
import { EDGE_MODEL_PATH } from './paths.js'

/**
 * The edge gate on Node (the edge adapter's `serveNode`), reading the compressed model from disk.
 *
 * @example
 * ```ts
 * const edge = await startNodeEdge({ cloudUrl: 'http://127.0.0.1:8080', port: 8081 })
 * ```
 */
export async function startNodeEdge(options: {
  cloudUrl: string
  port?: number
  host?: string
  onRoute?: (event: RouteEvent) => void
}): Promise<NodeServer & { backend: HybridBackend }> {
  const { gate, backend } = createEdgeGate({
    cloudUrl: options.cloudUrl,
    model: fileIOHandler(EDGE_MODEL_PATH),
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  })
  await gate.ready()
  const server = await serveNode(toFetchModule(gate), {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    closeTimeoutMs: 2000,
  })
  return {
    ...server,
    backend,
    async close() {
      await server.close()
      await gate.close()
    },
  }
}

import { fileIOHandler } from '@modelgate/backend-tfjs'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import type { NodeServer } from '@modelgate/edge/node'
import { createSealedFetch } from '@modelgate/hybrid'
import type { HybridBackend, RouteEvent } from '@modelgate/hybrid'
import { createMtlsFetch } from '@modelgate/hybrid/node'
import { createEdgeGate } from './edge.js'
import { EDGE_MODEL_PATH } from './paths.js'
import type { DemoPki } from './pki.js'

/**
 * The edge gate on Node (the edge adapter's `serveNode`), reading the compressed model from disk.
 * Its calls to the cloud go through {@link createSealedFetch} (bodies sealed as JWE to the cloud's
 * key, answers opened) over {@link createMtlsFetch} (the edge's client certificate; the cloud must
 * present a certificate from the demo CA).
 *
 * @example
 * ```ts
 * const edge = await startNodeEdge({ cloudUrl: 'https://127.0.0.1:8443', pki, port: 8081 })
 * ```
 */
export async function startNodeEdge(options: {
  cloudUrl: string
  pki: DemoPki
  port?: number
  host?: string
  onRoute?: (event: RouteEvent) => void
}): Promise<NodeServer & { backend: HybridBackend }> {
  const { pki } = options
  const mtls = createMtlsFetch({ cert: pki.edge.certPem, key: pki.edge.keyPem, ca: pki.caPem })
  const { gate, backend } = createEdgeGate({
    cloudUrl: options.cloudUrl,
    model: fileIOHandler(EDGE_MODEL_PATH),
    fetch: createSealedFetch({ gateKey: pki.jwe.publicJwk, fetch: mtls }),
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
      mtls.close()
    },
  }
}

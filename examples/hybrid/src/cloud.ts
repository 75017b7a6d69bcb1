import { createServer } from 'node:https'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { authenticate } from '@modelgate/access'
import { decrypt, encrypt } from '@modelgate/crypto'
import type { DecryptionKey } from '@modelgate/crypto'
import { createCreditGate } from '@modelgate/example-credit-risk'
import { createExpressApp } from '@modelgate/express'
import type { DemoPki } from './pki.js'

/**
 * A running cloud gate.
 *
 * @example
 * ```ts
 * const cloud = await startCloud({ pki, port: 0 })
 * await cloud.close()
 * ```
 */
export interface Cloud {
  url: string
  port: number
  close(): Promise<void>
}

/**
 * The cloud side of the demo: the full float32 credit model (`credit` version `1`) behind the
 * Express adapter, on TF.js's fastest backend here (wasm), served over HTTPS that asks for a client
 * certificate from the demo CA (`requestCert`, `rejectUnauthorized`: other clients fail the
 * handshake). Its plugins: `decrypt` (only JWE request bodies, to its key `cloud-1`),
 * `authenticate({ mtls })` (the principal is the edge's certificate, `spiffe://modelgate-demo/edge-1`),
 * `encrypt` (answers sealed to the key each request brings).
 *
 * @example
 * ```ts
 * const cloud = await startCloud({ pki: await readDemoPki(dir), port: 8443 })
 * console.log(cloud.url) // https://127.0.0.1:8443
 * ```
 */
export async function startCloud(options: {
  pki: DemoPki
  port?: number
  host?: string
}): Promise<Cloud> {
  const { pki } = options
  const gate = createCreditGate({
    backend: 'auto',
    plugins: [
      decrypt({ keys: [pki.jwe.privateJwk as DecryptionKey] }),
      authenticate({ mtls: {} }),
      encrypt({}),
    ],
  })
  await gate.ready()
  const host = options.host ?? '127.0.0.1'
  const server: Server = createServer(
    {
      cert: pki.cloud.certPem,
      key: pki.cloud.keyPem,
      ca: pki.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    createExpressApp(gate),
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://${host}:${port}`,
    port,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await gate.close()
    },
  }
}

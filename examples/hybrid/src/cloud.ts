import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCreditGate } from '@modelgate/example-credit-risk'
import { createExpressApp } from '@modelgate/express'

/**
 * A running cloud gate.
 *
 * @example
 * ```ts
 * const cloud = await startCloud({ port: 0 })
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
 * Express adapter, on TF.js's fastest backend here (wasm).
 *
 * @example
 * ```ts
 * const cloud = await startCloud({ port: 8080 })
 * console.log(cloud.url)
 * ```
 */
export async function startCloud(options: { port?: number; host?: string } = {}): Promise<Cloud> {
  const gate = createCreditGate({ backend: 'auto' })
  await gate.ready()
  const app = createExpressApp(gate)
  const host = options.host ?? '127.0.0.1'
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (error?: Error) =>
      error ? reject(error) : resolve(s),
    )
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await gate.close()
    },
  }
}

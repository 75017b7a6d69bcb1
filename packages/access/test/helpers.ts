import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { linearBackend, type CountingBackend } from '@modelgate/testkit/fixtures'

export type { CountingBackend }

/** A two-feature linear scorer (`0.5·a + b`) that counts how often it ran. */
export const countingBackend = (): CountingBackend => linearBackend([0.5, 1])

export const inferBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }

export const inferRequest = (headers: Record<string, string> = {}, model = 'credit') =>
  new Request(`http://gate/v2/models/${model}/infer`, {
    method: 'POST',
    body: JSON.stringify(inferBody),
    headers: { 'content-type': 'application/json', ...headers },
  })

export interface AttackFixtures {
  now: number
  issuer: string
  audience: string
  jwks: { keys: Record<string, unknown>[] }
  valid: { alg: string; token: string }[]
  attacks: { name: string; token: string }[]
}

export const fixtures: AttackFixtures = JSON.parse(
  readFileSync(new URL('../fixtures/attack-tokens.json', import.meta.url), 'utf8'),
)

/** A loopback HTTP server whose handler can be swapped while it runs. */
export class LoopbackServer {
  hits = 0
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end()
  private server: Server | undefined
  url = ''

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.hits++
      this.handler(req, res)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  json(body: unknown, delayMs = 0): void {
    this.handler = (_req, res) => {
      const send = () => {
        res.setHeader('content-type', 'application/json')
        res.end(typeof body === 'string' ? body : JSON.stringify(body))
      }
      if (delayMs > 0) setTimeout(send, delayMs)
      else send()
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }
}

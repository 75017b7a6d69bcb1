import { createGate } from '@modelgate/core'
import type { Gate } from '@modelgate/core'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRemoteBackend } from './remote.js'
import { createLinearBackend } from './testing/linear.js'

/** A minimal node:http → fetch-handler bridge, enough to put a gate on a loopback port. */
async function serve(
  handler: (request: Request) => Promise<Response>,
): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const client = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) client.abort()
    })
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, String(v))
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const response = await handler(
      new Request(`http://127.0.0.1${req.url}`, {
        method: req.method!,
        headers,
        ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
        signal: client.signal,
      }),
    )
    const body = Buffer.from(await response.arrayBuffer())
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

let gateA: Gate
let gateB: Gate
let a: { url: string; server: Server }

beforeAll(async () => {
  gateA = createGate({ models: [{ name: 'linear', backend: createLinearBackend() }] })
  await gateA.ready()
  a = await serve((request) => gateA.fetch(request))
  gateB = createGate({
    models: [
      {
        name: 'linear',
        backend: createRemoteBackend({ url: a.url, protocol: 'v2', model: 'linear' }),
      },
    ],
  })
  await gateB.ready()
})

afterAll(async () => {
  await gateB?.close()
  a?.server.closeAllConnections()
  await new Promise((resolve) => a?.server.close(resolve))
  await gateA?.close()
})

async function both(method: string, path: string, body?: unknown) {
  const init = (): RequestInit => ({
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const direct = await fetch(a.url + path, init())
  const chained = await gateB.fetch(new Request(`http://gate-b${path}`, init()))
  return {
    direct: { status: direct.status, body: await direct.json() },
    chained: { status: chained.status, body: await chained.json() },
  }
}

describe('gate B → remote backend (v2) → gate A → in-process linear model', () => {
  it('gives identical outputs for the same infer request', async () => {
    const request = {
      id: 'same',
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [3, 3],
          data: [1, 2, 3, -1, 0.5, 0.25, 1e6, -1e-6, 7],
        },
      ],
    }
    const { direct, chained } = await both('POST', '/v2/models/linear/infer', request)
    expect(direct.status).toBe(200)
    expect(chained).toEqual(direct)
    expect(chained.body.outputs[0].shape).toEqual([3, 2])
  })

  it('gives identical predictions for V1 records and for an outputs filter', async () => {
    const v1 = await both('POST', '/v1/models/linear:predict', {
      instances: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    })
    expect(v1.direct.status).toBe(200)
    expect(v1.chained).toEqual(v1.direct)
    const filtered = await both('POST', '/v2/models/linear/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [[0.1, 0.2, 0.3]] }],
      outputs: [{ name: 'y' }],
    })
    expect(filtered.chained).toEqual(filtered.direct)
  })

  it('serves the same metadata and readiness', async () => {
    const meta = await both('GET', '/v2/models/linear')
    expect(meta.chained).toEqual(meta.direct)
    const ready = await both('GET', '/v2/models/linear/ready')
    expect(ready.chained).toEqual({ status: 200, body: { name: 'linear', ready: true } })
  })

  it('rejects a malformed request in gate B with the same 400 as gate A', async () => {
    const bad = { inputs: [{ name: 'x', datatype: 'fp32', shape: [1, 3], data: [1, 2, 3] }] }
    const { direct, chained } = await both('POST', '/v2/models/linear/infer', bad)
    expect(direct.status).toBe(400)
    expect(chained).toEqual(direct)
  })
})

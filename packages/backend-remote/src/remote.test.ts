import { createGate } from '@modelgate/core'
import type { Gate, ModelMetadata, Tensor } from '@modelgate/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createRemoteBackend } from './remote.js'
import { linearCompute } from './testing/linear.js'
import { startStandInServer, type StandInServer } from './testing/standin.js'
import type { RemoteBackendOptions } from './types.js'

const X = [
  [1, 2, 3],
  [-0.5, 0.25, 4],
]

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!()
})

async function standIn(
  options: Parameters<typeof startStandInServer>[0] = { protocol: 'v2' },
): Promise<StandInServer> {
  const server = await startStandInServer(options)
  cleanup.push(() => server.close())
  return server
}

async function gateOver(
  server: StandInServer,
  extra: Partial<RemoteBackendOptions> = {},
): Promise<Gate> {
  const backend = createRemoteBackend({
    url: server.url,
    protocol: 'v2',
    model: 'linear',
    retryBaseDelayMs: 5,
    ...extra,
  })
  const gate = createGate({ models: [{ name: 'linear', backend }] })
  cleanup.push(() => gate.close())
  await gate.ready()
  return gate
}

function infer(
  gate: Gate,
  body: unknown,
  signal?: AbortSignal,
  model = 'linear',
): Promise<Response> {
  return gate.fetch(
    new Request(`http://gate/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    }),
  )
}

const linearRequest = (rows = X) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows }],
})

function expectedY(rows = X): number[] {
  const [y] = linearCompute([
    { name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: new Float32Array(rows.flat()) },
  ])
  return Array.from(y!.data as Float32Array)
}

describe('OIP V2 end to end through the gate', () => {
  it('reads metadata from the server and answers with the stand-in computation', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    const meta = await (await gate.fetch(new Request('http://gate/v2/models/linear'))).json()
    expect(meta).toMatchObject({
      name: 'linear',
      platform: 'linear',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    })
    const res = await infer(gate, { id: 'r1', ...linearRequest() })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ model_name: 'linear', id: 'r1' })
    expect(body.outputs).toEqual([
      { name: 'y', datatype: 'FP32', shape: [2, 2], data: expectedY() },
    ])
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
  })

  it('forwards the outputs filter and request parameters', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    const res = await infer(gate, {
      ...linearRequest(),
      outputs: [{ name: 'y' }],
      parameters: { priority: 2 },
    })
    expect(res.status).toBe(200)
    expect(server.stats.lastInferBody).toMatchObject({
      outputs: [{ name: 'y' }],
      parameters: { priority: 2 },
    })
  })

  it('carries INT64 as numbers, BOOL as booleans and BYTES as strings both ways', async () => {
    const metadata: ModelMetadata = {
      platform: 'mixed',
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [-1] },
        { name: 'flags', datatype: 'BOOL', shape: [-1] },
        { name: 'tags', datatype: 'BYTES', shape: [-1] },
      ],
      outputs: [
        { name: 'next', datatype: 'INT64', shape: [-1] },
        { name: 'negated', datatype: 'BOOL', shape: [-1] },
        { name: 'upper', datatype: 'BYTES', shape: [-1] },
      ],
    }
    const compute = ([ids, flags, tags]: Tensor[]): Tensor[] => [
      {
        name: 'next',
        datatype: 'INT64',
        shape: ids!.shape,
        data: (ids!.data as BigInt64Array).map((v) => v + 1n),
      },
      {
        name: 'negated',
        datatype: 'BOOL',
        shape: flags!.shape,
        data: (flags!.data as Uint8Array).map((v) => 1 - v),
      },
      {
        name: 'upper',
        datatype: 'BYTES',
        shape: tags!.shape,
        data: (tags!.data as string[]).map((s) => s.toUpperCase()),
      },
    ]
    const server = await standIn({ protocol: 'v2', model: 'mixed', metadata, compute })
    const gate = await gateOver(server, { model: 'mixed' })
    const res = await gate.fetch(
      new Request('http://gate/v2/models/linear/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [
            { name: 'ids', datatype: 'INT64', shape: [2], data: [41, 9007199254740990] },
            { name: 'flags', datatype: 'BOOL', shape: [2], data: [true, false] },
            { name: 'tags', datatype: 'BYTES', shape: [2], data: ['a', 'ß'] },
          ],
        }),
      }),
    )
    expect(res.status).toBe(200)
    expect(server.stats.lastInferBody).toMatchObject({
      inputs: [{ data: [41, 9007199254740990] }, { data: [true, false] }, { data: ['a', 'ß'] }],
    })
    expect((await res.json()).outputs).toEqual([
      { name: 'next', datatype: 'INT64', shape: [2], data: [42, 9007199254740991] },
      { name: 'negated', datatype: 'BOOL', shape: [2], data: [false, true] },
      { name: 'upper', datatype: 'BYTES', shape: [2], data: ['A', 'SS'] },
    ])
  })

  it('calls a pinned version on its versioned routes', async () => {
    const server = await standIn({ protocol: 'v2', version: '3' })
    const gate = await gateOver(server, { version: '3' })
    expect((await infer(gate, linearRequest())).status).toBe(200)
    const wrong = createRemoteBackend({
      url: server.url,
      protocol: 'v2',
      model: 'linear',
      version: '4',
      retries: 0,
    })
    await expect(wrong.metadata()).rejects.toMatchObject({ status: 502 })
    expect(await wrong.ready()).toBe(false)
  })

  it('answers 502 for a malformed upstream tensor instead of crashing', async () => {
    const wrongLength = (): Tensor[] => [
      { name: 'y', datatype: 'FP32', shape: [2, 2], data: new Float32Array(3) },
    ]
    const unknownName = (): Tensor[] => [
      { name: 'z', datatype: 'FP32', shape: [1], data: new Float32Array(1) },
    ]
    for (const compute of [wrongLength, unknownName]) {
      const server = await standIn({ protocol: 'v2', compute })
      const gate = await gateOver(server)
      const res = await infer(gate, linearRequest())
      expect(res.status).toBe(502)
      expect(await res.json()).toEqual({
        error: 'the model server returned a malformed answer',
        code: 'bad_gateway',
      })
    }
  })
})

describe('reliability', () => {
  it('answers 503 JSON while the server is down, reports not ready, and recovers on the same port', async () => {
    const server = await standIn()
    const gate = await gateOver(server, { readyCacheMs: 0 })
    expect((await infer(gate, linearRequest())).status).toBe(200)
    await server.down()

    const down = await infer(gate, linearRequest())
    expect(down.status).toBe(503)
    expect(down.headers.get('content-type')).toBe('application/json')
    expect((await down.json()).error).toBeTypeOf('string')
    const ready = await gate.fetch(new Request('http://gate/v2/models/linear/ready'))
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ ready: false })

    await server.up()
    expect((await gate.fetch(new Request('http://gate/v2/models/linear/ready'))).status).toBe(200)
    const back = await infer(gate, linearRequest())
    expect(back.status).toBe(200)
    expect((await back.json()).outputs[0].data).toEqual(expectedY())
  })

  it('maps an unreachable server to 503 upstream_unavailable after retrying', async () => {
    const server = await standIn()
    const gate = await gateOver(server, { retries: 2 })
    await server.down()
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: 'the model server is unreachable',
      code: 'upstream_unavailable',
    })
  })

  it('answers 504 within the timeout and does not repeat a timed-out inference', async () => {
    const server = await standIn({ protocol: 'v2', delayMs: 2_000 })
    const gate = await gateOver(server, { timeoutMs: 200 })
    const started = performance.now()
    const res = await infer(gate, linearRequest())
    const elapsed = performance.now() - started
    expect(res.status).toBe(504)
    expect((await res.json()).code).toBe('upstream_timeout')
    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(200 + 300)
    expect(server.stats.infers).toBe(1)
  })

  it('repeats a timed-out inference with retryTimeouts', async () => {
    const server = await standIn({ protocol: 'v2', delayMs: 1_000 })
    const gate = await gateOver(server, { timeoutMs: 100, retries: 1, retryTimeouts: true })
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(504)
    expect(server.stats.infers).toBe(2)
  })

  it('retries a timed-out GET', async () => {
    const server = await standIn()
    server.failNext('hang', { routes: 'all' })
    const backend = createRemoteBackend({
      url: server.url,
      protocol: 'v2',
      model: 'linear',
      timeoutMs: 150,
      retryBaseDelayMs: 5,
    })
    expect((await backend.metadata()).inputs[0]!.name).toBe('x')
    expect(server.stats.requests).toBe(2)
  })

  it('retries 503 and a reset connection, then succeeds', async () => {
    for (const fault of [503, 502, 'reset'] as const) {
      const server = await standIn()
      const gate = await gateOver(server)
      server.failNext(fault)
      const res = await infer(gate, linearRequest())
      expect(res.status).toBe(200)
      expect((await res.json()).outputs[0].data).toEqual(expectedY())
      expect(server.stats.infers).toBe(2)
    }
  })

  it('gives up after the configured retries with 502', async () => {
    const server = await standIn()
    const gate = await gateOver(server, { retries: 2 })
    server.failNext(503, { times: 5 })
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(502)
    expect(server.stats.infers).toBe(3)
  })

  it('does not retry 500 unless listed in retryStatuses', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    server.failNext(500)
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(502)
    expect(await res.json()).toEqual({
      error: 'the model server answered HTTP 500',
      code: 'bad_gateway',
    })
    expect(server.stats.infers).toBe(1)

    const lenient = await standIn()
    const retrying = await gateOver(lenient, { retryStatuses: [500, 502, 503, 504] })
    lenient.failNext(500)
    expect((await infer(retrying, linearRequest())).status).toBe(200)
    expect(lenient.stats.infers).toBe(2)
  })

  it('turns an upstream 400 into a generic 400 without retrying or echoing it', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    server.failNext(400)
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: 'the model server rejected the request',
      code: 'upstream_rejected',
    })
    expect(text).not.toContain('injected')
    expect(server.stats.infers).toBe(1)
  })

  it('refuses a redirect with 502 instead of following it, without retrying', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    server.failNext(302)
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(502)
    expect(await res.json()).toEqual({
      error: 'the model server answered with a redirect',
      code: 'bad_gateway',
    })
    expect(server.stats.infers).toBe(1)
  })

  it('maps 429 to 503 upstream_busy and 404 to 502, without retrying', async () => {
    for (const [fault, status, code] of [
      [429, 503, 'upstream_busy'],
      [404, 502, 'bad_gateway'],
    ] as const) {
      const server = await standIn()
      const gate = await gateOver(server)
      server.failNext(fault)
      const res = await infer(gate, linearRequest())
      expect(res.status).toBe(status)
      expect((await res.json()).code).toBe(code)
      expect(server.stats.infers).toBe(1)
    }
  })

  it('refuses an answer larger than maxResponseBytes with 502', async () => {
    const server = await standIn()
    const gate = await gateOver(server, {
      metadata: {
        platform: 'linear',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
      },
      maxResponseBytes: 64,
    })
    const res = await infer(gate, linearRequest())
    expect(res.status).toBe(502)
    expect((await res.json()).error).toBe("the model server's answer exceeds 64 bytes")
  })

  it('answers 502 for garbage and for an answer cut off mid-body, without repeating the inference', async () => {
    for (const fault of ['garbage', 'truncate'] as const) {
      const server = await standIn()
      const gate = await gateOver(server)
      server.failNext(fault)
      const res = await infer(gate, linearRequest())
      expect(res.status).toBe(502)
      expect((await res.json()).code).toBe('bad_gateway')
      expect(server.stats.infers).toBe(1)
    }
  })

  it('cancels the upstream call when the client goes away, without retrying', async () => {
    const server = await standIn({ protocol: 'v2', delayMs: 3_000 })
    const gate = await gateOver(server)
    const client = new AbortController()
    setTimeout(() => client.abort(), 100)
    const started = performance.now()
    const res = await infer(gate, linearRequest(), client.signal)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect((await res.json()).code).toBe('client_closed')
    await expect.poll(() => server.stats.aborted, { timeout: 2_000 }).toBe(1)
    expect(server.stats.infers).toBe(1)
  })

  it('keeps connections alive: 20 sequential calls share one or two TCP connections', async () => {
    const server = await standIn()
    const gate = await gateOver(server)
    for (let i = 0; i < 20; i++) {
      const res = await infer(gate, linearRequest([[i, 1, 2]]))
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    expect(server.stats.infers).toBe(20)
    // Node's fetch (undici) alternates a strictly sequential caller between two pooled
    // connections; without keep-alive this would be 20.
    expect(server.stats.connections).toBeLessThanOrEqual(2)
  })
})

describe('upstream credentials', () => {
  it('sends URL credentials as Basic auth and never shows them in errors', async () => {
    const server = await standIn()
    const seen: Array<{ url: string; authorization: string | null; custom: string | null }> = []
    const spy: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers)
      seen.push({
        url: String(input),
        authorization: headers.get('authorization'),
        custom: headers.get('x-upstream'),
      })
      return fetch(input, init)
    }
    const url = server.url.replace('http://', 'http://gate%40svc:s3cret@')
    const gate = await gateOver(server, {
      url,
      fetch: spy,
      headers: { 'x-upstream': 'yes' },
      readyCacheMs: 0,
    })
    expect((await infer(gate, linearRequest())).status).toBe(200)
    expect(seen.at(-1)).toEqual({
      url: `${server.url}/v2/models/linear/infer`,
      authorization: `Basic ${btoa('gate@svc:s3cret')}`,
      custom: 'yes',
    })
    await server.down()
    const text = await (await infer(gate, linearRequest())).text()
    expect(text).not.toContain('s3cret')
    expect(text).not.toContain('127.0.0.1')
  })
})

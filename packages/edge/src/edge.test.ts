import { createServer, request as httpRequest, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createGate,
  pushStream,
  UnauthorizedError,
  type ModelBackend,
  type Plugin,
  type TensorMetadata,
} from '@modelgate/core'
import { toFetchModule } from './fetch-module.js'
import { nodeListener, serveListener, serveNode } from './node/index.js'
import type { FetchHandler } from './types.js'
import type { NodeServer } from './node/types.js'

const running: NodeServer[] = []
const plain: Server[] = []

async function serve(handler: FetchHandler): Promise<NodeServer> {
  const s = await serveNode(handler, { port: 0, closeTimeoutMs: 1000 })
  running.push(s)
  return s
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
  for (const s of plain.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

const identity: ModelBackend = {
  async metadata() {
    const x: TensorMetadata = { name: 'x', datatype: 'FP32', shape: [-1, 1] }
    return { platform: 'js', inputs: [x], outputs: [x] }
  },
  async ready() {
    return true
  },
  async infer(tensors) {
    return tensors
  },
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Writes `head` on a raw socket and resolves with everything the server sent until it closed. */
function untilClosed(socket: ReturnType<typeof connect>, head: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let data = ''
    socket.on('data', (d) => (data += d.toString('latin1')))
    socket.on('error', reject)
    socket.on('close', () => resolve(data))
    socket.write(head)
  })
}

describe('toFetchModule', () => {
  it('serves the gate and turns anything thrown into a JSON 500', async () => {
    const mod = toFetchModule(createGate({ models: [] }))
    const live = await mod.fetch(
      new Request('http://edge/v2/health/live'),
      {},
      { waitUntil: () => undefined },
    )
    expect(await live.json()).toEqual({ live: true })

    const broken = toFetchModule({
      fetch: () => {
        throw new Error('at /srv/secret.js:1:1')
      },
    })
    const res = await broken.fetch(new Request('http://edge/'))
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('{"error":"internal error","code":"internal"}')
    expect(() => toFetchModule({} as FetchHandler)).toThrow(TypeError)
  })
})

describe('nodeListener and serveNode', () => {
  it('passes method, path, query, headers and body through, and repeated set-cookie back', async () => {
    let seen: { method: string; url: string; custom: string | null; body: string } | undefined
    const s = await serve({
      async fetch(request) {
        seen = {
          method: request.method,
          url: request.url,
          custom: request.headers.get('x-custom'),
          body: await request.text(),
        }
        const headers = new Headers([
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
          ['content-type', 'text/plain'],
        ])
        return new Response('done', { status: 207, headers })
      },
    })
    const res = await fetch(`${s.url}/some/path?q=1&r=two`, {
      method: 'PUT',
      headers: { 'x-custom': 'yes' },
      body: 'payload',
    })
    expect(res.status).toBe(207)
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await res.text()).toBe('done')
    expect(seen).toEqual({
      method: 'PUT',
      url: `${s.url}/some/path?q=1&r=two`,
      custom: 'yes',
      body: 'payload',
    })
  })

  it('never lets the request path choose the URL host', async () => {
    const urls: string[] = []
    const server = createServer(
      nodeListener({ fetch: async (r) => (urls.push(r.url), new Response('ok')) }),
    )
    plain.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    for (const path of ['//evil.example/v2', 'http://evil.example/v2?x=1']) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path, headers: { host: 'gate.local' } },
          (res) => {
            res.resume()
            res.on('end', resolve)
          },
        )
        req.on('error', reject)
        req.end()
      })
    }
    expect(urls).toEqual(['http://gate.local//evil.example/v2', 'http://gate.local/v2?x=1'])
  })

  it('routes on the request line alone: neither the Host header nor path tricks change the route', async () => {
    const seen: string[] = []
    const probe: Plugin = async function probe(ctx, next) {
      seen.push(`${ctx.route.kind} ${ctx.url.pathname}`)
      await next()
    }
    const s = await serve(toFetchModule(createGate({ models: [], plugins: [probe] })))
    const exchange = (target: string, host: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1')
        let data = ''
        socket.on('data', (d) => (data += d.toString('latin1')))
        socket.on('error', reject)
        socket.on('close', () => resolve(data))
        socket.write(`GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`)
      })
    const cases: Array<[string, string]> = [
      ['/v2/models/secret/infer', 'x/v2/health/live#'],
      ['/v2/models/secret/infer', 'x/v2/health/live?'],
      ['/v2/models/secret/infer', 'x\\v2\\health\\live#'],
      ['/v2/health/live', 'a@b/metrics?'],
      ['/public/../v2/health/live', 'x'],
      ['/public/%2E%2e/v2/health/live', 'x'],
      ['/public/.%2e/v2/health/live', 'x'],
      ['/v2/./health/live', 'x'],
      ['/v2\\health\\live', 'x'],
      ['http://x/public/../v2/health/live', 'x'],
    ]
    for (const [target, host] of cases) {
      const text = await exchange(target, host)
      expect(text, `${target} with host ${host}`).toMatch(/^HTTP\/1\.1 400 /)
      expect(text).toMatch(/\r\ncontent-type: application\/json\r\n/i)
    }
    expect(seen).toEqual([])
    for (const host of [
      'gate.local',
      'gate.local:8080',
      'model_gate:80',
      '127.0.0.1:1',
      '[::1]:8080',
    ]) {
      const text = await exchange('/v2/health/live', host)
      expect(text, host).toMatch(/^HTTP\/1\.1 200 /)
    }
    expect(seen).toEqual(Array(5).fill('health-live /v2/health/live'))
  })

  it('answers TRACE with a JSON 405, also to handlers that read the body', async () => {
    const gate = createGate({ models: [{ name: 'm', backend: identity }] })
    const s = await serve({ fetch: (request) => gate.fetch(request) })
    for (const path of ['/v2/models/m/infer', '/v2/health/live']) {
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1')
        let data = ''
        socket.on('data', (d) => (data += d.toString('latin1')))
        socket.on('error', reject)
        socket.on('close', () => resolve(data))
        socket.write(`TRACE ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`)
      })
      expect(text, path).toMatch(/^HTTP\/1\.1 405 /)
      expect(text).toMatch(/\{"error":"method not allowed","code":"method_not_allowed"\}$/)
    }
  })

  it('streams the response: the first chunk arrives before the last is produced', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const s = await serve({
      async fetch() {
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('first,'))
            await gate
            controller.enqueue(new TextEncoder().encode('last'))
            controller.close()
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/plain' } })
      },
    })
    const res = await fetch(s.url)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('first,')
    release()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value)
    expect(rest).toBe('last')
  })

  it('aborts the request signal when the client goes away', async () => {
    let aborted!: () => void
    const sawAbort = new Promise<string>((resolve) => (aborted = () => resolve('aborted')))
    const s = await serve({
      fetch: (request) =>
        new Promise<Response>((resolve) => {
          request.signal.addEventListener('abort', () => {
            aborted()
            resolve(new Response('late'))
          })
        }),
    })
    const client = new AbortController()
    const pending = fetch(s.url, { signal: client.signal })
    setTimeout(() => client.abort(), 50)
    await expect(pending).rejects.toThrow()
    expect(await Promise.race([sawAbort, sleep(3000).then(() => 'timeout')])).toBe('aborted')
  })

  it('answers a declared 40 MB body with 413 at once and closes the connection', async () => {
    const s = await serve(toFetchModule(createGate({ models: [{ name: 'm', backend: identity }] })))
    const socket = connect(s.port, '127.0.0.1')
    const started = Date.now()
    const text = await untilClosed(
      socket,
      'POST /v1/models/m:predict HTTP/1.1\r\nhost: x\r\ncontent-length: 41943040\r\n\r\n{"instances":[',
    )
    expect(Date.now() - started).toBeLessThan(3000)
    expect(text).toMatch(/^HTTP\/1\.1 413 /)
    expect(text).toMatch(/\r\nconnection: close\r\n/i)
    const after = await fetch(`${s.url}/v1/models/m:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"instances":[[1.5]]}',
    })
    expect(await after.json()).toEqual({ predictions: [1.5] })
  })

  it('answers 408 and closes a connection whose body trickles in past requestTimeoutMs', async () => {
    let inferred = 0
    const counting: ModelBackend = {
      ...identity,
      async infer(tensors) {
        inferred++
        return tensors
      },
    }
    const gate = createGate({ models: [{ name: 'm', backend: counting }] })
    const s = await serveNode(toFetchModule(gate), { port: 0, requestTimeoutMs: 600 })
    running.push(s)
    const socket = connect(s.port, '127.0.0.1')
    const started = Date.now()
    const trickle = setInterval(() => socket.writable && socket.write('1\r\n \r\n'), 100)
    const text = await untilClosed(
      socket,
      'POST /v1/models/m:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    ).finally(() => clearInterval(trickle))
    expect(text).toMatch(/^HTTP\/1\.1 408 /)
    expect(Date.now() - started).toBeLessThan(5000)
    // The body never completed, so no model ran for it.
    expect(inferred).toBe(0)
    const after = await fetch(`${s.url}/v1/models/m:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"instances":[[2.5]]}',
    })
    expect(await after.json()).toEqual({ predictions: [2.5] })
    expect(inferred).toBe(1)
  })

  it('drains an unread body so a keep-alive connection serves the next request', async () => {
    const reject: Plugin = async function reject() {
      throw new UnauthorizedError('no')
    }
    const s = await serve(toFetchModule(createGate({ models: [], plugins: [reject] })))
    const socket = connect(s.port, '127.0.0.1')
    const body = 'x'.repeat(200_000)
    const request = (path: string) =>
      `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`
    const replies = await new Promise<string>((resolve, reject) => {
      let data = ''
      socket.on('data', (d) => {
        data += d.toString('latin1')
        if ((data.match(/HTTP\/1\.1 401/g) ?? []).length === 2) resolve(data)
      })
      socket.on('error', reject)
      socket.write(request('/v2/models/a/infer') + request('/v2/models/b/infer'))
    })
    socket.destroy()
    expect(replies.match(/HTTP\/1\.1 401/g)).toHaveLength(2)
  })

  it('close() lets a request in flight finish, then stops listening', async () => {
    const s = await serveNode(
      {
        fetch: async () => {
          await sleep(200)
          return new Response('finished')
        },
      },
      { port: 0 },
    )
    const inFlight = fetch(s.url).then(async (r) => [r.headers.get('connection'), await r.text()])
    await sleep(50)
    const started = Date.now()
    await s.close()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(await inFlight).toEqual(['close', 'finished'])
    await expect(fetch(s.url)).rejects.toThrow()
    expect(s.server.listening).toBe(false)
  })

  it('validates its options', async () => {
    await expect(serveNode({ fetch: async () => new Response() }, { port: -1 })).rejects.toThrow(
      /port/,
    )
    await expect(
      serveNode({ fetch: async () => new Response() }, { port: 0, requestTimeoutMs: 5 }),
    ).rejects.toThrow(/requestTimeoutMs/)
    expect(() => nodeListener({} as FetchHandler)).toThrow(TypeError)
  })
})

describe('pushed bodies on Node', () => {
  /** A handler with the gate's fast path (`handle`) answering with `body`. */
  const answering = (body: () => ReadableStream<Uint8Array>): FetchHandler => ({
    fetch: async () => new Response(body()),
    handle: async () => ({ status: 200, headers: new Headers(), body: body() }),
  })
  /** GETs `/` and resolves with the status and body, or the client's error code. */
  const get = (url: string, onData?: (req: ReturnType<typeof httpRequest>) => void) =>
    new Promise<string>((resolve) => {
      const req = httpRequest(`${url}/`, (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
          onData?.(req)
        })
        res.on('end', () => resolve(`${res.statusCode} ${text}`))
        res.on('error', () => resolve(`${res.statusCode} ${text} (cut)`))
      })
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
      req.end()
    })

  it('answers 500 when the source throws as it starts', async () => {
    const server = await serve(
      answering(() =>
        pushStream(() => {
          throw new Error('cannot start')
        }),
      ),
    )
    expect(await get(server.url)).toMatch(/^500 .*"internal"/)
  })

  it('lets go of a source whose cancel throws when the client leaves', async () => {
    let cancelled = false
    const server = await serve(
      answering(() =>
        pushStream((sink) => {
          const timer = setInterval(() => sink.write(new TextEncoder().encode('tick\n')), 5)
          return {
            resume() {},
            cancel() {
              clearInterval(timer)
              cancelled = true
              throw new Error('cancel failed')
            },
          }
        }),
      ),
    )
    expect(await get(server.url, (req) => req.destroy())).toMatch(/cut|ECONNRESET|^200/)
    await sleep(50)
    expect(cancelled).toBe(true)
  })

  it('answers 500 when a streamed answer fails before its first byte, observers or not', async () => {
    for (const observed of [false, true]) {
      const outcomes: Array<string | undefined> = []
      const observer = Object.assign(
        async function observer(_ctx: unknown, next: () => Promise<void>) {
          await next()
        },
        { onResponse: (_ctx: unknown, o: { error?: string }) => void outcomes.push(o.error) },
      ) as Plugin
      const gate = createGate({
        models: [],
        plugins: observed ? [observer] : [],
        routes: [
          {
            name: 'fails',
            methods: ['GET'],
            path: '/',
            operation: 'health',
            async terminal(ctx) {
              ctx.body = new ReadableStream<Uint8Array>({
                pull: (c) => c.error(new Error('the backend broke before any byte')),
              })
            },
          },
        ],
      })
      const server = await serve(toFetchModule(gate))
      expect(await get(server.url)).toMatch(/^500 /)
      if (observed) expect(outcomes).toEqual(['stream_failed'])
    }
  })
})

describe('serveListener', () => {
  it('serves any request listener and lets a request in flight finish on close', async () => {
    const server = await serveListener(
      (_req, res) => {
        setTimeout(() => res.end('slow ok'), 150)
      },
      { port: 0, closeTimeoutMs: 2000 },
    )
    const pending = fetch(`${server.url}/anything`)
    await new Promise((resolve) => setTimeout(resolve, 30))
    const closed = server.close()
    const res = await pending
    expect(await res.text()).toBe('slow ok')
    expect(res.headers.get('connection')).toBe('close')
    await closed
    await expect(fetch(`${server.url}/again`)).rejects.toThrow()
  })
})

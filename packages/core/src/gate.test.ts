import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { UnauthorizedError } from './errors.js'
import { createGate } from './gate.js'
import type { ModelBackend, Plugin, Tensor } from './types.js'

/** A linear scorer y = x·w + b over [batch, 3] rows, counting its calls. */
class LinearBackend implements ModelBackend {
  calls = 0
  loaded = false
  constructor(private readonly loadDelayMs = 0) {}
  async load() {
    await new Promise((resolve) => setTimeout(resolve, this.loadDelayMs))
    this.loaded = true
  }
  async metadata() {
    return {
      platform: 'js',
      inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 3] }],
      outputs: [
        { name: 'score', datatype: 'FP32' as const, shape: [-1, 1] },
        { name: 'rank', datatype: 'INT64' as const, shape: [-1] },
      ],
    }
  }
  async ready() {
    return this.loaded
  }
  async infer(inputs: Tensor[]): Promise<Tensor[]> {
    this.calls++
    const x = inputs[0]!.data as Float32Array
    const rows = inputs[0]!.shape[0]!
    const score = new Float32Array(rows)
    const rank = new BigInt64Array(rows)
    for (let r = 0; r < rows; r++) {
      score[r] = x[r * 3]! * 0.5 + x[r * 3 + 1]! * -1 + x[r * 3 + 2]! * 2 + 0.25
      rank[r] = BigInt(r) + 9007199254740000n
    }
    return [
      { name: 'score', datatype: 'FP32', shape: [rows, 1], data: score },
      { name: 'rank', datatype: 'INT64', shape: [rows], data: rank },
    ]
  }
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`http://gate${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
const get = (path: string, method = 'GET') => new Request(`http://gate${path}`, { method })
const infer = { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 0, 0, 0] }] }

describe('createGate', () => {
  it('serves health, server and model metadata', async () => {
    const gate = createGate({
      models: [{ name: 'lin', version: '1', backend: new LinearBackend() }],
    })
    await gate.ready()
    expect(await (await gate.fetch(get('/v2/health/live'))).json()).toEqual({ live: true })
    expect((await gate.fetch(get('/v2/health/ready'))).status).toBe(200)
    expect(await (await gate.fetch(get('/v2'))).json()).toEqual({
      name: 'modelgate',
      version: '0.1.0',
      extensions: [],
    })
    const meta = await (await gate.fetch(get('/v2/models/lin/versions/1'))).json()
    expect(meta).toEqual({
      name: 'lin',
      versions: ['1'],
      platform: 'js',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [
        { name: 'score', datatype: 'FP32', shape: [-1, 1] },
        { name: 'rank', datatype: 'INT64', shape: [-1] },
      ],
    })
    expect(await (await gate.fetch(get('/v2/models/lin/ready'))).json()).toEqual({
      name: 'lin',
      ready: true,
    })
    expect((await gate.fetch(get('/v2/models/lin/versions/7'))).status).toBe(404)
  })

  it('runs inference, echoes id and serialises INT64 as numbers', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend() }] })
    await gate.ready()
    const res = await gate.fetch(
      post('/v2/models/lin/infer', { ...infer, id: 'r1' }, { 'x-request-id': 'abc-1' }),
    )
    expect(res.status).toBe(200)
    // The gate makes its own request id; the client's is echoed beside it, never used as the id.
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-client-request-id')).toBe('abc-1')
    const body = await res.json()
    expect(body).toEqual({
      model_name: 'lin',
      id: 'r1',
      outputs: [
        { name: 'score', datatype: 'FP32', shape: [2, 1], data: [4.75, 0.25] },
        { name: 'rank', datatype: 'INT64', shape: [2], data: [9007199254740000, 9007199254740001] },
      ],
    })
  })

  it('answers 503 until the model is loaded', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend(100) }] })
    expect((await gate.fetch(get('/v2/health/ready'))).status).toBe(503)
    expect((await gate.fetch(post('/v2/models/lin/infer', infer))).status).toBe(503)
    await gate.ready()
    expect((await gate.fetch(post('/v2/models/lin/infer', infer))).status).toBe(200)
  })

  it('retries a model whose load failed and serves it once it loads', async () => {
    const backend = new LinearBackend()
    let attempts = 0
    backend.load = async () => {
      if (++attempts === 1) throw new Error('upstream down')
      backend.loaded = true
    }
    const gate = createGate({ models: [{ name: 'lin', backend }] })
    await expect(gate.ready()).rejects.toThrow('upstream down')
    expect((await gate.fetch(post('/v2/models/lin/infer', infer))).status).toBe(503)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    expect((await gate.fetch(get('/v2/health/ready'))).status).toBe(503)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect((await gate.fetch(get('/v2/health/ready'))).status).toBe(200)
    expect((await gate.fetch(post('/v2/models/lin/infer', infer))).status).toBe(200)
    expect(attempts).toBe(2)
  })

  it('maps V1 records through a feature schema and names predictions', async () => {
    const gate = createGate({
      models: [
        {
          name: 'lin',
          backend: new LinearBackend(),
          schema: {
            features: [
              { name: 'a', type: 'numeric' },
              { name: 'kind', type: 'categorical', categories: ['x', 'y'] },
              { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' },
            ],
            outputNames: { score: ['risk'] },
          },
        },
      ],
    })
    await gate.ready()
    const res = await gate.fetch(
      post('/v1/models/lin:predict', { instances: [{ a: 1, kind: 'y', email: 'a@example.com' }] }),
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ predictions: [{ risk: 2.75, rank: 9007199254740000 }] })
    const bad = await gate.fetch(
      post('/v1/models/lin:predict', { instances: [{ a: 1, kind: 'z' }] }),
    )
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({
      error: 'instances[0].kind is not one of the known categories',
    })
  })

  it('holds V1 records to the tensor element limit before encoding them', async () => {
    const backend = new LinearBackend()
    const gate = createGate({
      models: [
        {
          name: 'lin',
          backend,
          schema: {
            features: [
              { name: 'a', type: 'numeric', missing: 0 },
              { name: 'kind', type: 'categorical', categories: ['x', 'y'], missing: 'x' },
            ],
          },
        },
      ],
      limits: { maxTensorElements: 30 },
    })
    await gate.ready()
    const records = (n: number) => ({ instances: Array.from({ length: n }, () => ({})) })
    const ok = await gate.fetch(post('/v1/models/lin:predict', records(10)))
    expect(ok.status).toBe(200)
    const big = await gate.fetch(post('/v1/models/lin:predict', records(11)))
    expect(big.status).toBe(413)
    expect(await big.json()).toEqual({
      error: 'instances: 11 records of 3 columns exceed 30 tensor elements',
      code: 'payload_too_large',
    })
    expect(backend.calls).toBe(1)
  })

  it('checks that "data" fills the shape before allocating storage for it', async () => {
    const backend = new LinearBackend()
    const errors: unknown[] = []
    const gate = createGate({
      models: [{ name: 'lin', backend }],
      limits: { maxTensorElements: 2 ** 40 },
      onError: (error) => errors.push(error),
    })
    await gate.ready()
    // 2^37 FP32 elements would be 512 GiB: the request must be refused for its data, not tried.
    const shape = [2 ** 35, 3]
    for (const data of [
      [],
      [[1, 2, 3]],
      [
        [1, 2, 3],
        [4, 5],
      ],
    ]) {
      const res = await gate.fetch(
        post('/v2/models/lin/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }),
      )
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('bad_request')
    }
    const rows = await gate.fetch(post('/v1/models/lin:predict', { instances: [[1, 2, 3], []] }))
    expect(rows.status).toBe(400)
    expect(errors).toEqual([])
    expect(backend.calls).toBe(0)
  })

  it('refuses floats that are not finite in the tensor datatype', async () => {
    const backend = new LinearBackend()
    const gate = createGate({
      models: [
        { name: 'lin', backend },
        {
          name: 'rec',
          backend,
          schema: { features: ['a', 'b', 'c'].map((name) => ({ name, type: 'numeric' as const })) },
        },
      ],
    })
    await gate.ready()
    for (const value of ['1e400', '-1e400', '1e39']) {
      const body = `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,${value},3]}]}`
      const res = await gate.fetch(post('/v2/models/lin/infer', body))
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({
        error: 'input "x": "data" holds a value that is not a valid FP32',
        code: 'bad_request',
      })
      const v1 = await gate.fetch(
        post('/v1/models/rec:predict', `{"instances":[{"a":1,"b":${value},"c":3}]}`),
      )
      expect(v1.status).toBe(400)
    }
    expect(backend.calls).toBe(0)
    const ok = await gate.fetch(
      post('/v2/models/lin/infer', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [3e38, -3e38, 1e-46] }],
      }),
    )
    expect(ok.status).toBe(200)
  })

  it('maps V1 rows without a schema onto the first input', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend() }] })
    await gate.ready()
    const res = await gate.fetch(post('/v1/models/lin:predict', { instances: [[1, 2, 3]] }))
    expect(await res.json()).toEqual({ predictions: [{ score: 4.75, rank: 9007199254740000 }] })
    expect(await (await gate.fetch(get('/v1/models/lin'))).json()).toEqual({
      name: 'lin',
      ready: true,
    })
  })

  it('runs plugins as an onion and a rejection never reaches the backend', async () => {
    const backend = new LinearBackend()
    const order: string[] = []
    const outer: Plugin = async function outer(ctx, next) {
      order.push('outer in')
      try {
        await next()
      } finally {
        order.push(`outer out ${ctx.status}`)
      }
    }
    const guard: Plugin = async function guard(ctx, next) {
      order.push('guard')
      if (ctx.request.headers.get('authorization') !== 'Bearer ok') {
        throw new UnauthorizedError('invalid token', {
          'www-authenticate': 'Bearer error="invalid_token"',
        })
      }
      await next()
      ctx.headers.set('x-guarded', 'yes')
    }
    const gate = createGate({ models: [{ name: 'lin', backend }], plugins: [outer, guard] })
    await gate.ready()
    const denied = await gate.fetch(post('/v2/models/lin/infer', infer))
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(await denied.json()).toEqual({ error: 'invalid token', code: 'unauthorized' })
    expect(backend.calls).toBe(0)
    const allowed = await gate.fetch(
      post('/v2/models/lin/infer', infer, { authorization: 'Bearer ok' }),
    )
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('x-guarded')).toBe('yes')
    expect(backend.calls).toBe(1)
    expect(order).toEqual([
      'outer in',
      'guard',
      'outer out 200',
      'outer in',
      'guard',
      'outer out 200',
    ])
  })

  it('hides internal errors behind an opaque 500 and reports them to onError', async () => {
    const seen: unknown[] = []
    const backend = new LinearBackend()
    backend.infer = async () => {
      throw new Error('secret connection string postgres://u:pw@db')
    }
    const gate = createGate({ models: [{ name: 'lin', backend }], onError: (e) => seen.push(e) })
    await gate.ready()
    const res = await gate.fetch(post('/v2/models/lin/infer', infer))
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toContain('postgres')
    expect(JSON.parse(text)).toEqual({ error: 'inference failed', code: 'backend_error' })
    expect(seen).toHaveLength(1)
  })

  it('answers JSON errors for unknown routes, models, methods and explain without the extension', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend() }] })
    await gate.ready()
    const cases: Array<[Request, number]> = [
      [get('/nope'), 404],
      [get('/v2/models/other'), 404],
      [post('/v2/models/other/infer', infer), 404],
      [get('/v2/models/lin/infer'), 405],
      [post('/v2/health/live', {}), 405],
      [post('/v2/models/lin/explain', infer), 404],
      [post('/v2/models/lin/infer', 'not json'), 400],
      [
        new Request('http://gate/v2/models/lin/infer', {
          method: 'POST',
          body: 'x',
          headers: { 'content-type': 'text/csv' },
        }),
        415,
      ],
    ]
    for (const [req, status] of cases) {
      const res = await gate.fetch(req)
      expect(res.status, `${req.method} ${req.url}`).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(typeof (await res.json()).error).toBe('string')
    }
    const res = await gate.fetch(get('/v2/models/lin/infer'))
    expect(res.headers.get('allow')).toBe('POST')
  })

  it('accepts a string body sent with fetch defaults (text/plain)', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend() }] })
    await gate.ready()
    const req = new Request('http://gate/v2/models/lin/infer', {
      method: 'POST',
      body: JSON.stringify(infer),
    })
    expect(req.headers.get('content-type')).toMatch(/^text\/plain/)
    expect((await gate.fetch(req)).status).toBe(200)
  })

  it('refuses a compressed body with 415 instead of parsing its bytes', async () => {
    let calls = 0
    const backend = new LinearBackend()
    const infer0 = backend.infer.bind(backend)
    backend.infer = (inputs) => (calls++, infer0(inputs))
    const gate = createGate({ models: [{ name: 'lin', backend }] })
    await gate.ready()
    const send = (encoding: string) =>
      gate.fetch(
        new Request('http://gate/v2/models/lin/infer', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
          body: gzipSync(JSON.stringify(infer)),
        }),
      )
    for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
      const res = await send(encoding)
      expect(res.status).toBe(415)
      expect(await res.json()).toMatchObject({ code: 'unsupported_content_encoding' })
    }
    expect(calls).toBe(0)
    const identity = await gate.fetch(
      new Request('http://gate/v2/models/lin/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
        body: JSON.stringify(infer),
      }),
    )
    expect(identity.status).toBe(200)
    expect(calls).toBe(1)
  })

  it('answers HEAD on GET routes without a body', async () => {
    const gate = createGate({ models: [{ name: 'lin', backend: new LinearBackend() }] })
    await gate.ready()
    const res = await gate.fetch(get('/v2/health/live', 'HEAD'))
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
  })

  it('runs the plugins around a custom handler', async () => {
    const tag: Plugin = async function tag(ctx, next) {
      await next()
      ctx.headers.set('x-op', ctx.operation)
    }
    const gate = createGate({ models: [], plugins: [tag] })
    const reply = await gate.handleRoute(post('/anything', { n: 2 }), {
      name: 'double',
      operation: 'predict',
      terminal: async (ctx) => {
        const body = (await ctx.json()) as { n: number }
        ctx.body = { doubled: body.n * 2 }
      },
    })
    expect(reply.headers.get('x-op')).toBe('predict')
    expect(JSON.parse(new TextDecoder().decode(reply.body as Uint8Array))).toEqual({ doubled: 4 })
  })

  it('lists plugin extensions in GET /v2', async () => {
    const explain: Plugin = Object.assign(
      async function explain(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      { extensions: ['explain'] },
    )
    const gate = createGate({ models: [], plugins: [explain] })
    expect((await (await gate.fetch(get('/v2'))).json()).extensions).toEqual(['explain'])
  })

  it('validates options at construction', () => {
    expect(() =>
      createGate({ models: [{ name: 'bad name', backend: new LinearBackend() }] }),
    ).toThrow(TypeError)
    expect(() => createGate({ models: [{ name: 'm', backend: {} as ModelBackend }] })).toThrow(
      /backend must implement/,
    )
    expect(() => createGate({ models: [], limits: { maxBodyBytes: -1 } })).toThrow(/maxBodyBytes/)
    const b = new LinearBackend()
    expect(() =>
      createGate({
        models: [
          { name: 'm', backend: b },
          { name: 'm', backend: b },
        ],
      }),
    ).toThrow(/twice/)
  })

  it('merges concurrent requests when batching is on', async () => {
    const backend = new LinearBackend()
    const gate = createGate({
      models: [{ name: 'lin', backend, batching: { maxBatchSize: 32, maxDelayMs: 20 } }],
    })
    await gate.ready()
    const one = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => gate.fetch(post('/v2/models/lin/infer', one))),
    )
    for (const res of responses) {
      expect((await res.json()).outputs[0].data).toEqual([4.75])
    }
    expect(backend.calls).toBe(1)
  })
})

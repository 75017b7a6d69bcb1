import { describe, expect, it } from 'vitest'
import { GateError, UnauthorizedError } from './errors.js'
import { createGate } from './gate.js'
import type {
  GateOutcome,
  IncomingRequest,
  ModelBackend,
  Plugin,
  RouteDefinition,
  Tensor,
} from './types.js'

/** y = 2·x0 + x1 over [batch, 2] rows, counting its calls. */
function doubler(): ModelBackend & { calls: number } {
  const backend = {
    calls: 0,
    async metadata() {
      return {
        platform: 'js',
        inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }],
        outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs: Tensor[]): Promise<Tensor[]> {
      backend.calls++
      const x = inputs[0]!.data as Float32Array
      const rows = inputs[0]!.shape[0]!
      const y = new Float32Array(rows).map((_, r) => 2 * x[2 * r]! + x[2 * r + 1]!)
      return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: y }]
    },
  }
  return backend
}

const schema = {
  features: [
    { name: 'a', type: 'numeric' as const, min: 0, max: 10 },
    { name: 'b', type: 'numeric' as const },
  ],
  outputNames: { y: ['score'] },
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`http://gate${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
const get = (path: string, method = 'GET') => new Request(`http://gate${path}`, { method })

/** Records every outcome the gate reports, whatever its place in the chain. */
function observer(): Plugin & { seen: Array<{ route: string; outcome: GateOutcome }> } {
  const seen: Array<{ route: string; outcome: GateOutcome }> = []
  const plugin = Object.assign(
    async function observe(_ctx: unknown, next: () => Promise<void>) {
      await next()
    },
    {
      seen,
      onResponse(ctx: { route: { kind: string } }, outcome: GateOutcome) {
        seen.push({ route: ctx.route.kind, outcome })
      },
    },
  )
  return plugin as unknown as Plugin & { seen: typeof seen }
}

describe('the plugin pipeline', () => {
  it('fails a request whose plugin neither calls next() nor refuses, and never runs the model', async () => {
    const backend = doubler()
    const answersItself: Plugin = async function answersItself(ctx) {
      ctx.body = { answered: 'by a plugin' }
    }
    const gate = createGate({ models: [{ name: 'd', backend }], plugins: [answersItself] })
    await gate.ready()
    const res = await gate.fetch(
      post('/v2/models/d/infer', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
      }),
    )
    expect(res.status).toBe(500)
    expect((await res.json()).code).toBe('plugin_skipped_next')
    expect(backend.calls).toBe(0)
  })

  it('serves contributed routes with the whole onion around their terminal', async () => {
    const order: string[] = []
    const outer: Plugin = async function outer(ctx, next) {
      order.push(`in:${ctx.route.name ?? ctx.route.kind}:${ctx.operation}`)
      await next()
      order.push('out')
    }
    const pinger: Plugin = Object.assign(
      async function pinger(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      {
        routes: [
          {
            name: 'ping',
            methods: ['GET'],
            path: '/ping',
            operation: 'health',
            terminal: async (ctx) => {
              ctx.body = { pong: true }
            },
          },
          {
            name: 'model-card',
            methods: ['GET'],
            path: '/cards/{model}',
            operation: 'metadata',
            terminal: async (ctx) => {
              ctx.body = { card: ctx.requireModel().name }
            },
          },
          {
            name: 'docs',
            methods: ['GET'],
            path: '/docs/*',
            operation: 'console',
            terminal: async (ctx) => {
              ctx.body = ctx.url.pathname
            },
          },
        ] satisfies RouteDefinition[],
      },
    ) as Plugin
    const gate = createGate({
      models: [{ name: 'd', backend: doubler() }],
      plugins: [outer, pinger],
    })
    await gate.ready()
    expect(await (await gate.fetch(get('/ping'))).json()).toEqual({ pong: true })
    expect(order).toEqual(['in:ping:health', 'out'])
    expect(await (await gate.fetch(get('/cards/d'))).json()).toEqual({ card: 'd' })
    expect((await gate.fetch(get('/cards/zz'))).status).toBe(404)
    expect(await (await gate.fetch(get('/docs/a/b'))).text()).toBe('/docs/a/b')
    expect((await gate.fetch(get('/docs'))).status).toBe(200)
    const head = await gate.fetch(get('/ping', 'HEAD'))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const wrong = await gate.fetch(post('/ping', {}))
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, HEAD')
  })

  it('refuses route tables that are ambiguous or malformed', () => {
    const terminal = async () => undefined
    const route = {
      name: 'a',
      methods: ['GET'],
      path: '/a',
      operation: 'health' as const,
      terminal,
    }
    expect(() => createGate({ models: [], routes: [route, { ...route, name: 'b' }] })).toThrow(
      'two routes claim GET /a',
    )
    expect(() => createGate({ models: [], routes: [{ ...route, path: 'a' }] })).toThrow(
      /start with/,
    )
    expect(() => createGate({ models: [], routes: [{ ...route, path: '/{tenant}' }] })).toThrow(
      /placeholders/,
    )
  })

  it('runs seal stages before sign stages, whatever the plugin order', async () => {
    const sealer: Plugin = async function sealer(ctx, next) {
      ctx.onAnswer('seal', async (answer) => {
        answer.body = new TextEncoder().encode('sealed')
        answer.headers.set('content-type', 'application/jose')
        answer.sealed = true
      })
      await next()
    }
    const signer: Plugin = async function signer(ctx, next) {
      ctx.onAnswer('sign', async (answer) => {
        const body = answer.body instanceof Uint8Array ? new TextDecoder().decode(answer.body) : ''
        answer.headers.set('x-signed-over', body.slice(0, 20))
      })
      await next()
    }
    for (const plugins of [
      [sealer, signer],
      [signer, sealer],
    ]) {
      const gate = createGate({ models: [], plugins })
      const ok = await gate.fetch(get('/v2/health/live'))
      expect(await ok.text()).toBe('sealed')
      expect(ok.headers.get('x-signed-over')).toBe('sealed')
      // Errors are never sealed, but they are signed.
      const missing = await gate.fetch(get('/nope'))
      expect(missing.status).toBe(404)
      expect(missing.headers.get('x-signed-over')).toBe((await missing.clone().text()).slice(0, 20))
    }
  })

  it('fails closed when an answer must be sealed: before the model without a sealer, after it when unsealed', async () => {
    const backend = doubler()
    const demandsSeal: Plugin = async function demandsSeal(ctx, next) {
      ctx.requireSealed('the request was encrypted')
      await next()
    }
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }
    const gate = createGate({ models: [{ name: 'd', backend }], plugins: [demandsSeal] })
    await gate.ready()
    const res = await gate.fetch(post('/v2/models/d/infer', body))
    expect(res.status).toBe(500)
    expect((await res.json()).code).toBe('response_unsealed')
    expect(backend.calls).toBe(0)

    const forgetful: Plugin = async function forgetful(ctx, next) {
      ctx.onAnswer('seal', async () => undefined)
      await next()
    }
    const leaky = createGate({
      models: [{ name: 'd', backend }],
      plugins: [forgetful, demandsSeal],
    })
    await leaky.ready()
    const unsealed = await leaky.fetch(post('/v2/models/d/infer', body))
    expect(unsealed.status).toBe(500)
    const text = await unsealed.text()
    expect(text).not.toContain('outputs')
    expect(JSON.parse(text).code).toBe('response_unsealed')
  })

  it('runs checks after every plugin and before the model, in any order', async () => {
    const backend = doubler()
    const seen: string[] = []
    const late: Plugin = async function late(ctx, next) {
      ctx.addCheck(async () => {
        seen.push(String(ctx.state.get('set-by-inner')))
        if (ctx.requestHeaders.get('x-bad') === '1') throw new GateError('bad_key', 400, 'no')
      })
      await next()
    }
    const inner: Plugin = async function inner(ctx, next) {
      ctx.state.set('set-by-inner', 'yes')
      await next()
    }
    const gate = createGate({ models: [{ name: 'd', backend }], plugins: [late, inner] })
    await gate.ready()
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }
    expect((await gate.fetch(post('/v2/models/d/infer', body))).status).toBe(200)
    expect((await gate.fetch(post('/v2/models/d/infer', body, { 'x-bad': '1' }))).status).toBe(400)
    expect(seen).toEqual(['yes', 'yes'])
    expect(backend.calls).toBe(1)
  })

  it('reports every request to observers exactly once, refusals included, wherever they sit', async () => {
    const watch = observer()
    const refuse: Plugin = async function refuse(ctx, next) {
      if (ctx.requestHeaders.get('authorization') !== 'Bearer ok') throw new UnauthorizedError()
      await next()
    }
    const gate = createGate({
      models: [{ name: 'd', backend: doubler() }],
      plugins: [refuse, watch],
    })
    await gate.ready()
    const auth = { authorization: 'Bearer ok' }
    await gate.fetch(get('/v2/health/live'))
    await gate.fetch(new Request('http://gate/nope', { headers: auth }))
    await gate.fetch(new Request('http://gate/v2/models/d/infer', { headers: auth }))
    const refused: IncomingRequest = {
      method: 'GET',
      url: 'http://gate/../etc',
      headers: new Headers(auth),
      signal: new AbortController().signal,
      refusal: new GateError('bad_path', 400, 'request path must not hold dot segments'),
    }
    const reply = await gate.handle(refused)
    expect(reply.status).toBe(400)
    expect(watch.seen.map((s) => [s.route, s.outcome.status, s.outcome.error])).toEqual([
      ['health-live', 401, 'unauthorized'],
      ['unknown', 404, 'not_found'],
      ['v2-infer', 405, 'method_not_allowed'],
      ['unknown', 400, 'bad_path'],
    ])
  })

  it('prepares every request for every plugin, and error answers leave through the masking function', async () => {
    const seen = observer()
    const refuse: Plugin = async function refuse() {
      throw new GateError('bad_field', 400, 'field "ssn" holds 512-34-8821')
    }
    const masking: Plugin = Object.assign(
      async function masking(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      {
        onRequest(ctx: { redactText: (t: string) => string }) {
          ctx.redactText = (t) => t.replace(/\d{3}-\d{2}-\d{4}/g, '<US_SSN>')
        },
      },
    ) as Plugin
    // The refusing plugin runs before the masking plugin is ever entered.
    const gate = createGate({ models: [], plugins: [seen, refuse, masking] })
    const res = await gate.fetch(get('/v2/health/live'))
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'field "ssn" holds <US_SSN>', code: 'bad_field' })
  })

  it('observes a streamed answer when its stream ends, with the facts learned while streaming', async () => {
    const watch = observer()
    const facts: Array<string | undefined> = []
    const seen = Object.assign(
      async function seen(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      {
        onResponse(ctx: { facts: { clientRequestId?: string } }) {
          facts.push(ctx.facts.clientRequestId)
        },
      },
    ) as Plugin
    const streamer: RouteDefinition = {
      name: 'stream',
      methods: ['GET'],
      path: '/stream',
      operation: 'predict',
      terminal: async (ctx) => {
        let n = 0
        ctx.body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (n === 3) {
              ctx.facts.clientRequestId = 'learned-while-streaming'
              controller.close()
              return
            }
            controller.enqueue(new TextEncoder().encode(`chunk ${n++}\n`))
          },
        })
      },
    }
    const gate = createGate({ models: [], plugins: [watch, seen], routes: [streamer] })
    const res = await gate.fetch(get('/stream'))
    expect(watch.seen).toHaveLength(0)
    expect(await res.text()).toBe('chunk 0\nchunk 1\nchunk 2\n')
    expect(watch.seen.map((s) => [s.route, s.outcome.status, s.outcome.error])).toEqual([
      ['custom', 200, undefined],
    ])
    expect(facts).toEqual(['learned-while-streaming'])
    // A client that goes away mid-stream still gets its one observation.
    const cancelled = await gate.fetch(get('/stream'))
    await cancelled.body!.cancel()
    expect(watch.seen).toHaveLength(2)
    expect(watch.seen[1]!.outcome.error).toBe('client_closed')
  })

  it('lets an observer that must not lose a record replace the answer', async () => {
    const strict: Plugin = Object.assign(
      async function strict(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      {
        onResponse() {
          throw new GateError('audit_unavailable', 503, 'audit log unavailable')
        },
      },
    ) as Plugin
    const gate = createGate({ models: [], plugins: [strict] })
    const res = await gate.fetch(get('/v2/health/live'))
    expect(res.status).toBe(503)
    expect((await res.json()).code).toBe('audit_unavailable')
  })

  it('gives plugins a real Request on every adapter, sharing one read of the body', async () => {
    const forwarded: string[] = []
    const forward: Plugin = async function forward(ctx, next) {
      const copy = new Request('http://upstream/echo', ctx.request)
      forwarded.push(await copy.text())
      await next()
    }
    const backend = doubler()
    const gate = createGate({
      models: [{ name: 'd', backend, schema }],
      plugins: [forward],
    })
    await gate.ready()
    const text = JSON.stringify({ instances: [{ a: 1, b: 2 }] })
    const bytes = new TextEncoder().encode(text)
    let reads = 0
    const incoming: IncomingRequest = {
      method: 'POST',
      url: 'http://gate/v1/models/d:predict',
      headers: new Headers({ 'content-type': 'application/json' }),
      signal: new AbortController().signal,
      body: {
        declaredLength: bytes.length,
        read: async () => {
          reads++
          return bytes
        },
      },
    }
    const reply = await gate.handle(incoming)
    expect(reply.status).toBe(200)
    expect(JSON.parse(new TextDecoder().decode(reply.body as Uint8Array))).toEqual({
      predictions: [{ score: 4 }],
    })
    const res = await gate.fetch(post('/v1/models/d:predict', { instances: [{ a: 1, b: 2 }] }))
    expect(await res.json()).toEqual({ predictions: [{ score: 4 }] })
    expect(forwarded).toEqual([text, text])
    expect(reads).toBe(1)
  })

  it('holds V2 tensors to the schema ranges that V1 records meet', async () => {
    const backend = doubler()
    const gate = createGate({ models: [{ name: 'd', backend, schema }] })
    await gate.ready()
    const v1 = await gate.fetch(post('/v1/models/d:predict', { instances: [{ a: 200, b: 0 }] }))
    expect(v1.status).toBe(400)
    const v2 = await gate.fetch(
      post('/v2/models/d/infer', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [200, 0] }],
      }),
    )
    expect(v2.status).toBe(400)
    expect((await v2.json()).error).toBe('input "x"[0].a is out of range [0, 10]')
    expect(backend.calls).toBe(0)
  })

  it('refuses at start a schema whose width or datatype does not fit the model', async () => {
    const narrow = createGate({
      models: [
        { name: 'd', backend: doubler(), schema: { features: [{ name: 'a', type: 'numeric' }] } },
      ],
    })
    await expect(narrow.ready()).rejects.toThrow(
      'model "d": the schema makes 1 columns but input "x" takes 2 (shape [-1, 2])',
    )
    const wide = createGate({
      models: [{ name: 'd', backend: doubler(), schema: { ...schema, datatype: 'FP64' } }],
    })
    await expect(wide.ready()).rejects.toThrow(
      'the schema makes FP64 columns but input "x" is FP32',
    )
  })

  it('encodes explanations once, with the output names predictions use', async () => {
    const explainer: Plugin = async function explainer(ctx, next) {
      ctx.provideExplainer(async (ctx, request) => {
        const outputs = await ctx.runModel(request.inputs)
        const y = outputs[0]!.data as Float32Array
        return {
          outputs,
          explanation: {
            model: 'd',
            method: 'exact_shap',
            cached: false,
            explanations: [
              {
                output: 'y',
                method: 'exact_shap',
                link: 'identity',
                base_value: 0,
                base_values: [0],
                values: [[y[0]! - 2, 2]],
                feature_names: ['a', 'b'],
                data: [[1, 2]],
                additivity: { ok: true, max_relative_error: 0, tolerance: 1e-6 },
              },
            ],
            plot: { kind: 'bar', render: (e, row) => `<svg>${e.data[row]!.join(',')}</svg>` },
          },
        }
      })
      await next()
    }
    const gate = createGate({
      models: [{ name: 'd', backend: doubler(), schema }],
      plugins: [explainer],
    })
    await gate.ready()
    const predicted = await (
      await gate.fetch(post('/v1/models/d:predict', { instances: [{ a: 1, b: 2 }] }))
    ).json()
    const explained = await (
      await gate.fetch(post('/v1/models/d:explain', { instances: [{ a: 1, b: 2 }] }))
    ).json()
    expect(explained.predictions).toEqual(predicted.predictions)
    expect(explained.explanations[0].attributions).toEqual([{ a: 2, b: 2 }])
    expect(explained.explanations[0].plots).toEqual([
      { row: 0, kind: 'bar', svg: '<svg>1,2</svg>' },
    ])
    const v2 = await (
      await gate.fetch(
        post('/v2/models/d/explain', {
          id: 'q',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
        }),
      )
    ).json()
    expect(v2).toMatchObject({ model_name: 'd', id: 'q', outputs: [{ name: 'y', data: [4] }] })
    expect(v2.explanations[0].attributions).toBeUndefined()
    expect((await gate.fetch(post('/v2/models/zz/explain', { inputs: [] }))).status).toBe(404)
    const plain = createGate({ models: [{ name: 'd', backend: doubler() }] })
    await plain.ready()
    const disabled = await plain.fetch(post('/v2/models/d/explain', { inputs: [] }))
    expect(await disabled.json()).toMatchObject({ code: 'extension_disabled' })
  })

  it('has the Workers, Deno and Bun handler signature, with env and waitUntil', async () => {
    const waited: Array<Promise<unknown>> = []
    const usesEnv: Plugin = async function usesEnv(ctx, next) {
      ctx.headers.set('x-region', String((ctx.env as { REGION?: string } | undefined)?.REGION))
      ctx.waitUntil(Promise.resolve('flushed'))
      await next()
    }
    const gate = createGate({ models: [], plugins: [usesEnv] })
    const module = { fetch: gate.fetch }
    const res = await module.fetch(
      get('/v2/health/live'),
      { REGION: 'eu' },
      {
        waitUntil: (p) => void waited.push(p),
      },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('x-region')).toBe('eu')
    expect(waited).toHaveLength(1)
  })

  it('closes what plugins started and every backend', async () => {
    const closed: string[] = []
    const pooled: Plugin = Object.assign(
      async function pooled(_ctx: unknown, next: () => Promise<void>) {
        await next()
      },
      { close: async () => void closed.push('plugin') },
    ) as Plugin
    const backend = Object.assign(doubler(), { close: async () => void closed.push('backend') })
    const gate = createGate({ models: [{ name: 'd', backend }], plugins: [pooled] })
    await gate.close()
    expect(closed).toEqual(['plugin', 'backend'])
  })
})

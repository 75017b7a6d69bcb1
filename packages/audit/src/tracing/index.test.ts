import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { context, propagation } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { createGate, UnauthorizedError, type Plugin } from '@modelgate/core'
import { echoBackend } from '@modelgate/testkit/fixtures'
import { traced, tracedBackend, tracing } from './index.js'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('test')
const manager = new AsyncLocalStorageContextManager()

beforeAll(() => {
  context.setGlobalContextManager(manager.enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
})
afterAll(() => {
  context.disable()
  propagation.disable()
})

const backend = echoBackend([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }])

declare module '@modelgate/core' {
  interface GateFacts {
    masking?: Record<string, number>
  }
}

const authenticate: Plugin = async function authenticate(ctx, next) {
  if (ctx.requestHeaders.get('authorization') !== 'Bearer good') throw new UnauthorizedError()
  ctx.principal = { id: 'user-7', kind: 'test', roles: [], scopes: [] }
  ctx.decision = { allow: true, reasons: [], unmask: [] }
  ctx.facts.masking = { EMAIL_ADDRESS: 3 }
  await next()
}
const noop: Plugin = async function noop(_ctx, next) {
  await next()
}
const infer = (auth: string, traceparent?: string) =>
  new Request('http://gate/v2/models/m/infer', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: auth,
      ...(traceparent ? { traceparent } : {}),
    },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }],
    }),
  })

describe('tracing', () => {
  it('makes one request span, nested plugin spans and a backend span, continuing the client trace', async () => {
    const gate = createGate({
      models: [
        { name: 'm', version: '1', backend: tracedBackend(backend, { tracer, model: 'm' }) },
      ],
      plugins: [
        tracing({ tracer }),
        traced(authenticate, { tracer }),
        traced(noop, { tracer, name: 'inner' }),
      ],
    })
    await gate.ready()
    exporter.reset()
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    expect(
      (await gate.fetch(infer('Bearer good', `00-${traceId}-00f067aa0ba902b7-01`))).status,
    ).toBe(200)
    const spans = exporter.getFinishedSpans()
    const byName = Object.fromEntries(spans.map((s) => [s.name, s]))
    expect(Object.keys(byName).sort()).toEqual([
      'backend infer',
      'modelgate predict',
      'plugin authenticate',
      'plugin inner',
    ])
    const root = byName['modelgate predict']!
    expect(root.spanContext().traceId).toBe(traceId)
    expect(root.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/v2/models/m/infer',
      'modelgate.route': 'v2-infer',
      'modelgate.operation': 'predict',
      'modelgate.model': 'm',
      'modelgate.model_version': '1',
      'enduser.id': 'user-7',
      'modelgate.decision': 'allow',
      'modelgate.masked_entities': 3,
      'http.response.status_code': 200,
    })
    expect(typeof root.attributes['modelgate.request_id']).toBe('string')
    const parentOf = (name: string) => byName[name]!.parentSpanContext?.spanId
    expect(parentOf('plugin authenticate')).toBe(root.spanContext().spanId)
    expect(parentOf('plugin inner')).toBe(byName['plugin authenticate']!.spanContext().spanId)
    expect(parentOf('backend infer')).toBe(byName['plugin inner']!.spanContext().spanId)
    expect(byName['backend infer']!.attributes).toMatchObject({
      'modelgate.model': 'm',
      'modelgate.rows': 3,
      'modelgate.inputs': 1,
    })
  })

  it('marks a rejected request on its spans', async () => {
    const gate = createGate({
      models: [{ name: 'm', backend }],
      plugins: [tracing({ tracer }), traced(authenticate, { tracer })],
    })
    await gate.ready()
    exporter.reset()
    expect((await gate.fetch(infer('Bearer bad'))).status).toBe(401)
    const [plugin, root] = exporter.getFinishedSpans()
    expect(plugin!.attributes['error.type']).toBe('unauthorized')
    expect(root!.attributes).toMatchObject({
      'http.response.status_code': 401,
      'error.type': 'unauthorized',
    })
    expect(root!.attributes['enduser.id']).toBeUndefined()
  })

  it('keeps the wrapped plugin name and extensions, and checks options', () => {
    const explain: Plugin = Object.assign(
      async function explain(_ctx: never, next: () => Promise<void>) {
        await next()
      },
      { extensions: ['explain'] },
    )
    const wrapped = traced(explain)
    expect(wrapped.name).toBe('explain')
    expect(wrapped.extensions).toEqual(['explain'])
    expect(() => traced('x' as never)).toThrow(TypeError)
    expect(() => tracing({ tracer: {} as never })).toThrow(TypeError)
    expect(() => tracedBackend({} as never)).toThrow(TypeError)
    expect(() => tracing({ tracer, principle: false } as never)).toThrow(
      'tracing: unknown option "principle" (did you mean "principal"?)',
    )
    expect(() => traced(explain, { nmae: 'x' } as never)).toThrow(/did you mean "name"/)
    expect(() => tracedBackend(backend, { modle: 'm' } as never)).toThrow(/did you mean "model"/)
  })

  it('gives a span to requests refused before it ran, from when the gate received them', async () => {
    const gate = createGate({
      models: [{ name: 'm', backend }],
      plugins: [authenticate, tracing({ tracer })],
    })
    await gate.ready()
    exporter.reset()
    const before = Date.now()
    expect((await gate.fetch(infer('Bearer bad'))).status).toBe(401)
    expect((await gate.fetch(new Request('http://gate/v2/models/m/infer'))).status).toBe(401)
    const spans = exporter.getFinishedSpans()
    expect(spans).toHaveLength(2)
    expect(spans[0]!.name).toBe('modelgate predict')
    expect(spans[0]!.attributes).toMatchObject({
      'http.response.status_code': 401,
      'error.type': 'unauthorized',
      'url.path': '/v2/models/m/infer',
    })
    const startMs = spans[0]!.startTime[0] * 1000 + spans[0]!.startTime[1] / 1e6
    expect(startMs).toBeGreaterThanOrEqual(before - 1)
  })

  it('keeps routes, observer and close of a wrapped plugin', () => {
    const routes = [
      {
        name: 'r',
        methods: ['GET'],
        path: '/r',
        operation: 'custom' as const,
        terminal: async () => {},
      },
    ]
    const onResponse = () => undefined
    const close = async () => undefined
    const plugin: Plugin = Object.assign(
      async function withRoutes(_ctx: never, next: () => Promise<void>) {
        await next()
      },
      { routes, onResponse, close },
    )
    const wrapped = traced(plugin, { tracer })
    expect(wrapped.routes).toBe(routes)
    expect(wrapped.onResponse).toBe(onResponse)
    expect(wrapped.close).toBe(close)
  })
})

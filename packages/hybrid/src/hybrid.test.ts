import { createRemoteBackend } from '@modelgate/backend-remote'
import * as testing from '@modelgate/backend-remote/testing'
import { createGate } from '@modelgate/core'
import type { GateFacts, ModelBackend, ModelMetadata, Plugin, Tensor } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCircuitBreaker, createHybridBackend, routeHeaders } from './index.js'
import type { RouteEvent } from './index.js'

const META: ModelMetadata = {
  platform: 'logistic',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 1] }],
}

/** p = sigmoid(k · (x0 + x1)): the edge model has k = 1, the cloud's "bigger" model k = 3. */
function logistic(k: number) {
  return (inputs: Tensor[]): Tensor[] => {
    const x = inputs.find((t) => t.name === 'x')!
    const rows = x.shape[0]!
    const p = new Float32Array(rows)
    for (let r = 0; r < rows; r++) {
      p[r] = 1 / (1 + Math.exp(-k * (Number(x.data[2 * r]) + Number(x.data[2 * r + 1]))))
    }
    return [{ name: 'p', datatype: 'FP32', shape: [rows, 1], data: p }]
  }
}

const edgeModel = (): ModelBackend => ({
  metadata: async () => structuredClone(META),
  ready: async () => true,
  infer: async (inputs) => logistic(1)(inputs),
})

const x = (...rows: number[][]): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) },
]
const sig = (v: number) => Math.fround(1 / (1 + Math.exp(-v)))

let cloud: testing.StandInServer
beforeAll(async () => {
  cloud = await testing.startStandInServer({
    protocol: 'v2',
    model: 'credit',
    metadata: META,
    compute: logistic(3),
  })
})
afterEach(async () => {
  await cloud.up()
  cloud.delayMs = 0
  cloud.resetStats()
})
afterAll(() => cloud.close())

function hybrid(extra: Partial<Parameters<typeof createHybridBackend>[0]> = {}) {
  const events: RouteEvent[] = []
  const backend = createHybridBackend({
    local: edgeModel(),
    remote: { url: cloud.url, protocol: 'v2', model: 'credit', timeoutMs: 2000 },
    policy: { confidence: { output: 'p', band: 0.2 }, latencyBudgetMs: 300 },
    breaker: { failureThreshold: 2, cooldownMs: 200 },
    onRoute: (e) => events.push(e),
    ...extra,
  })
  return { backend, events }
}

describe('routing by confidence', () => {
  it('sends only the uncertain rows to the cloud and merges its answers in', async () => {
    const { backend, events } = hybrid()
    await backend.load!()
    const [p] = await backend.infer(x([3, 2], [0.1, -0.2], [-4, -1], [0.3, 0]))
    expect(cloud.stats.infers).toBe(1)
    const sent = cloud.stats.lastInferBody as { inputs: Array<{ shape: number[]; data: number[] }> }
    expect(sent.inputs[0]!.shape).toEqual([2, 2])
    expect(sent.inputs[0]!.data.map((v) => Math.round(v * 10) / 10)).toEqual([0.1, -0.2, 0.3, 0])
    expect(Array.from(p!.data as Float32Array)).toEqual([
      sig(5),
      sig(3 * Math.fround(0.1) + 3 * Math.fround(-0.2)),
      sig(-5),
      sig(3 * Math.fround(0.3)),
    ])
    expect(p!.parameters).toEqual({ route: 'mixed', degraded: false, cloud_rows: [1, 3] })
    expect(events[0]).toMatchObject({ route: 'mixed', degraded: false, cloudRows: [1, 3], rows: 4 })
    expect(backend.status().calls).toEqual({ edge: 0, cloud: 0, mixed: 1, degraded: 0 })
  })

  it('answers confident requests at the edge without calling the cloud', async () => {
    const { backend } = hybrid()
    await backend.load!()
    const [p] = await backend.infer(x([2, 2], [-3, 0]))
    expect(cloud.stats.infers).toBe(0)
    expect(p!.parameters).toEqual({ route: 'edge', degraded: false, cloud_rows: [] })
  })

  it('uses the top class for multi-column outputs', async () => {
    const twoClass: ModelBackend = {
      metadata: async () => ({
        ...META,
        outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 2] }],
      }),
      ready: async () => true,
      infer: async () => [
        {
          name: 'p',
          datatype: 'FP32',
          shape: [2, 2],
          data: new Float32Array([0.9, 0.1, 0.6, 0.4]),
        },
      ],
    }
    const cloudBackend: ModelBackend = {
      ...twoClass,
      infer: async (inputs) => [
        {
          name: 'p',
          datatype: 'FP32',
          shape: [inputs[0]!.shape[0]!, 2],
          data: new Float32Array([0.99, 0.01]),
        },
      ],
    }
    const backend = createHybridBackend({
      local: twoClass,
      remote: cloudBackend,
      policy: { confidence: { output: 'p', minTop: 0.8 } },
    })
    await backend.load!()
    const [p] = await backend.infer(x([0, 0], [0, 0]))
    expect(Array.from(p!.data as Float32Array)).toEqual([
      Math.fround(0.9),
      Math.fround(0.1),
      Math.fround(0.99),
      Math.fround(0.01),
    ])
    expect(p!.parameters!.cloud_rows).toEqual([1])
  })
})

describe('offline fallback', () => {
  it('answers at the edge while the cloud is down, opens the breaker and recovers', async () => {
    const { backend, events } = hybrid()
    await backend.load!()
    await cloud.down()
    const uncertain = x([0.1, 0])
    for (let i = 0; i < 2; i++) {
      const [p] = await backend.infer(uncertain)
      expect(p!.parameters).toMatchObject({
        route: 'edge',
        degraded: true,
        degraded_reason: 'cloud_error',
      })
      expect(p!.data[0]).toBe(sig(Math.fround(0.1)))
    }
    expect(backend.breaker.state).toBe('open')
    const started = performance.now()
    const [p] = await backend.infer(uncertain)
    expect(performance.now() - started).toBeLessThan(50)
    expect(p!.parameters).toMatchObject({ degraded: true, degraded_reason: 'breaker_open' })

    await cloud.up()
    const [still] = await backend.infer(uncertain)
    expect(still!.parameters!.degraded_reason).toBe('breaker_open')
    expect(cloud.stats.infers).toBe(0)
    await new Promise((r) => setTimeout(r, 220))
    expect(backend.breaker.state).toBe('half-open')
    const [back] = await backend.infer(uncertain)
    expect(back!.parameters).toEqual({ route: 'cloud', degraded: false, cloud_rows: [0] })
    expect(back!.data[0]).toBe(sig(3 * Math.fround(0.1)))
    expect(backend.breaker.state).toBe('closed')
    expect(cloud.stats.infers).toBe(1)
    expect(events.map((e) => e.reason ?? e.route)).toEqual([
      'cloud_error',
      'cloud_error',
      'breaker_open',
      'breaker_open',
      'cloud',
    ])
  })

  it('keeps the latency budget when the cloud is slow and abandons the cloud call', async () => {
    const { backend } = hybrid({ breaker: { failureThreshold: 5 } })
    await backend.load!()
    cloud.delayMs = 2000
    const started = performance.now()
    const [p] = await backend.infer(x([0, 0.1]))
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(450)
    expect(p!.parameters).toMatchObject({
      route: 'edge',
      degraded: true,
      degraded_reason: 'cloud_timeout',
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(cloud.stats.infers).toBe(1)
    expect(cloud.stats.aborted).toBe(1)
  })

  it('falls back on 5xx answers and garbage, and a 4xx does not count against the cloud', async () => {
    const { backend } = hybrid({ breaker: { failureThreshold: 3 } })
    await backend.load!()
    cloud.failNext(500)
    cloud.failNext('garbage')
    cloud.failNext(400)
    const reasons = []
    for (let i = 0; i < 3; i++) {
      const [p] = await backend.infer(x([0.2, -0.1]))
      reasons.push(p!.parameters!.degraded_reason)
    }
    expect(reasons).toEqual(['cloud_error', 'cloud_error', 'cloud_rejected'])
    expect(backend.breaker.state).toBe('closed')
    expect(backend.breaker.failures).toBe(2)
    const [p] = await backend.infer(x([0.2, -0.1]))
    expect(p!.parameters!.route).toBe('cloud')
    expect(backend.breaker.failures).toBe(0)
    expect(cloud.stats.infers).toBe(4)
  })

  it('loses no request and answers none twice while the cloud flaps', async () => {
    const { backend, events } = hybrid({ breaker: { failureThreshold: 3, cooldownMs: 30 } })
    await backend.load!()
    const answers: Array<Promise<Tensor[]>> = []
    for (let round = 0; round < 6; round++) {
      if (round === 1) cloud.failNext(503, { times: 4 })
      if (round === 2) cloud.failNext('reset', { times: 3 })
      if (round === 3) await cloud.down()
      if (round === 4) cloud.delayMs = 1000
      if (round === 5) {
        await cloud.up()
        await new Promise((r) => setTimeout(r, 40))
      }
      for (let i = 0; i < 8; i++) answers.push(backend.infer(x([round / 100, i / 100]), {}))
      await Promise.allSettled(answers)
      if (round === 4) cloud.delayMs = 0
    }
    const settled = await Promise.allSettled(answers)
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true)
    expect(events).toHaveLength(48)
    expect(cloud.stats.infers).toBeLessThanOrEqual(48)
    const cloudAnswered = events.filter((e) => !e.degraded).length
    expect(cloudAnswered).toBeGreaterThanOrEqual(8)
    for (const e of events) expect(e.elapsedMs).toBeLessThan(450)
  })
})

describe('payload size and outbound data', () => {
  it('sends heavy requests to the cloud whole and answers them at the edge when it fails', async () => {
    const { backend } = hybrid({ policy: { cloudAboveBytes: 64 } })
    await backend.load!()
    const rows = Array.from({ length: 20 }, (_, i) => [i, -i])
    const [p] = await backend.infer(x(...rows))
    expect(p!.parameters).toMatchObject({ route: 'cloud', degraded: false })
    expect(cloud.stats.infers).toBe(1)
    cloud.failNext(502)
    const [q] = await backend.infer(x(...rows))
    expect(q!.parameters).toMatchObject({ route: 'edge', degraded: true })
    const [small] = await backend.infer(x([1, 1]))
    expect(small!.parameters!.route).toBe('edge')
    expect(cloud.stats.infers).toBe(2)
  })

  it('passes what leaves the edge through transformOutbound and refuses when it throws', async () => {
    const seen: unknown[] = []
    const { backend } = hybrid({
      transformOutbound: (payload) => {
        seen.push(payload)
        if (payload.kind !== 'tensors') throw new Error('unexpected')
        if (payload.parameters?.tenant === 'secret') throw new Error('may not leave')
        return { ...payload, parameters: { tenant: 'masked' } }
      },
    })
    await backend.load!()
    await backend.infer(x([0, 0]), { parameters: { tenant: 'acme' } })
    expect((cloud.stats.lastInferBody as { parameters: unknown }).parameters).toEqual({
      tenant: 'masked',
    })
    const [p] = await backend.infer(x([0, 0]), { parameters: { tenant: 'secret' } })
    expect(p!.parameters).toMatchObject({ degraded: true, degraded_reason: 'outbound_refused' })
    expect(cloud.stats.infers).toBe(1)
    expect(seen).toHaveLength(2)
  })

  it('keeps escalations above maxEscalationBytes at the edge', async () => {
    const { backend } = hybrid({ policy: { confidence: { output: 'p' }, maxEscalationBytes: 8 } })
    await backend.load!()
    const [p] = await backend.infer(x([0, 0], [0, 0.1]))
    expect(p!.parameters).toEqual({ route: 'edge', degraded: false, cloud_rows: [] })
    expect(cloud.stats.infers).toBe(0)
  })
})

describe('through an edge gate on HTTP', () => {
  it('shows the route in V2 output parameters and, with routeHeaders, in V1 headers', async () => {
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 })
    const backend = createHybridBackend({
      local: edgeModel(),
      remote: createRemoteBackend({ url: cloud.url, protocol: 'v2', model: 'credit', retries: 0 }),
      policy: { confidence: { output: 'p', band: 0.2 } },
      breaker,
    })
    const facts: GateFacts[] = []
    const observe: Plugin = async function observe(ctx, next) {
      await next()
      facts.push({ ...ctx.facts })
    }
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [observe, routeHeaders()],
    })
    const server = await serveNode(toFetchModule(gate), { port: 0 })
    try {
      const v2 = await fetch(`${server.url}/v2/models/credit/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [0, 0, 4, 4] }],
        }),
      })
      const body = await v2.json()
      expect(body.outputs[0].parameters).toEqual({
        route: 'mixed',
        degraded: false,
        cloud_rows: [0],
      })
      expect(body.outputs[0].data).toEqual([0.5, sig(8)])
      expect(v2.headers.get('x-modelgate-route')).toBe('mixed')
      expect(facts.at(-1)!.hybridRoute).toEqual({ route: 'mixed', degraded: false })

      await cloud.down()
      const v1 = await fetch(`${server.url}/v1/models/credit:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[0.1, 0]] }),
      })
      expect(v1.status).toBe(200)
      expect(v1.headers.get('x-modelgate-route')).toBe('edge')
      expect(v1.headers.get('x-modelgate-degraded')).toBe('cloud_error')
      expect((await v1.json()).predictions).toEqual([sig(Math.fround(0.1))])
      expect(facts.at(-1)!.hybridRoute).toEqual({
        route: 'edge',
        degraded: true,
        reason: 'cloud_error',
      })
      expect(breaker.state).toBe('open')
    } finally {
      await server.close()
      await gate.close()
    }
  })
})

describe('options', () => {
  it('rejects bad options at factory time', () => {
    const local = edgeModel()
    const remote = { url: cloud.url, protocol: 'v2' as const, model: 'credit' }
    expect(() => createHybridBackend({ local: {} as ModelBackend, remote })).toThrow(/local/)
    expect(() => createHybridBackend({ local, remote: {} as typeof remote })).toThrow(/remote/)
    expect(() => createHybridBackend({ local, remote, policy: { latencyBudgetMs: -1 } })).toThrow(
      /latencyBudgetMs/,
    )
    expect(() =>
      createHybridBackend({ local, remote, policy: { confidence: { output: '' } } }),
    ).toThrow(/output/)
    expect(() => createHybridBackend({ local, remote, breaker: { failureThreshold: 0 } })).toThrow(
      /failureThreshold/,
    )
    expect(() => createHybridBackend({ local, remote: { ...remote, url: 'ftp://x' } })).toThrow()
  })

  it('refuses unknown option keys, naming the path and the nearest valid key', () => {
    const local = edgeModel()
    const remote = { url: cloud.url, protocol: 'v2' as const, model: 'credit' }
    const typo = (options: unknown) => () =>
      createHybridBackend({ local, remote, ...(options as object) })
    expect(typo({ policy: { confidence: { outptu: 'p' } } })).toThrow(
      'createHybridBackend: unknown option "policy.confidence.outptu" (did you mean "policy.confidence.output"?)',
    )
    expect(typo({ polcy: {} })).toThrow('unknown option "polcy" (did you mean "policy"?)')
    expect(typo({ breaker: { cooldown: 5 } })).toThrow(
      'createCircuitBreaker: unknown option "cooldown" (did you mean "cooldownMs"?)',
    )
    expect(typo({ remote: { ...remote, retires: 1 } })).toThrow(
      'createRemoteBackend: unknown option "retires" (did you mean "retries"?)',
    )
  })
})

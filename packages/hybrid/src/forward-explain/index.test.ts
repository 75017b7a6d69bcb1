import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as testing from '@modelgate/backend-remote/testing'
import { createGate } from '@modelgate/core'
import type { FeatureSchemaDefinition, Gate, GateFacts, Plugin } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import type { NodeServer } from '@modelgate/edge/node'
import { explain, type WireExplanation } from '@modelgate/explain'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHybridBackend, forwardExplain } from '../index.js'
import type { ForwardExplainOptions } from '../index.js'

const CANARIES = [
  'Zelda Canarywick',
  'zelda.canary@example.org',
  '078-05-1120',
  '4111 1111 1111 1111',
]

const schema: FeatureSchemaDefinition = {
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
    { name: 'c', type: 'numeric' },
    { name: 'name', type: 'passthrough' },
    { name: 'email', type: 'passthrough' },
    { name: 'ssn', type: 'passthrough' },
    { name: 'note', type: 'passthrough', text: true },
  ],
  outputNames: { y: ['approve', 'refer'] },
}
const background = { data: [[0, 0, 0]] }

/** The cloud: the real explain plugin over the linear model, recording every body it receives. */
function cloudGate(received: string[]): Gate {
  const recorder: Plugin = async function recorder(ctx, next) {
    if (ctx.method === 'POST') received.push(new TextDecoder().decode(await ctx.bodyBytes()))
    await next()
  }
  return createGate({
    models: [{ name: 'linear', backend: testing.createLinearBackend(), schema }],
    plugins: [recorder, explain({ models: { linear: { background, method: 'exact_shap' } } })],
  })
}

let received: string[]
let cloud: NodeServer
const facts: GateFacts[] = []
const observe: Plugin = async function observe(ctx, next) {
  try {
    await next()
  } finally {
    facts.push({ ...ctx.facts })
  }
}

/** An edge gate over the hybrid linear model with `forwardExplain` and the given plugins inside. */
async function edgeGate(options: Partial<ForwardExplainOptions>, inner: Plugin[] = []) {
  const gate = createGate({
    models: [
      {
        name: 'linear',
        backend: createHybridBackend({
          local: testing.createLinearBackend(),
          remote: { url: cloud.url, protocol: 'v2', model: 'linear' },
        }),
        schema,
      },
    ],
    plugins: [observe, forwardExplain({ url: cloud.url, ...options }), ...inner],
  })
  await gate.ready()
  return gate
}

beforeAll(async () => {
  received = []
  cloud = await serveNode(toFetchModule(cloudGate(received)), { port: 0 })
})
afterAll(async () => {
  await cloud?.close()
})

const application = {
  a: 1,
  b: 2,
  c: 3,
  name: CANARIES[0],
  email: CANARIES[1],
  ssn: CANARIES[2],
  note: `Paid with card ${CANARIES[3]}, write to ${CANARIES[1]}`,
}
const post = (gate: Gate, path: string, body: unknown) =>
  gate.fetch(
    new Request(`http://edge${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )
type Explained = { predictions: Array<Record<string, number>>; explanations: WireExplanation[] }

describe('forwardExplain', () => {
  it('explains in the cloud from the decoded tensors; the edge encodes it as :predict names its outputs', async () => {
    const gate = await edgeGate({})
    const second = { ...application, a: -2, c: 0.5 }
    const res = await post(gate, '/v1/models/linear:explain', { instances: [application, second] })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-modelgate-route')).toBe('cloud')
    expect(facts.at(-1)!.hybridRoute).toEqual({ route: 'cloud', degraded: false })
    const body = (await res.json()) as Explained
    const predicted = (await (
      await post(gate, '/v1/models/linear:predict', { instances: [application, second] })
    ).json()) as Explained
    expect(body.predictions).toEqual(predicted.predictions)
    expect(Object.keys(body.predictions[0]!)).toEqual(['approve', 'refer'])
    expect(body.explanations).toHaveLength(2)
    for (const e of body.explanations) {
      expect(e.method).toBe('exact_shap')
      expect(e.feature_names).toEqual(['a', 'b', 'c'])
      expect(e.data).toEqual([
        [1, 2, 3],
        [-2, 2, 0.5],
      ])
      expect(Object.keys(e.attributions![0]!)).toEqual(['a', 'b', 'c'])
      const column = e.output_index === 0 ? 'approve' : 'refer'
      e.values.forEach((row, r) =>
        expect(row.reduce((s, v) => s + v, e.base_value)).toBeCloseTo(
          body.predictions[r]![column]!,
          5,
        ),
      )
    }
    expect((await (await gate.fetch(new Request('http://edge/v2'))).json()).extensions).toContain(
      'explain',
    )
  })

  it('lets no record leave the edge: the cloud receives V2 tensors only, without the plot parameter', async () => {
    received.length = 0
    const gate = await edgeGate({})
    const res = await post(gate, '/v1/models/linear:explain', {
      instances: [application],
      parameters: { plot: 'bar', explainer: 'exact_shap' },
    })
    expect(res.status).toBe(200)
    expect(received).toHaveLength(1)
    for (const canary of CANARIES) expect(received[0]).not.toContain(canary)
    const sent = JSON.parse(received[0]!) as Record<string, unknown>
    expect(sent).not.toHaveProperty('instances')
    expect(sent.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }])
    expect(sent.parameters).toEqual({ explainer: 'exact_shap' })
  })

  it('draws requested plots at the edge when an explain plugin is in the chain, from the edge data', async () => {
    const gate = await edgeGate({}, [explain()])
    const res = await post(gate, '/v1/models/linear:explain', {
      instances: [application],
      parameters: { plot: 'waterfall' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-modelgate-route')).toBe('cloud')
    const e = ((await res.json()) as Explained).explanations[0]!
    expect(e.plots).toHaveLength(1)
    expect(e.plots![0]!.svg).toContain('a = 1')
    expect(e.plots![0]!.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
  })

  it('passes the cloud’s refusals on: an unknown explainer is named with the valid ones', async () => {
    const res = await post(await edgeGate({}), '/v1/models/linear:explain', {
      instances: [application],
      parameters: { explainer: 'magic' },
    })
    expect(res.status).toBe(400)
    const body = (await res.json()) as { code: string; error: string }
    expect(body.code).toBe('unknown_explainer')
    expect(body.error).toContain('exact_shap, kernel_shap')
  })

  it('answers 503 cloud_unavailable when the cloud is down, or hands over to the local explainer', async () => {
    const down = await testing.startStandInServer({ protocol: 'v2' })
    await down.down()
    const gate = (fallback: 'error' | 'next', inner: Plugin[] = []) =>
      createGate({
        models: [{ name: 'linear', backend: testing.createLinearBackend(), schema }],
        plugins: [observe, forwardExplain({ url: down.url, fallback, timeoutMs: 1000 }), ...inner],
      })
    const ask = async (g: Gate) => {
      await g.ready()
      return post(g, '/v1/models/linear:explain', { instances: [application] })
    }
    const strict = await ask(gate('error', [explain({ defaults: { background } })]))
    expect(strict.status).toBe(503)
    expect(((await strict.json()) as { code: string }).code).toBe('cloud_unavailable')
    const alone = await ask(gate('next'))
    expect(alone.status).toBe(503)
    const local = await ask(
      gate('next', [explain({ defaults: { background, method: 'exact_shap' } })]),
    )
    expect(local.status).toBe(200)
    expect(local.headers.get('x-modelgate-route')).toBe('edge')
    expect(local.headers.get('x-modelgate-degraded')).toBe('cloud_error')
    expect(facts.at(-1)!.hybridRoute).toEqual({
      route: 'edge',
      degraded: true,
      reason: 'cloud_error',
    })
    expect(facts.at(-1)!.explanation).toEqual({ method: 'exact_shap', rows: 1, cached: false })
    expect(((await local.json()) as Explained).explanations[0]!.feature_names).toEqual([
      'a',
      'b',
      'c',
    ])
    await down.close()
  })

  it('answers 502 when the cloud’s answer is not a well-formed explanation', async () => {
    const answers: unknown[] = [
      'not json',
      { outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] },
      {
        outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
        explanations: [{ output: 'y', method: 'exact_shap', values: 'lots' }],
      },
      {
        outputs: [{ name: 'secret', datatype: 'FP32', shape: [1, 1], data: [1] }],
        explanations: [],
      },
    ]
    let next = 0
    const fake: Server = createServer((_req, res) => {
      const answer = answers[next++]
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(typeof answer === 'string' ? answer : JSON.stringify(answer))
    })
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
    const gate = createGate({
      models: [{ name: 'linear', backend: testing.createLinearBackend(), schema }],
      plugins: [forwardExplain({ url })],
    })
    await gate.ready()
    for (const _ of answers) {
      const res = await post(gate, '/v2/models/linear/explain', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      })
      expect(res.status).toBe(502)
      expect(((await res.json()) as { code: string }).code).toBe('bad_gateway')
    }
    fake.closeAllConnections()
    await new Promise<void>((resolve) => fake.close(() => resolve()))
  })

  it('rejects bad options at factory time, naming the nearest valid key', () => {
    expect(() => forwardExplain({ url: 'not a url' })).toThrow(/url/)
    expect(() => forwardExplain({ url: 'ftp://cloud' })).toThrow(/url/)
    expect(() => forwardExplain({ url: 'http://cloud', fallbak: 'next' } as never)).toThrow(
      'forwardExplain: unknown option "fallbak" (did you mean "fallback"?)',
    )
    expect(() => forwardExplain({ url: 'http://cloud', fallback: 'local' as never })).toThrow(
      /"fallback" must be/,
    )
  })
})

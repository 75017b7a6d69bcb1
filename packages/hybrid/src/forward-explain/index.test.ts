import * as testing from '@modelgate/backend-remote/testing'
import { createGate, encodeInferResponse } from '@modelgate/core'
import type { FeatureSchemaDefinition, GateContext, Plugin } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import type { NodeServer } from '@modelgate/edge/node'
import { createMasker } from '@modelgate/mask'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHybridBackend, forwardExplain } from '../index.js'
import type { OutboundTransform } from '../index.js'

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
}

/** A cloud gate that records every body it receives and answers explanations with fixed values. */
function cloudGate(received: string[]) {
  const recorder: Plugin = async function recorder(ctx: GateContext, next) {
    if (ctx.request.method === 'POST')
      received.push(new TextDecoder().decode(await ctx.bodyBytes()))
    await next()
  }
  const explainer: Plugin = async function explainer(ctx, next) {
    if (ctx.route.kind !== 'v1-explain' && ctx.route.kind !== 'v2-explain') return next()
    const request = await ctx.inferRequest()
    const outputs = await ctx.runModel(request.inputs)
    const rows = outputs[0]!.shape[0]!
    ctx.body = {
      ...encodeInferResponse({ modelName: 'linear', outputs }),
      explanations: [
        {
          output: 'y',
          base_value: [0.1, -0.2],
          values: Array.from({ length: rows }, () => [1, 2, 3]),
          method: 'exact_shap',
        },
      ],
    }
  }
  explainer.extensions = ['explain']
  return createGate({
    models: [{ name: 'linear', backend: testing.createLinearBackend(), schema }],
    plugins: [recorder, explainer],
  })
}

const masker = createMasker({
  policy: {
    entities: { '*': { op: 'replace' } },
    fields: { name: { op: 'replace' }, email: { op: 'replace' }, ssn: { op: 'replace' } },
  },
})
const maskRecords: OutboundTransform = async (payload) => {
  if (payload.kind !== 'records') return payload
  const { value } = await masker.applyPolicy({ instances: payload.instances })
  return { ...payload, instances: (value as { instances: unknown[] }).instances }
}

let received: string[]
let cloud: NodeServer
let edge: NodeServer
let cloudGateInstance: ReturnType<typeof createGate>

beforeAll(async () => {
  received = []
  cloudGateInstance = cloudGate(received)
  cloud = await serveNode(toFetchModule(cloudGateInstance), { port: 0 })
  const edgeGate = createGate({
    models: [
      {
        name: 'linear',
        backend: createHybridBackend({
          local: testing.createLinearBackend(),
          remote: { url: cloud.url, protocol: 'v2', model: 'linear' },
          policy: { confidence: { output: 'y', minTop: 100 } },
        }),
        schema,
      },
    ],
    plugins: [forwardExplain({ url: cloud.url, transformOutbound: maskRecords })],
  })
  edge = await serveNode(toFetchModule(edgeGate), { port: 0 })
})
afterAll(async () => {
  await edge?.close()
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
const post = (path: string, body: unknown) =>
  fetch(edge.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('forwardExplain', () => {
  it('sends explanations to the cloud gate and returns its answer', async () => {
    const res = await post('/v1/models/linear:explain', { instances: [application, application] })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-modelgate-route')).toBe('cloud')
    const body = await res.json()
    expect(body.explanations[0].values).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ])
    const server = await (await fetch(`${edge.url}/v2`)).json()
    expect(server.extensions).toContain('explain')
  })

  it('lets no canary PII leave the edge, for explanations or escalated predictions', async () => {
    received.length = 0
    expect((await post('/v1/models/linear:explain', { instances: [application] })).status).toBe(200)
    const predict = await post('/v1/models/linear:predict', { instances: [application] })
    expect(predict.status).toBe(200)
    expect(received).toHaveLength(2)
    const sent = received.join('\n')
    for (const canary of CANARIES) expect(sent).not.toContain(canary)
    expect(JSON.parse(received[0]!).instances[0]).toMatchObject({ a: 1, b: 2, c: 3 })
    expect(sent).toContain('"inputs"')
  })

  it('answers 503 cloud_unavailable when the cloud is down, or lets the chain answer', async () => {
    const down = await testing.startStandInServer({ protocol: 'v2' })
    await down.down()
    const gate = (fallback: 'error' | 'next') =>
      createGate({
        models: [{ name: 'linear', backend: testing.createLinearBackend() }],
        plugins: [forwardExplain({ url: down.url, fallback, timeoutMs: 1000 })],
      })
    const ask = (g: ReturnType<typeof gate>) =>
      g.fetch(
        new Request('http://edge/v2/models/linear/explain', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
          }),
        }),
      )
    const strict = gate('error')
    await strict.ready()
    const res = await ask(strict)
    expect(res.status).toBe(503)
    expect((await res.json()).code).toBe('cloud_unavailable')
    const lenient = gate('next')
    await lenient.ready()
    const next = await ask(lenient)
    expect(next.status).toBe(404)
    expect((await next.json()).code).toBe('extension_disabled')
    await down.close()
  })

  it('rejects a bad url at factory time', () => {
    expect(() => forwardExplain({ url: 'not a url' })).toThrow(/url/)
    expect(() => forwardExplain({ url: 'ftp://cloud' })).toThrow(/url/)
  })
})

import { createGate } from '@modelgate/core'
import type { ModelBackend, Plugin } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { echoRecords } from '../index.js'

/** A one-column model standing in for a real one: score = income / 100000. */
const linear: ModelBackend = {
  async metadata() {
    return {
      name: 'm',
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer([x]) {
    const d = x!.data as Float32Array
    return [{ name: 'score', datatype: 'FP32', shape: [d.length, 1], data: d.map((v) => v / 1e5) }]
  },
}

/** Stands in for a masking plugin: replaces e-mail addresses before the model. */
const hideEmail: Plugin = async function hideEmail(ctx, next) {
  if (ctx.route.kind === 'v1-predict') {
    const body = (await ctx.json()) as { instances: Array<Record<string, unknown>> }
    ctx.replaceJson({ instances: body.instances.map((r) => ({ ...r, email: '<EMAIL_ADDRESS>' })) })
  }
  await next()
}

const schema = {
  input: 'x',
  features: [
    { name: 'income', type: 'numeric' as const },
    {
      name: 'email',
      type: 'passthrough' as const,
      valueType: 'string' as const,
      pii: 'EMAIL_ADDRESS',
    },
    { name: 'ref', type: 'passthrough' as const, valueType: 'string' as const },
  ],
  outputNames: { score: ['score'] },
}

const predict = (gate: ReturnType<typeof createGate>, instances: unknown[]) =>
  gate.fetch(
    new Request('http://gate/v1/models/m:predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    }),
  )

describe('echoRecords', () => {
  it('echoes each record as the model received it into its prediction', async () => {
    const gate = createGate({
      models: [{ name: 'm', backend: linear, schema }],
      plugins: [hideEmail, echoRecords()],
    })
    await gate.ready()
    const res = await predict(gate, [
      { income: 50000, email: 'ana@example.org', ref: 'a1' },
      { income: 25000, email: 'bo@example.org', ref: 'b2' },
    ])
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      predictions: [
        { income: 50000, email: '<EMAIL_ADDRESS>', ref: 'a1', score: 0.5 },
        { income: 25000, email: '<EMAIL_ADDRESS>', ref: 'b2', score: 0.25 },
      ],
    })
  })

  it('echoes only the listed fields and leaves other routes alone', async () => {
    const gate = createGate({
      models: [{ name: 'm', backend: linear, schema }],
      plugins: [echoRecords({ fields: ['ref'] })],
    })
    await gate.ready()
    const res = await predict(gate, [{ income: 50000, email: 'ana@example.org', ref: 'a1' }])
    expect(await res.json()).toEqual({ predictions: [{ ref: 'a1', score: 0.5 }] })
    const v2 = await gate.fetch(
      new Request('http://gate/v2/models/m/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [50000] }],
        }),
      }),
    )
    expect((await v2.json()).outputs[0].data).toEqual([0.5])
  })

  it('echoes numbers, booleans and text by their type, missing values as null or empty text', async () => {
    const loose = {
      ...schema,
      features: [...schema.features, { name: 'vip', type: 'passthrough' as const }],
    }
    const gate = createGate({
      models: [{ name: 'm', backend: linear, schema: loose }],
      plugins: [echoRecords({ fields: ['vip', 'ref', 'income'] })],
    })
    await gate.ready()
    const res = await predict(gate, [
      { income: 50000, ref: 'a1', vip: true },
      { income: 25000, vip: false },
    ])
    expect(await res.json()).toEqual({
      predictions: [
        { score: 0.5, income: 50000, ref: 'a1', vip: true },
        { score: 0.25, income: 25000, ref: '', vip: false },
      ],
    })
  })

  it('refuses bad options', () => {
    expect(() => echoRecords({ fields: 'ref' as unknown as string[] })).toThrow(/fields/)
    expect(() => echoRecords({ field: ['ref'] } as never)).toThrow(
      'echoRecords: unknown option "field" (did you mean "fields"?)',
    )
  })
})

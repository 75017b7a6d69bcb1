import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createGate } from '@modelgate/core'
import type { Gate } from '@modelgate/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOnnxBackend } from './index.js'
import type { OnnxRuntime } from './index.js'

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../testkit/fixtures/${name}`, import.meta.url))
const ownFixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const expected = JSON.parse(readFileSync(fixture('mlp.expected.json'), 'utf8')) as {
  features: number[][]
  probabilities: number[][]
  label: number[]
}

const post = (gate: Gate, model: string, body: unknown) =>
  gate.fetch(
    new Request(`http://gate/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )
const get = (gate: Gate, path: string) => gate.fetch(new Request(`http://gate${path}`))

const featuresInput = (data: unknown, overrides: Record<string, unknown> = {}) => ({
  name: 'features',
  datatype: 'FP32',
  shape: [expected.features.length, 4],
  data,
  ...overrides,
})

describe.each<OnnxRuntime>(['node', 'web'])('through the gate (%s)', (runtime) => {
  let gate: Gate

  beforeAll(async () => {
    const backend = createOnnxBackend({ path: fixture('mlp.onnx'), runtime })
    expect(await backend.ready()).toBe(false)
    gate = createGate({ models: [{ name: 'mlp', backend }] })
    await gate.ready()
  })
  afterAll(() => gate.close())

  it('reports the model ready with ONNX metadata', async () => {
    expect((await get(gate, '/v2/models/mlp/ready')).status).toBe(200)
    const meta = await (await get(gate, '/v2/models/mlp')).json()
    expect(meta).toMatchObject({
      name: 'mlp',
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
    })
  })

  it('answers an OIP infer request with the reference values', async () => {
    const res = await post(gate, 'mlp', { id: 'r1', inputs: [featuresInput(expected.features)] })
    expect(res.status).toBe(200)
    const text = await res.text()
    const body = JSON.parse(text)
    expect(body).toMatchObject({ model_name: 'mlp', id: 'r1' })
    const probabilities = body.outputs.find((o: { name: string }) => o.name === 'probabilities')
    expect(probabilities).toMatchObject({ datatype: 'FP32', shape: [5, 2] })
    const want = expected.probabilities.flat()
    probabilities.data.forEach((v: number, i: number) =>
      expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5),
    )
    const label = body.outputs.find((o: { name: string }) => o.name === 'label')
    expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [5], data: expected.label })
    expect(text).toContain(`"data":[${expected.label.join(',')}]`)
  })

  it('returns only the requested outputs', async () => {
    const res = await post(gate, 'mlp', {
      inputs: [featuresInput(expected.features)],
      outputs: [{ name: 'label' }],
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(['label'])
  })

  it.each([
    [
      'a lower-case datatype',
      featuresInput(expected.features, { datatype: 'fp32' }),
      /case-sensitive/,
    ],
    [
      'a wrong data length',
      featuresInput(expected.features.flat().slice(1)),
      /shape needs 20 values/,
    ],
    [
      'an unknown input',
      featuresInput(expected.features, { name: 'extra' }),
      /unknown input "extra"/,
    ],
  ])('rejects %s with a 400 JSON error', async (_, input, message) => {
    const res = await post(gate, 'mlp', { inputs: [input] })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = await res.json()
    expect(body.error).toMatch(message)
    expect((await post(gate, 'mlp', { inputs: [featuresInput(expected.features)] })).status).toBe(
      200,
    )
  })
})

describe('gate readiness and failures', () => {
  it('reports a corrupt model as not ready while other models serve', async () => {
    const gate = createGate({
      models: [
        { name: 'bad', backend: createOnnxBackend({ model: new Uint8Array([8, 7, 0, 1, 2, 3]) }) },
        { name: 'mlp', backend: createOnnxBackend({ path: fixture('mlp.onnx') }) },
      ],
    })
    try {
      await expect(gate.ready()).rejects.toThrow(
        /cannot load ONNX model \(6 bytes\) with onnxruntime-node/,
      )
      expect((await get(gate, '/v2/health/ready')).status).toBe(503)
      expect((await get(gate, '/v2/models/bad/ready')).status).toBe(503)
      const res = await post(gate, 'bad', { inputs: [featuresInput(expected.features)] })
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: 'model "bad" is not ready' })
      expect((await get(gate, '/v2/models/mlp/ready')).status).toBe(200)
      expect((await post(gate, 'mlp', { inputs: [featuresInput(expected.features)] })).status).toBe(
        200,
      )
    } finally {
      await gate.close()
    }
  })

  it.each<OnnxRuntime>(['node', 'web'])(
    'turns an onnxruntime-%s failure into a generic 500, message kept for logs',
    async (runtime) => {
      await expect(
        createOnnxBackend({ path: ownFixture('pairs.onnx'), runtime }).load!(),
      ).rejects.toThrow(
        /warm-up inference of model ".*pairs\.onnx" failed \(set warmup: false to skip it\)/,
      )
      const logged: unknown[] = []
      const gate = createGate({
        models: [
          {
            name: 'pairs',
            backend: createOnnxBackend({ path: ownFixture('pairs.onnx'), runtime, warmup: false }),
          },
        ],
        onError: (error) => logged.push(error),
      })
      try {
        await gate.ready()
        const x = (n: number) => ({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [n], data: Array(n).fill(1) }],
        })
        const res = await post(gate, 'pairs', x(3))
        expect(res.status).toBe(500)
        const text = await res.text()
        expect(JSON.parse(text)).toEqual({ error: 'inference failed', code: 'backend_error' })
        expect(text).not.toMatch(/reshape|onnxruntime/i)
        expect(logged).toHaveLength(1)
        expect((logged[0] as Error).message).toMatch(
          new RegExp(`onnxruntime-${runtime} inference failed: .*reshape`, 'i'),
        )
        const ok = await post(gate, 'pairs', x(4))
        expect(ok.status).toBe(200)
        expect((await ok.json()).outputs[0]).toEqual({
          name: 'y',
          datatype: 'FP32',
          shape: [2, 2],
          data: [1, 1, 1, 1],
        })
      } finally {
        await gate.close()
      }
    },
  )
})

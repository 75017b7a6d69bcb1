import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { createGate } from '@modelgate/core'
import type { Gate, Tensor } from '@modelgate/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GRAPH_B,
  GRAPH_W,
  buildMlp,
  graphReference,
  saveMlp,
  writeGraphModel,
} from '../test/fixtures.js'
import { activeTfjsBackend, createTfjsBackend, useTfjsBackend } from './index.js'

const rows = [
  [0.5, -1, 2, 0.25],
  [-0.3, 0.8, 0.1, -2],
  [1.5, 0, -0.7, 0.9],
]
const features = (data = rows): Tensor => ({
  name: 'features',
  datatype: 'FP32',
  shape: [data.length, 4],
  data: Float32Array.from(data.flat()),
})

let mlp: tf.Sequential
let mlpPath: string
let expected: Float32Array

beforeAll(async () => {
  mlp = buildMlp()
  mlpPath = await saveMlp(mlp)
})

function expectClose(actual: ArrayLike<number>, wanted: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(wanted.length)
  for (let i = 0; i < wanted.length; i++)
    expect(Math.abs(actual[i]! - wanted[i]!)).toBeLessThanOrEqual(tolerance)
}

describe('createTfjsBackend options', () => {
  it('throws a TypeError for bad options at factory time', () => {
    expect(() => createTfjsBackend({})).toThrow(TypeError)
    expect(() => createTfjsBackend({ path: 'a/model.json', url: 'https://x/model.json' })).toThrow(
      /exactly one/,
    )
    expect(() => createTfjsBackend({ url: 'ftp://host/model.json' })).toThrow(/http/)
    expect(() => createTfjsBackend({ path: '' })).toThrow(TypeError)
    expect(() => createTfjsBackend({ model: {} as tf.LayersModel })).toThrow(
      /LayersModel or a tf.GraphModel/,
    )
    expect(() => createTfjsBackend({ path: 'm.json', backend: 'webgl' as 'cpu' })).toThrow(
      /backend/,
    )
    expect(() => createTfjsBackend({ path: 'm.json', inputNames: ['a', 'a'] })).toThrow(/repeat/)
    expect(() => createTfjsBackend({ path: 'm.json', outputNames: [] })).toThrow(/non-empty array/)
    expect(() =>
      createTfjsBackend({ path: 'm.json', warmup: 'yes' as unknown as boolean }),
    ).toThrow(/warmup/)
    expect(() => createTfjsBackend(undefined as never)).toThrow(TypeError)
  })
})

describe('a layers model from disk', () => {
  it('runs on wasm and matches the in-memory model', async () => {
    const backend = createTfjsBackend({
      path: mlpPath,
      backend: 'wasm',
      inputNames: ['features'],
      outputNames: ['score'],
    })
    expect(await backend.ready()).toBe(false)
    await backend.load!()
    expect(await backend.ready()).toBe(true)
    expect(activeTfjsBackend()).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')

    const [out] = await backend.infer([features()])
    expect(out).toMatchObject({ name: 'score', datatype: 'FP32', shape: [3, 2] })
    expected = tf.tidy(() => (mlp.predict(tf.tensor(rows)) as tf.Tensor).dataSync() as Float32Array)
    expectClose(out!.data as Float32Array, expected)
    await backend.close!()
    expect(await backend.ready()).toBe(false)
    await expect(backend.infer([features()])).rejects.toThrow(/closed/)
  })

  it('reports metadata with -1 for the batch dimension and the given names', async () => {
    const named = createTfjsBackend({
      path: mlpPath,
      inputNames: ['features'],
      outputNames: ['score'],
      platform: 'tfjs',
    })
    expect(await named.metadata()).toEqual({
      platform: 'tfjs',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 2] }],
      parameters: { format: 'layers-model' },
    })
    const raw = createTfjsBackend({ path: mlpPath, warmup: false })
    const meta = await raw.metadata()
    expect(meta.platform).toBe('tensorflowjs')
    expect(meta.inputs[0]!.shape).toEqual([-1, 4])
    expect(meta.inputs[0]!.name).toMatch(/input/)
    expect(meta.outputs[0]!.name).toMatch(/dense/)
    await Promise.all([named.close!(), raw.close!()])
  })

  it('rejects inputs that do not fit the model', async () => {
    const backend = createTfjsBackend({ path: mlpPath, inputNames: ['features'] })
    await expect(backend.infer([{ ...features(), name: 'other' }])).rejects.toThrow(
      /unknown input "other"/,
    )
    await expect(backend.infer([{ ...features(), shape: [3, 5] }])).rejects.toThrow(
      /dimension 1 is 5/,
    )
    await expect(backend.infer([{ ...features(), shape: [4, 4] }])).rejects.toThrow(
      /needs 16 values, got 12/,
    )
    await expect(backend.infer([features()], { outputs: ['nope'] })).rejects.toThrow(
      /unknown output/,
    )
    const controller = new AbortController()
    controller.abort()
    await expect(backend.infer([features()], { signal: controller.signal })).rejects.toThrow()
    await backend.close!()
  })

  it('loads the same model.json over HTTP', async () => {
    const dir = dirname(mlpPath)
    const server = createServer((req, res) => {
      readFile(join(dir, (req.url ?? '/').slice(1))).then(
        (body) => res.end(body),
        () => res.writeHead(404).end(),
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const backend = createTfjsBackend({
        url: `http://127.0.0.1:${port}/model.json`,
        inputNames: ['features'],
      })
      const [out] = await backend.infer([features()])
      expectClose(out!.data as Float32Array, expected)
      await backend.close!()
    } finally {
      server.close()
    }
  })

  it('does not leak tensors over 50 calls', async () => {
    const backend = createTfjsBackend({ path: mlpPath, inputNames: ['features'] })
    await backend.load!()
    await backend.infer([features()])
    const before = tf.memory().numTensors
    for (let i = 0; i < 50; i++) await backend.infer([features()])
    expect(tf.memory().numTensors).toBe(before)
    await backend.close!()
  })
})

/** The MLP's forward pass in float64 JavaScript, from its weights. */
function mlpReference(model: tf.Sequential): (row: number[]) => number[] {
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()))
  const shapes = model.getWeights().map((w) => w.shape)
  return (row) => {
    let h = row
    for (let l = 0; l < weights.length; l += 2) {
      const m = shapes[l]![1]!
      const out = Array.from(
        { length: m },
        (_, j) => h.reduce((s, v, i) => s + v * weights[l]![i * m + j]!, 0) + weights[l + 1]![j]!,
      )
      h =
        l + 2 === weights.length
          ? out.map((v) => 1 / (1 + Math.exp(-v)))
          : out.map((v) => Math.max(0, v))
    }
    return h
  }
}

describe('gradients', () => {
  it('match central differences of the layers model, per row and per output column', async () => {
    const backend = createTfjsBackend({
      path: mlpPath,
      inputNames: ['features'],
      outputNames: ['score'],
    })
    const reference = mlpReference(mlp)
    const h = 1e-4
    for (const outputIndex of [undefined, 1]) {
      const [grad] = await backend.gradients!([features()], {
        output: 'score',
        ...(outputIndex === undefined ? {} : { outputIndex }),
      })
      expect(grad).toMatchObject({ name: 'features', datatype: 'FP32', shape: [3, 4] })
      const objective = (row: number[]) => {
        const y = reference(row)
        return outputIndex === undefined ? y.reduce((a, b) => a + b, 0) : y[outputIndex]!
      }
      const numeric = rows.flatMap((row) =>
        row.map((_, i) => {
          const up = row.map((v, j) => (j === i ? v + h : v))
          const down = row.map((v, j) => (j === i ? v - h : v))
          return (objective(up) - objective(down)) / (2 * h)
        }),
      )
      expectClose(grad!.data as Float32Array, numeric, 1e-4)
    }
    await expect(
      backend.gradients!([features()], { output: 'score', outputIndex: 2 }),
    ).rejects.toThrow(/outputIndex/)
    const before = tf.memory().numTensors
    await backend.gradients!([features()], { output: 'score' })
    expect(tf.memory().numTensors).toBe(before)
    await backend.close!()
  })
})

describe('a graph model', () => {
  let graphPath: string
  beforeAll(async () => {
    graphPath = await writeGraphModel()
  })

  it('loads a hand-written graph model and reports INT64 for its int64 placeholder', async () => {
    const backend = createTfjsBackend({ path: graphPath })
    const meta = await backend.metadata()
    expect(meta.parameters).toEqual({ format: 'graph-model' })
    expect(meta.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 3] },
      { name: 'k', datatype: 'INT64', shape: [-1, 1] },
    ])
    expect(meta.outputs.map((o) => o.name).sort()).toEqual(['y_out', 'z'])
    expect(meta.outputs.map((o) => o.datatype)).toEqual(['FP32', 'FP32'])

    const x = [
      [1, 2, 3],
      [-1, 0.5, 4],
    ]
    const k = [2, -3]
    const inputs: Tensor[] = [
      { name: 'x', datatype: 'FP32', shape: [2, 3], data: Float32Array.from(x.flat()) },
      { name: 'k', datatype: 'INT64', shape: [2, 1], data: BigInt64Array.from(k.map(BigInt)) },
    ]
    const reference = graphReference(x, k)
    const outputs = await backend.infer(inputs, { outputs: ['z', 'y_out'] })
    expect(outputs.map((o) => o.name)).toEqual(['z', 'y_out'])
    expectClose(outputs[0]!.data as Float32Array, reference.z.flat())
    expectClose(outputs[1]!.data as Float32Array, reference.y.flat())

    const [dx] = await backend.gradients!(inputs, { output: 'z' })
    expect(dx).toMatchObject({ name: 'x', shape: [2, 3] })
    const analytic = x.flatMap((row, r) => {
      const pre = [0, 1].map(
        (j) => row.reduce((s, v, i) => s + v * GRAPH_W[i * 2 + j]!, 0) + GRAPH_B[j]!,
      )
      return row.map((_, i) =>
        [0, 1].reduce((s, j) => s + (pre[j]! > 0 ? GRAPH_W[i * 2 + j]! * k[r]! : 0), 0),
      )
    })
    expectClose(dx!.data as Float32Array, analytic)

    const tooBig: Tensor = {
      name: 'k',
      datatype: 'INT64',
      shape: [2, 1],
      data: BigInt64Array.from([1n, 2n ** 40n]),
    }
    await expect(backend.infer([inputs[0]!, tooBig])).rejects.toThrow(/int32 range/)
    await backend.close!()
  })

  it('runs graphs with dynamic ops through executeAsync without leaking', async () => {
    const dir = dirname(await writeGraphModel())
    const modelJson = {
      format: 'graph-model',
      modelTopology: {
        node: [
          {
            name: 'v',
            op: 'Placeholder',
            attr: { dtype: { type: 'DT_BOOL' }, shape: { shape: { dim: [{ size: '-1' }] } } },
          },
          { name: 'where', op: 'Where', input: ['v'], attr: { T: { type: 'DT_BOOL' } } },
        ],
        versions: { producer: 1395 },
      },
      signature: { outputs: { 'where:0': { name: 'where:0', dtype: 'DT_INT64' } } },
      weightsManifest: [],
    }
    await writeFile(join(dir, 'where.json'), JSON.stringify(modelJson))
    const backend = createTfjsBackend({ path: join(dir, 'where.json'), outputNames: ['indices'] })
    const meta = await backend.metadata()
    expect(meta.inputs).toEqual([{ name: 'v', datatype: 'BOOL', shape: [-1] }])
    expect(meta.outputs[0]).toMatchObject({ name: 'indices', datatype: 'INT64' })
    const input: Tensor = {
      name: 'v',
      datatype: 'BOOL',
      shape: [5],
      data: Uint8Array.from([0, 1, 1, 0, 1]),
    }
    const [first] = await backend.infer([input])
    const before = tf.memory().numTensors
    const [out] = await backend.infer([input])
    expect(tf.memory().numTensors).toBe(before)
    expect(first).toEqual(out)
    expect(out).toMatchObject({ datatype: 'INT64', shape: [3, 1] })
    expect(Array.from(out!.data as BigInt64Array)).toEqual([1n, 2n, 4n])
    await backend.close!()
  })

  it('takes an in-memory graph model and leaves it undisposed on close', async () => {
    const { fileIOHandler } = await import('./index.js')
    const model = await tf.loadGraphModel(fileIOHandler(graphPath))
    const backend = createTfjsBackend({ model, inputNames: ['x', 'k'] })
    const [z] = await backend.infer(
      [
        { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) },
        { name: 'k', datatype: 'INT32', shape: [1, 1], data: Int32Array.from([2]) },
      ],
      { outputs: ['z'] },
    )
    expectClose(z!.data as Float32Array, graphReference([[1, 2, 3]], [2]).z.flat())
    await backend.close!()
    expect(
      model.execute({ x: tf.zeros([1, 3]), k: tf.zeros([1, 1], 'int32') }, 'z'),
    ).toBeInstanceOf(tf.Tensor)
  })
})

describe('through the gate', () => {
  let gate: Gate
  beforeAll(() => {
    const backend = createTfjsBackend({
      path: mlpPath,
      inputNames: ['features'],
      outputNames: ['score'],
    })
    gate = createGate({ models: [{ name: 'tf', backend }] })
  })
  afterAll(() => gate.close())

  it('serves POST /v2/models/tf/infer with the model values', async () => {
    await gate.ready()
    const meta = await (await gate.fetch(new Request('http://gate/v2/models/tf'))).json()
    expect(meta.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 4] }])
    const res = await gate.fetch(
      new Request('http://gate/v2/models/tf/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: rows }],
        }),
      }),
    )
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.model_name).toBe('tf')
    expect(body.outputs[0]).toMatchObject({ name: 'score', datatype: 'FP32', shape: [3, 2] })
    expectClose(body.outputs[0].data, expected)
  })

  it('answers 400 for a request that does not fit', async () => {
    const res = await gate.fetch(
      new Request('http://gate/v2/models/tf/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
        }),
      }),
    )
    expect(res.status).toBe(400)
  })
})

describe('switching the process-wide backend', () => {
  it('gives the same outputs on cpu as on wasm', async () => {
    const onWasm = createTfjsBackend({ path: mlpPath, backend: 'wasm', inputNames: ['features'] })
    const [wasmOut] = await onWasm.infer([features()])

    expect(await useTfjsBackend('cpu')).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    const onCpu = createTfjsBackend({ path: mlpPath, backend: 'cpu', inputNames: ['features'] })
    const [cpuOut] = await onCpu.infer([features()])
    expectClose(cpuOut!.data as Float32Array, wasmOut!.data as Float32Array)
    expectClose(cpuOut!.data as Float32Array, expected)

    const [movedOut] = await onWasm.infer([features()])
    expectClose(movedOut!.data as Float32Array, expected)
    await Promise.all([onWasm.close!(), onCpu.close!()])
  })

  it('refuses to load a model that explicitly asks for another backend', async () => {
    const backend = createTfjsBackend({ path: mlpPath, backend: 'wasm' })
    await expect(backend.load!()).rejects.toThrow(
      /"cpu" is already active.*asks for "wasm".*useTfjsBackend/,
    )
    expect(await backend.ready()).toBe(false)
    const auto = createTfjsBackend({ path: mlpPath })
    await auto.load!()
    expect(await auto.ready()).toBe(true)
    await auto.close!()
  })
})

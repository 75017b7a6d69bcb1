import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BadRequestError, NotReadyError } from '@modelgate/core'
import type { ModelBackend, Tensor } from '@modelgate/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOnnxBackend, decodeFloat16, encodeFloat16 } from './index.js'
import type { OnnxRuntime } from './index.js'
import { importRuntime } from './runtime.js'

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../testkit/fixtures/${name}`, import.meta.url))
const ownFixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const expected = JSON.parse(readFileSync(fixture('mlp.expected.json'), 'utf8')) as {
  features: number[][]
  probabilities: number[][]
  label: number[]
}

const features = (rows: number[][]): Tensor => ({
  name: 'features',
  datatype: 'FP32',
  shape: [rows.length, 4],
  data: new Float32Array(rows.flat()),
})

function expectClose(
  actual: ArrayLike<number>,
  wanted: ArrayLike<number>,
  tolerance: number,
): void {
  expect(actual.length).toBe(wanted.length)
  for (let i = 0; i < wanted.length; i++)
    expect(Math.abs(actual[i]! - wanted[i]!)).toBeLessThanOrEqual(tolerance)
}

describe('createOnnxBackend options', () => {
  it.each([
    [{}, /exactly one/],
    [{ path: 'a.onnx', model: new Uint8Array([1]) }, /exactly one/],
    [{ path: '' }, /non-empty string/],
    [{ model: new Uint8Array() }, /non-empty Uint8Array/],
    [{ model: [1, 2] }, /Uint8Array/],
    [{ path: 'a.onnx', runtime: 'wasm' }, /"node" or "web"/],
    [{ path: 'a.onnx', intraOpNumThreads: 0 }, /positive integer/],
    [{ path: 'a.onnx', interOpNumThreads: 1.5 }, /positive integer/],
    [{ path: 'a.onnx', executionProviders: [] }, /executionProviders/],
    [{ path: 'a.onnx', warmup: 'yes' }, /boolean/],
    [{ path: 'a.onnx', platform: '' }, /platform/],
    [{ modelPath: 'a.onnx' }, /unknown option "modelPath"/],
  ])('rejects %o', (options, message) => {
    expect(() => createOnnxBackend(options as never)).toThrow(TypeError)
    expect(() => createOnnxBackend(options as never)).toThrow(message)
  })
})

describe('runtime import', () => {
  it('names the package to install when it is missing', async () => {
    await expect(importRuntime('onnxruntime-not-installed-here')).rejects.toThrow(
      /"onnxruntime-not-installed-here" package is not installed; add it with `npm install onnxruntime-not-installed-here`/,
    )
  })
})

describe.each<OnnxRuntime>(['node', 'web'])('runtime %s', (runtime) => {
  let mlp: ModelBackend
  let multi: ModelBackend

  beforeAll(async () => {
    mlp = createOnnxBackend({ path: fixture('mlp.onnx'), runtime })
    multi = createOnnxBackend({ model: readFileSync(fixture('multi_io.onnx')), runtime })
    expect(await mlp.ready()).toBe(false)
    await Promise.all([mlp.load!(), multi.load!()])
  })
  afterAll(async () => {
    await mlp.close!()
    await multi.close!()
  })

  it('reads metadata from the session, with -1 for the batch dimension', async () => {
    expect(await mlp.ready()).toBe(true)
    expect(await mlp.metadata()).toEqual({
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    })
    expect((await multi.metadata()).inputs).toEqual([
      { name: 'a', datatype: 'FP32', shape: [-1, 3] },
      { name: 'b', datatype: 'INT64', shape: [-1, 3] },
    ])
    expect((await multi.metadata()).outputs.map((o) => o.datatype)).toEqual(['FP32', 'BOOL'])
  })

  it('matches the numpy reference within 1e-5', async () => {
    const [probabilities, label] = await mlp.infer([features(expected.features)])
    expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [5, 2] })
    expect(probabilities!.data).toBeInstanceOf(Float32Array)
    expectClose(probabilities!.data as Float32Array, expected.probabilities.flat(), 1e-5)
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [5] })
    expect(label!.data).toEqual(BigInt64Array.from(expected.label.map(BigInt)))
  })

  it('computes only the requested outputs, in the requested order', async () => {
    const outputs = await mlp.infer([features(expected.features.slice(0, 2))], {
      outputs: ['label'],
    })
    expect(outputs.map((o) => o.name)).toEqual(['label'])
    expect(outputs[0]!.shape).toEqual([2])
  })

  it('round-trips INT64 and BOOL through multi_io', async () => {
    const a = new Float32Array([0.5, -1.5, 2, -0.25, 0, 10])
    const b = new BigInt64Array([1n, 1n, -3n, 0n, -1n, -9_007_199n])
    const [sum, positive] = await multi.infer([
      { name: 'a', datatype: 'FP32', shape: [2, 3], data: a },
      { name: 'b', datatype: 'INT64', shape: [2, 3], data: b },
    ])
    expect(sum).toMatchObject({ datatype: 'FP32', shape: [2, 3] })
    expect(Array.from(sum!.data as Float32Array)).toEqual([
      1.5,
      -0.5,
      -1,
      -0.25,
      -1,
      10 - 9_007_199,
    ])
    expect(positive).toMatchObject({ datatype: 'BOOL', shape: [2, 3] })
    expect(positive!.data).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0]))
  })

  it('serves concurrent requests correctly', async () => {
    const rows = expected.features
    const results = await Promise.all(
      rows.map((row) => mlp.infer([features([row])], { outputs: ['probabilities'] })),
    )
    results.forEach((outputs, i) =>
      expectClose(outputs[0]!.data as Float32Array, expected.probabilities[i]!, 1e-5),
    )
  })

  it('rejects wrong inputs with a 400 error instead of reaching native code', async () => {
    const bad: Array<[Tensor[], RegExp]> = [
      [[{ ...features([[1, 2, 3, 4]]), data: new Float32Array(3) }], /shape needs 4 values/],
      [[{ ...features([[1, 2, 3, 4]]), shape: [1, 5] }], /dimension 1 is 5/],
      [[{ ...features([[1, 2, 3, 4]]), datatype: 'FP64' }], /does not match the model's FP32/],
      [[{ ...features([[1, 2, 3, 4]]), name: 'nope' }], /unknown input "nope"/],
      [[], /missing input "features"/],
    ]
    for (const [inputs, message] of bad) {
      const error = await mlp.infer(inputs).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BadRequestError)
      expect((error as Error).message).toMatch(message)
    }
    await expect(mlp.infer([features([[1, 2, 3, 4]])], { outputs: ['nope'] })).rejects.toThrow(
      BadRequestError,
    )
    expect(await mlp.ready()).toBe(true)
  })

  it('round-trips every datatype and converts FP16 the way onnxruntime reads it', async () => {
    const backend = createOnnxBackend({ path: ownFixture('dtypes.onnx'), runtime })
    try {
      const meta = await backend.metadata()
      const byName = Object.fromEntries(meta.inputs.map((m) => [m.name, m]))
      expect(byName.half).toEqual({ name: 'half', datatype: 'FP16', shape: [-1, 2] })
      expect(byName.text).toEqual({ name: 'text', datatype: 'BYTES', shape: [-1, 2] })
      expect(byName.flag).toEqual({ name: 'flag', datatype: 'BOOL', shape: [3] })
      expect(meta.inputs.map((m) => m.datatype)).toEqual([
        'FP16',
        'FP64',
        'INT8',
        'INT16',
        'INT32',
        'UINT8',
        'UINT16',
        'UINT32',
        'UINT64',
        'BYTES',
        'BOOL',
      ])
      const half = new Float32Array([1, -2, 0.1, 65504, 1e-7, -Infinity])
      const inputs: Tensor[] = [
        { name: 'half', datatype: 'FP16', shape: [3, 2], data: half },
        {
          name: 'double',
          datatype: 'FP64',
          shape: [1, 2],
          data: new Float64Array([Math.PI, -1e300]),
        },
        { name: 'i8', datatype: 'INT8', shape: [1, 2], data: new Int8Array([-128, 127]) },
        { name: 'i16', datatype: 'INT16', shape: [1, 2], data: new Int16Array([-32768, 32767]) },
        {
          name: 'i32',
          datatype: 'INT32',
          shape: [1, 2],
          data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
        },
        { name: 'u8', datatype: 'UINT8', shape: [1, 2], data: new Uint8Array([0, 255]) },
        { name: 'u16', datatype: 'UINT16', shape: [1, 2], data: new Uint16Array([0, 65535]) },
        { name: 'u32', datatype: 'UINT32', shape: [1, 2], data: new Uint32Array([0, 2 ** 32 - 1]) },
        {
          name: 'u64',
          datatype: 'UINT64',
          shape: [1, 2],
          data: new BigUint64Array([0n, 2n ** 64n - 1n]),
        },
        { name: 'text', datatype: 'BYTES', shape: [2, 2], data: ['héllo', '', 'a b', '✓'] },
        { name: 'flag', datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      ]
      const outputs = await backend.infer(inputs)
      const out = Object.fromEntries(outputs.map((t) => [t.name, t]))
      for (const input of inputs) {
        const echoed = out[`${input.name}_out`]!
        expect(echoed.datatype).toBe(input.datatype)
        expect(echoed.shape).toEqual(input.shape)
        if (input.datatype === 'FP16')
          expect(echoed.data).toEqual(decodeFloat16(encodeFloat16(half)))
        else expect(echoed.data).toEqual(input.data)
      }
      expect(out.half_as_float!.data).toEqual(decodeFloat16(encodeFloat16(half)))
      expect(Array.from(out.half_as_float!.data as Float32Array).slice(0, 4)).toEqual([
        1, -2, 0.0999755859375, 65504,
      ])
    } finally {
      await backend.close!()
    }
  })

  it('fails to load a corrupt model with a clear error, and stays not ready', async () => {
    const backend = createOnnxBackend({
      model: new TextEncoder().encode('this is not an onnx model'),
      runtime,
    })
    await expect(backend.load!()).rejects.toThrow(
      new RegExp(
        String.raw`cannot load ONNX model \(25 bytes\) with onnxruntime-${runtime}: .*protobuf`,
      ),
    )
    expect(await backend.ready()).toBe(false)
    await expect(backend.infer([features([[1, 2, 3, 4]])])).rejects.toThrow(
      /cannot load ONNX model/,
    )
  })

  it('names a missing model file', async () => {
    const backend = createOnnxBackend({ path: ownFixture('missing.onnx'), runtime })
    await expect(backend.load!()).rejects.toThrow(/missing\.onnx/)
    expect(await backend.ready()).toBe(false)
  })

  it('is not ready after close and refuses to run', async () => {
    const backend = createOnnxBackend({ path: fixture('mlp.onnx'), runtime, warmup: false })
    await backend.load!()
    expect(await backend.ready()).toBe(true)
    await backend.close!()
    expect(await backend.ready()).toBe(false)
    await expect(backend.infer([features([[1, 2, 3, 4]])])).rejects.toThrow(NotReadyError)
  })
})

describe('node and web runtimes', () => {
  it('give the same outputs for the same inputs within 1e-6', async () => {
    const node = createOnnxBackend({ path: fixture('mlp.onnx'), runtime: 'node' })
    const web = createOnnxBackend({ path: fixture('mlp.onnx'), runtime: 'web' })
    try {
      const rows = Array.from({ length: 16 }, (_, r) =>
        [0, 1, 2, 3].map((c) => Math.sin(r * 4 + c) * 2),
      )
      const [a, b] = await Promise.all([node.infer([features(rows)]), web.infer([features(rows)])])
      expectClose(a[0]!.data as Float32Array, b[0]!.data as Float32Array, 1e-6)
      expect(a[1]!.data).toEqual(b[1]!.data)
    } finally {
      await Promise.all([node.close!(), web.close!()])
    }
  })
})

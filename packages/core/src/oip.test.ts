import { describe, expect, it } from 'vitest'
import { BadRequestError, PayloadTooLargeError } from './errors.js'
import { decodeInferRequest, encodeInferResponse } from './oip.js'
import type { ModelMetadata } from './types.js'

const meta: ModelMetadata = {
  platform: 'test',
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'ids', datatype: 'INT64', shape: [-1] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1] },
    { name: 'z', datatype: 'BOOL', shape: [-1] },
  ],
}

const valid = () => ({
  id: 'req-1',
  parameters: { trace: true },
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
    {
      name: 'ids',
      datatype: 'INT64',
      shape: [2],
      data: [7, 9007199254740991],
      parameters: { p: 1 },
    },
  ],
  outputs: [{ name: 'y' }],
})

function rejects(body: unknown, message: RegExp): void {
  let caught: unknown
  try {
    decodeInferRequest(body, meta)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(BadRequestError)
  expect((caught as Error).message).toMatch(message)
}

describe('decodeInferRequest', () => {
  it('decodes flat data into typed arrays and keeps id, parameters and outputs', () => {
    const req = decodeInferRequest(valid(), meta)
    expect(req.id).toBe('req-1')
    expect(req.parameters).toEqual({ trace: true })
    expect(req.outputs).toEqual([{ name: 'y' }])
    expect(req.inputs[0]!.data).toEqual(new Float32Array([1, 2, 3, 4]))
    expect(req.inputs[1]!.data).toEqual(new BigInt64Array([7n, 9007199254740991n]))
    expect(req.inputs[1]!.parameters).toEqual({ p: 1 })
  })

  it('accepts nested data that follows the shape', () => {
    const body = valid()
    body.inputs[0]!.data = [
      [1, 2],
      [3, 4],
    ] as never
    expect(decodeInferRequest(body, meta).inputs[0]!.data).toEqual(new Float32Array([1, 2, 3, 4]))
  })

  it('rejects nested data that does not follow the shape', () => {
    const body = valid()
    body.inputs[0]!.data = [[1, 2, 3], [4]] as never
    rejects(body, /nested "data" does not match shape/)
  })

  it.each([
    [
      'lower-case datatype',
      (b: any) => (b.inputs[0].datatype = 'fp32'),
      /case-sensitive: use "FP32"/,
    ],
    ['unknown datatype', (b: any) => (b.inputs[0].datatype = 'FLOAT'), /invalid datatype/],
    [
      'datatype differing from the model',
      (b: any) => (b.inputs[0].datatype = 'FP64'),
      /does not match/,
    ],
    [
      'wrong data length',
      (b: any) => (b.inputs[0].data = [1, 2, 3]),
      /needs 4 values, "data" has 3/,
    ],
    ['negative dimension', (b: any) => (b.inputs[0].shape = [-2, 2]), /non-negative integers/],
    ['fractional dimension', (b: any) => (b.inputs[0].shape = [1.5, 2]), /non-negative integers/],
    ['rank mismatch', (b: any) => (b.inputs[0].shape = [4]), /1 dimensions, the model expects 2/],
    ['fixed dimension mismatch', (b: any) => (b.inputs[0].shape = [1, 4]), /dimension 1 is 4/],
    ['strings in FP32', (b: any) => (b.inputs[0].data = ['1', 2, 3, 4]), /not a valid FP32/],
    ['unsafe INT64', (b: any) => (b.inputs[1].data = [1, 2 ** 60]), /not a valid INT64/],
    ['missing input', (b: any) => b.inputs.pop(), /missing input "ids"/],
    ['unknown input', (b: any) => (b.inputs[1].name = 'nope'), /unknown input "nope"/],
    ['duplicate input', (b: any) => (b.inputs[1] = { ...b.inputs[0] }), /given twice/],
    ['unknown output', (b: any) => (b.outputs = [{ name: 'w' }]), /unknown output "w"/],
    ['non-string id', (b: any) => (b.id = 5), /"id" must be a string/],
    ['array parameters', (b: any) => (b.parameters = []), /"parameters" must be an object/],
    [
      'binary data extension',
      (b: any) => (b.inputs[0].parameters = { binary_data_size: 16 }),
      /binary/,
    ],
  ])('rejects %s', (_name, mutate, message) => {
    const body = valid()
    mutate(body)
    rejects(body, message)
  })

  it('rejects non-objects and empty inputs', () => {
    rejects([], /must be a JSON object/)
    rejects({ inputs: [] }, /non-empty array/)
  })

  it('never echoes data values in errors', () => {
    const body = valid()
    body.inputs[0]!.data = ['4111111111111111', 2, 3, 4] as never
    try {
      decodeInferRequest(body, meta)
      expect.unreachable()
    } catch (error) {
      expect((error as Error).message).not.toContain('4111')
    }
  })

  it('checks the element budget before allocating', () => {
    const body = valid()
    body.inputs[0]!.shape = [1_000_000_000, 2]
    expect(() => decodeInferRequest(body, meta, { maxTensorElements: 1000 })).toThrow(
      PayloadTooLargeError,
    )
  })

  it('checks integer ranges', () => {
    const m: ModelMetadata = {
      platform: 't',
      inputs: [{ name: 'i', datatype: 'INT8', shape: [-1] }],
      outputs: [],
    }
    const bad = { inputs: [{ name: 'i', datatype: 'INT8', shape: [1], data: [128] }] }
    expect(() => decodeInferRequest(bad, m)).toThrow(/not a valid INT8/)
    const ok = { inputs: [{ name: 'i', datatype: 'INT8', shape: [2], data: [-128, 127] }] }
    expect(decodeInferRequest(ok, m).inputs[0]!.data).toEqual(new Int8Array([-128, 127]))
  })
})

describe('encodeInferResponse', () => {
  it('serialises INT64 as numbers, BOOL as booleans and filters outputs', () => {
    const body = encodeInferResponse({
      modelName: 'm',
      modelVersion: '2',
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, -3n]) },
        { name: 'z', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      ],
    })
    expect(JSON.parse(JSON.stringify(body))).toEqual({
      model_name: 'm',
      model_version: '2',
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'INT64', shape: [2], data: [1, -3] },
        { name: 'z', datatype: 'BOOL', shape: [2], data: [true, false] },
      ],
    })
    const filtered = encodeInferResponse({
      modelName: 'm',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array([0.5]) }],
      requested: [{ name: 'z' }],
    })
    expect(filtered.outputs).toEqual([])
  })
})

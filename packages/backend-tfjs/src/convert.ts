import * as tf from '@tensorflow/tfjs'
import { BadRequestError } from '@modelgate/core'
import type { Datatype, Tensor, TensorData } from '@modelgate/core'

const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

/** @internal The OIP datatype of a TF.js dtype. */
export function datatypeOf(dtype: tf.DataType): Datatype {
  switch (dtype) {
    case 'float32':
      return 'FP32'
    case 'int32':
      return 'INT32'
    case 'bool':
      return 'BOOL'
    case 'string':
      return 'BYTES'
    default:
      throw new Error(`TF.js dtype "${dtype}" has no Open Inference Protocol datatype`)
  }
}

/**
 * @internal Builds the TF.js tensor for one input. Numbers are converted to the model's dtype;
 * integers headed for `int32` (TF.js has no int64) are range-checked.
 */
export function toTfTensor(input: Tensor, dtype: tf.DataType, label: string): tf.Tensor {
  const count = input.shape.reduce((a, b) => a * b, 1)
  if (input.data.length !== count) {
    throw new BadRequestError(
      `${label}: shape [${input.shape.join(', ')}] needs ${count} values, got ${input.data.length}`,
    )
  }
  const data = input.data
  if (dtype === 'string') {
    if (!Array.isArray(data))
      throw new BadRequestError(`${label}: expected BYTES, got ${input.datatype}`)
    return tf.tensor(data, input.shape, 'string')
  }
  if (Array.isArray(data)) throw new BadRequestError(`${label}: expected numbers, got BYTES`)
  switch (dtype) {
    case 'float32':
      return tf.tensor(
        data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number),
        input.shape,
        'float32',
      )
    case 'int32':
      return tf.tensor(toInt32(data, label), input.shape, 'int32')
    case 'bool': {
      const out = new Uint8Array(count)
      for (let i = 0; i < count; i++) out[i] = data[i] ? 1 : 0
      return tf.tensor(out, input.shape, 'bool')
    }
    default:
      throw new Error(`${label}: TF.js dtype "${dtype}" is not supported`)
  }
}

function toInt32(data: Exclude<TensorData, string[]>, label: string): Int32Array {
  if (data instanceof Int32Array) return data
  const out = new Int32Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    const fits =
      typeof v === 'bigint'
        ? v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX)
        : Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX
    if (!fits) {
      throw new BadRequestError(
        `${label}: element ${i} is not an integer in the int32 range (TF.js has no 64-bit integers)`,
      )
    }
    out[i] = Number(v)
  }
  return out
}

/**
 * @internal Reads a TF.js tensor into a modelgate tensor (a copy). `declared` `INT64` widens
 * `int32` data to `BigInt64Array`.
 */
export async function fromTfTensor(
  tensor: tf.Tensor,
  name: string,
  declared?: Datatype,
): Promise<Tensor> {
  const shape = [...tensor.shape]
  switch (tensor.dtype) {
    case 'float32':
      return {
        name,
        datatype: 'FP32',
        shape,
        data: new Float32Array(await tensor.data<'float32'>()),
      }
    case 'int32': {
      const values = await tensor.data<'int32'>()
      if (declared === 'INT64') {
        return {
          name,
          datatype: 'INT64',
          shape,
          data: BigInt64Array.from(values, (v) => BigInt(v)),
        }
      }
      return { name, datatype: 'INT32', shape, data: new Int32Array(values) }
    }
    case 'bool':
      return { name, datatype: 'BOOL', shape, data: new Uint8Array(await tensor.data<'bool'>()) }
    case 'string': {
      const values = (await tensor.data<'string'>()) as unknown as string[]
      return { name, datatype: 'BYTES', shape, data: [...values] }
    }
    default:
      throw new Error(`output "${name}": TF.js dtype "${tensor.dtype}" is not supported`)
  }
}

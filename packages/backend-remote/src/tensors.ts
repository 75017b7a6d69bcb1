import {
  BadGatewayError,
  BadRequestError,
  decodeInferRequest,
  GateError,
  toJsonArray,
} from '@modelgate/core'
import type { Datatype, Tensor } from '@modelgate/core'

type Json = number | string | boolean | Json[]

/** The tensor as nested JSON arrays following its shape (a scalar for shape `[]`). */
export function toNested(tensor: Tensor): Json {
  const flat = toJsonArray(tensor.datatype, tensor.data)
  if (tensor.shape.length === 0) return flat[0]!
  return nest(flat, 0, tensor.shape).value
}

function nest(flat: Json[], offset: number, shape: number[]): { value: Json[]; next: number } {
  const [head, ...rest] = shape
  const out: Json[] = []
  let at = offset
  for (let i = 0; i < head!; i++) {
    if (rest.length === 0) {
      out.push(flat[at++]!)
    } else {
      const inner = nest(flat, at, rest)
      out.push(inner.value)
      at = inner.next
    }
  }
  return { value: out, next: at }
}

/** Rows of a tensor along its first (batch) dimension. */
export function rowsOf(tensor: Tensor): Json[] {
  if (tensor.shape.length === 0) {
    throw new BadRequestError(
      `input "${tensor.name}" needs a batch dimension for this model server`,
    )
  }
  return toNested(tensor) as Json[]
}

/**
 * Decodes an upstream JSON value (nested arrays, or flat data with a given shape) into a typed
 * tensor, with the same checks as a client request. Any violation is the upstream's fault: 502.
 */
export function decodeUpstreamTensor(
  name: string,
  datatype: Datatype,
  data: unknown,
  shape?: number[],
): Tensor {
  const dims = shape ?? shapeOf(data)
  const value = dims.length === 0 ? [data] : data
  try {
    const decoded = decodeInferRequest(
      { inputs: [{ name, datatype, shape: dims.length === 0 ? [1] : dims, data: value }] },
      {
        platform: '',
        inputs: [{ name, datatype, shape: (dims.length === 0 ? [1] : dims).map(() => -1) }],
        outputs: [],
      },
    )
    const tensor = decoded.inputs[0]!
    tensor.shape = dims
    return tensor
  } catch (error) {
    if (error instanceof GateError) throw malformed()
    throw error
  }
}

/**
 * Gives a decoded output the model's declared shape when the server flattened or squeezed rows
 * (`[0.2, 0.7]` for a `[-1, 1]` output) and the element count leaves no doubt.
 */
export function fitShape(tensor: Tensor, declared: number[] | undefined): Tensor {
  if (!declared || declared.length === tensor.shape.length || tensor.shape.length === 0)
    return tensor
  const rows = tensor.shape[0]!
  const inner = declared.slice(1)
  if (inner.some((d) => d < 0)) return tensor
  const width = inner.reduce((a, b) => a * b, 1)
  if (rows * width !== tensor.data.length) return tensor
  return { ...tensor, shape: [rows, ...inner] }
}

export function shapeOf(value: unknown): number[] {
  const shape: number[] = []
  let level = value
  while (Array.isArray(level)) {
    shape.push(level.length)
    if (shape.length > 32) throw malformed()
    level = level[0]
  }
  return shape
}

export function malformed(what = 'answer'): BadGatewayError {
  return new BadGatewayError(`the model server returned a malformed ${what}`)
}

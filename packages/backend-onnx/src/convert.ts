import { BadRequestError, elementCount } from '@modelgate/core'
import type { Datatype, Tensor, TensorData, TensorMetadata } from '@modelgate/core'
import { decodeFloat16, encodeFloat16 } from './fp16.js'
import type { OrtModule, OrtTensor, OrtValueMetadata } from './runtime.js'

type NumericArray = Exclude<TensorData, string[]>
type ArrayCtor = {
  new (length: number): NumericArray
  from(values: ArrayLike<number | bigint>): NumericArray
}

const ORT_TO_OIP: Record<string, Datatype> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
}

const OIP_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_OIP).map(([k, v]) => [v, k])) as Record<
  Datatype,
  string
>

// Storage the OIP side uses for each datatype (FP16 is decoded to Float32Array).
const STORAGE: Record<Exclude<Datatype, 'BYTES'>, ArrayCtor> = {
  FP32: Float32Array,
  FP64: Float64Array,
  FP16: Float32Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array as unknown as ArrayCtor,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array as unknown as ArrayCtor,
  BOOL: Uint8Array,
}

/** Maps one entry of `session.inputMetadata` / `outputMetadata` to OIP metadata. */
export function toTensorMetadata(meta: OrtValueMetadata, kind: 'input' | 'output'): TensorMetadata {
  if (!meta.isTensor || meta.type === undefined) {
    throw new Error(
      `backend-onnx: ${kind} "${meta.name}" is not a tensor (sequences and maps are not supported)`,
    )
  }
  const datatype = ORT_TO_OIP[meta.type]
  if (!datatype)
    throw new Error(`backend-onnx: ${kind} "${meta.name}" has unsupported type "${meta.type}"`)
  return { name: meta.name, datatype, shape: (meta.shape ?? []).map(toDim) }
}

// Symbolic dims arrive as names ('batch') or '' (onnxruntime-node) or 2^32-1 (onnxruntime-web).
function toDim(dim: number | string): number {
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0 && dim < 0xffffffff
    ? dim
    : -1
}

/** Zero-filled inputs with every variable dimension set to 1, for warm-up. */
export function zeroInputs(inputs: readonly TensorMetadata[]): Tensor[] {
  return inputs.map((m) => {
    const shape = m.shape.map((d) => (d < 0 ? 1 : d))
    const count = elementCount(shape)
    const data =
      m.datatype === 'BYTES' ? new Array<string>(count).fill('') : new STORAGE[m.datatype](count)
    return { name: m.name, datatype: m.datatype, shape, data }
  })
}

/**
 * Checks one input against the model and builds the onnxruntime tensor. The gate has validated
 * requests already; this guards direct callers, so that bad input is a 400 and never reaches
 * native code.
 */
export function toOrtTensor(ort: OrtModule, tensor: Tensor, meta: TensorMetadata): OrtTensor {
  const label = `input "${meta.name}"`
  if (tensor.datatype !== meta.datatype) {
    throw new BadRequestError(
      `${label}: datatype ${String(tensor.datatype)} does not match the model's ${meta.datatype}`,
    )
  }
  const shape = tensor.shape
  if (!Array.isArray(shape) || shape.length !== meta.shape.length) {
    throw new BadRequestError(`${label}: shape must have ${meta.shape.length} dimensions`)
  }
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new BadRequestError(`${label}: shape dimensions must be non-negative integers`)
    const want = meta.shape[i]!
    if (want >= 0 && d !== want)
      throw new BadRequestError(`${label}: dimension ${i} is ${d}, the model expects ${want}`)
  })
  const count = elementCount(shape)
  const data = tensor.data as ArrayLike<unknown> | undefined
  if (!data || typeof data.length !== 'number' || data.length !== count) {
    throw new BadRequestError(
      `${label}: shape needs ${count} values, "data" has ${data?.length ?? 0}`,
    )
  }
  return new ort.Tensor(OIP_TO_ORT[meta.datatype], toOrtData(tensor.data, meta.datatype, label), [
    ...shape,
  ])
}

function toOrtData(data: TensorData, datatype: Datatype, label: string): unknown {
  if (datatype === 'BYTES') {
    if (!Array.isArray(data) || data.some((v) => typeof v !== 'string')) {
      throw new BadRequestError(`${label}: BYTES data must be strings`)
    }
    return data
  }
  if (Array.isArray(data))
    throw new BadRequestError(`${label}: ${datatype} data must be a typed array`)
  if (datatype === 'FP16') return encodeFloat16(data as ArrayLike<number>)
  const ctor = STORAGE[datatype]
  if (data instanceof ctor) return data
  const big = datatype === 'INT64' || datatype === 'UINT64'
  const source = data as ArrayLike<number | bigint>
  try {
    if (big) return ctor.from(Array.from(source, (v) => BigInt(v)))
    return ctor.from(Array.from(source, (v) => Number(v)))
  } catch {
    throw new BadRequestError(`${label}: "data" holds a value that is not a valid ${datatype}`)
  }
}

/** Copies an onnxruntime output into an OIP tensor (the ort tensor may be disposed after). */
export function fromOrtTensor(name: string, value: OrtTensor): Tensor {
  const datatype = ORT_TO_OIP[value.type]
  if (!datatype)
    throw new Error(`backend-onnx: output "${name}" has unsupported type "${value.type}"`)
  const shape = value.dims.map(Number)
  const raw = value.data
  let data: TensorData
  if (datatype === 'BYTES') data = [...(raw as string[])]
  else if (datatype === 'FP16')
    data =
      raw instanceof Uint16Array ? decodeFloat16(raw) : Float32Array.from(raw as ArrayLike<number>)
  else data = STORAGE[datatype].from(raw as ArrayLike<number & bigint>)
  return { name, datatype, shape, data }
}

import { allocate, datatypeInfo, elementCount, isDatatype, toJsonArray } from './datatypes.js'
import { BadRequestError, PayloadTooLargeError } from './errors.js'
import { isPlainObject } from './json.js'
import type {
  Datatype,
  ModelMetadata,
  Parameters,
  Tensor,
  TensorData,
  TensorMetadata,
} from './types.js'

/**
 * A validated inference request with its tensors decoded into typed arrays.
 *
 * @example
 * ```ts
 * const req = decodeInferRequest(json, metadata)
 * req.inputs[0].data // Float32Array
 * ```
 */
export interface InferRequest {
  id?: string
  parameters?: Parameters
  inputs: Tensor[]
  /** Requested outputs; all outputs when absent. */
  outputs?: Array<{ name: string; parameters?: Parameters }>
}

/**
 * An inference response as it goes on the wire (`data` always a flat JSON array).
 *
 * @example
 * ```ts
 * const res: InferResponseJson = { model_name: 'm', outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: [0.5] }] }
 * ```
 */
export interface InferResponseJson {
  model_name: string
  model_version?: string
  id?: string
  parameters?: Parameters
  outputs: Array<{
    name: string
    datatype: Datatype
    shape: number[]
    data: Array<number | string | boolean>
    parameters?: Parameters
  }>
}

/** Limits applied while decoding. */
export interface DecodeLimits {
  maxTensorElements: number
}

const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxTensorElements: 1 << 24 }

/**
 * Validates an OIP inference request body against a model's metadata and decodes its tensors.
 * Every rule of the protocol is enforced and every violation is a {@link BadRequestError} naming
 * the input (never echoing data values): datatypes are case-sensitive and must match the model,
 * shapes are non-negative integers matching the model's (`-1` is free), `data` may be flat or
 * nested but must hold exactly `product(shape)` elements of the right kind, input names are
 * unique and known, every model input is present, and `outputs` names known outputs.
 *
 * @example
 * ```ts
 * const req = decodeInferRequest(
 *   { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [[1, 2]] }] },
 *   { platform: 'onnx', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] },
 * )
 * ```
 */
export function decodeInferRequest(
  body: unknown,
  metadata: ModelMetadata,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): InferRequest {
  if (!isPlainObject(body)) throw new BadRequestError('request body must be a JSON object')
  const request: InferRequest = { inputs: [] }
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') throw new BadRequestError('"id" must be a string')
    request.id = body.id
  }
  if (body.parameters !== undefined) request.parameters = parametersOf(body.parameters, 'request')
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw new BadRequestError('"inputs" must be a non-empty array')
  }
  const expected = new Map(metadata.inputs.map((m) => [m.name, m]))
  const seen = new Set<string>()
  let budget = limits.maxTensorElements
  for (const [index, raw] of body.inputs.entries()) {
    const tensor = decodeInputTensor(raw, index, expected, budget)
    if (seen.has(tensor.name)) throw new BadRequestError(`input "${tensor.name}" is given twice`)
    seen.add(tensor.name)
    budget -= tensor.data.length
    request.inputs.push(tensor)
  }
  for (const name of expected.keys()) {
    if (!seen.has(name)) throw new BadRequestError(`missing input "${name}"`)
  }
  if (body.outputs !== undefined) request.outputs = decodeRequestedOutputs(body.outputs, metadata)
  return request
}

function decodeInputTensor(
  raw: unknown,
  index: number,
  expected: Map<string, TensorMetadata>,
  budget: number,
): Tensor {
  if (!isPlainObject(raw)) throw new BadRequestError(`inputs[${index}] must be an object`)
  const { name, datatype, shape, data } = raw
  if (typeof name !== 'string' || name === '') {
    throw new BadRequestError(`inputs[${index}].name must be a non-empty string`)
  }
  const label = `input "${truncate(name)}"`
  const meta = expected.get(name)
  if (!meta) throw new BadRequestError(`unknown ${label}`)
  if (!isDatatype(datatype)) {
    const hint =
      typeof datatype === 'string' && isDatatype(datatype.toUpperCase())
        ? ` (datatypes are case-sensitive: use "${datatype.toUpperCase()}")`
        : ''
    throw new BadRequestError(`${label}: invalid datatype${hint}`)
  }
  if (datatype !== meta.datatype) {
    throw new BadRequestError(
      `${label}: datatype ${datatype} does not match the model's ${meta.datatype}`,
    )
  }
  const dims = decodeShape(shape, label)
  if (dims.length !== meta.shape.length) {
    throw new BadRequestError(
      `${label}: shape has ${dims.length} dimensions, the model expects ${meta.shape.length}`,
    )
  }
  for (let d = 0; d < dims.length; d++) {
    if (meta.shape[d]! >= 0 && meta.shape[d] !== dims[d]) {
      throw new BadRequestError(
        `${label}: dimension ${d} is ${dims[d]}, the model expects ${meta.shape[d]}`,
      )
    }
  }
  const count = elementCount(dims)
  if (count > budget) {
    throw new PayloadTooLargeError(budget, `${label}: the tensors exceed the element limit`)
  }
  if (!Array.isArray(data)) throw new BadRequestError(`${label}: "data" must be an array`)
  if (
    raw.parameters !== undefined &&
    isPlainObject(raw.parameters) &&
    raw.parameters.binary_data_size !== undefined
  ) {
    throw new BadRequestError(`${label}: binary tensor data is not supported`)
  }
  const tensor: Tensor = {
    name,
    datatype,
    shape: dims,
    data: fillData(data, dims, datatype, label, count),
  }
  if (raw.parameters !== undefined) tensor.parameters = parametersOf(raw.parameters, label)
  return tensor
}

function decodeShape(shape: unknown, label: string): number[] {
  if (!Array.isArray(shape)) throw new BadRequestError(`${label}: "shape" must be an array`)
  if (shape.length > 32) throw new BadRequestError(`${label}: shape has too many dimensions`)
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new BadRequestError(`${label}: shape dimensions must be non-negative integers`)
    }
  }
  return shape as number[]
}

function fillData(
  data: unknown[],
  shape: number[],
  datatype: Datatype,
  label: string,
  count: number,
): TensorData {
  const nested = data.length > 0 && Array.isArray(data[0])
  // Storage for `count` elements is allocated only once `data` is known to hold that many values,
  // so a tiny body naming a huge shape costs nothing.
  if (!nested && data.length !== count) throw lengthError(label, count, data.length)
  if (nested) checkNesting(data, shape, label)
  const out = allocate(datatype, count)
  const info = datatypeInfo(datatype)
  const narrow = datatype !== 'FP64'
  let offset = 0
  const put = (value: unknown): void => {
    if (offset >= count) throw lengthError(label, count)
    switch (info.kind) {
      case 'float':
        // 1e400 parses as Infinity; 1e39 overflows FP32: neither is a value of the datatype.
        if (typeof value !== 'number' || !Number.isFinite(narrow ? Math.fround(value) : value))
          throw typeError(label, datatype)
        ;(out as Float32Array)[offset++] = value
        return
      case 'int':
        if (
          typeof value !== 'number' ||
          !Number.isInteger(value) ||
          value < info.min! ||
          value > info.max!
        ) {
          throw typeError(label, datatype)
        }
        ;(out as Int32Array)[offset++] = value
        return
      case 'bigint':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < info.min!) {
          throw typeError(label, datatype)
        }
        ;(out as BigInt64Array)[offset++] = BigInt(value)
        return
      case 'bool':
        if (typeof value !== 'boolean') throw typeError(label, datatype)
        ;(out as Uint8Array)[offset++] = value ? 1 : 0
        return
      case 'bytes':
        if (typeof value !== 'string') throw typeError(label, datatype)
        ;(out as string[])[offset++] = value
        return
    }
  }
  if (!nested) {
    for (const v of data) put(v)
    return out
  }
  const walk = (level: unknown[], depth: number): void => {
    const leaf = depth === shape.length - 1
    for (const item of level) {
      if (leaf) put(item)
      else walk(item as unknown[], depth + 1)
    }
  }
  walk(data, 0)
  if (offset !== count) throw lengthError(label, count, offset)
  return out
}

/** Nested data must follow the shape exactly, level by level. */
function checkNesting(data: unknown[], shape: number[], label: string): void {
  const mismatch = () =>
    new BadRequestError(`${label}: nested "data" does not match shape [${shape.join(', ')}]`)
  const walk = (level: unknown[], depth: number): void => {
    if (depth >= shape.length || level.length !== shape[depth]) throw mismatch()
    if (depth === shape.length - 1) return
    for (const item of level) {
      if (!Array.isArray(item)) throw mismatch()
      walk(item, depth + 1)
    }
  }
  walk(data, 0)
}

function lengthError(label: string, expected: number, got?: number): BadRequestError {
  const tail = got === undefined ? 'more' : String(got)
  return new BadRequestError(`${label}: shape needs ${expected} values, "data" has ${tail}`)
}

function typeError(label: string, datatype: Datatype): BadRequestError {
  return new BadRequestError(`${label}: "data" holds a value that is not a valid ${datatype}`)
}

function decodeRequestedOutputs(raw: unknown, metadata: ModelMetadata): InferRequest['outputs'] {
  if (!Array.isArray(raw)) throw new BadRequestError('"outputs" must be an array')
  const known = new Set(metadata.outputs.map((o) => o.name))
  const seen = new Set<string>()
  return raw.map((o, i) => {
    if (!isPlainObject(o) || typeof o.name !== 'string') {
      throw new BadRequestError(`outputs[${i}] must be an object with a "name"`)
    }
    if (!known.has(o.name)) throw new BadRequestError(`unknown output "${truncate(o.name)}"`)
    if (seen.has(o.name)) throw new BadRequestError(`output "${o.name}" is requested twice`)
    seen.add(o.name)
    if (o.parameters !== undefined && isPlainObject(o.parameters) && o.parameters.binary_data) {
      throw new BadRequestError(`output "${o.name}": binary tensor data is not supported`)
    }
    return o.parameters === undefined
      ? { name: o.name }
      : { name: o.name, parameters: parametersOf(o.parameters, `output "${o.name}"`) }
  })
}

function parametersOf(value: unknown, where: string): Parameters {
  if (!isPlainObject(value)) throw new BadRequestError(`${where}: "parameters" must be an object`)
  return value as Parameters
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s
}

/**
 * Encodes backend outputs as an OIP response body, keeping only the requested outputs and
 * serialising INT64/UINT64 as JSON numbers.
 *
 * @example
 * ```ts
 * const body = encodeInferResponse({ modelName: 'm', outputs: [tensor] })
 * JSON.stringify(body)
 * ```
 */
export function encodeInferResponse(options: {
  modelName: string
  modelVersion?: string
  id?: string
  parameters?: Parameters
  outputs: Tensor[]
  requested?: InferRequest['outputs']
}): InferResponseJson {
  const wanted = options.requested ? new Set(options.requested.map((o) => o.name)) : undefined
  const body: InferResponseJson = { model_name: options.modelName, outputs: [] }
  if (options.modelVersion !== undefined) body.model_version = options.modelVersion
  if (options.id !== undefined) body.id = options.id
  if (options.parameters !== undefined) body.parameters = options.parameters
  for (const t of options.outputs) {
    if (wanted && !wanted.has(t.name)) continue
    const out: InferResponseJson['outputs'][number] = {
      name: t.name,
      datatype: t.datatype,
      shape: [...t.shape],
      data: toJsonArray(t.datatype, t.data),
    }
    if (t.parameters) out.parameters = t.parameters
    body.outputs.push(out)
  }
  return body
}

/**
 * The OIP model metadata body for `GET /v2/models/{m}`.
 *
 * @example
 * ```ts
 * encodeModelMetadata('credit', ['1'], metadata)
 * ```
 */
export function encodeModelMetadata(name: string, versions: string[], metadata: ModelMetadata) {
  const tensor = (t: TensorMetadata) => ({
    name: t.name,
    datatype: t.datatype,
    shape: [...t.shape],
  })
  return {
    name,
    ...(versions.length > 0 ? { versions } : {}),
    platform: metadata.platform,
    inputs: metadata.inputs.map(tensor),
    outputs: metadata.outputs.map(tensor),
    ...(metadata.parameters ? { parameters: metadata.parameters } : {}),
  }
}

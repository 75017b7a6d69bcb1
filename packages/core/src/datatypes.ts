import type { Datatype, TensorData } from './types.js'

interface DatatypeInfo {
  kind: 'float' | 'int' | 'bigint' | 'bool' | 'bytes'
  min?: number
  max?: number
  create: (length: number) => TensorData
}

const INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { kind: 'bool', create: (n) => new Uint8Array(n) },
  UINT8: { kind: 'int', min: 0, max: 0xff, create: (n) => new Uint8Array(n) },
  UINT16: { kind: 'int', min: 0, max: 0xffff, create: (n) => new Uint16Array(n) },
  UINT32: { kind: 'int', min: 0, max: 0xffffffff, create: (n) => new Uint32Array(n) },
  UINT64: {
    kind: 'bigint',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    create: (n) => new BigUint64Array(n),
  },
  INT8: { kind: 'int', min: -0x80, max: 0x7f, create: (n) => new Int8Array(n) },
  INT16: { kind: 'int', min: -0x8000, max: 0x7fff, create: (n) => new Int16Array(n) },
  INT32: { kind: 'int', min: -0x80000000, max: 0x7fffffff, create: (n) => new Int32Array(n) },
  INT64: {
    kind: 'bigint',
    min: Number.MIN_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
    create: (n) => new BigInt64Array(n),
  },
  FP16: { kind: 'float', create: (n) => new Float32Array(n) },
  FP32: { kind: 'float', create: (n) => new Float32Array(n) },
  FP64: { kind: 'float', create: (n) => new Float64Array(n) },
  BYTES: { kind: 'bytes', create: (n) => new Array<string>(n).fill('') },
}

/**
 * Every datatype of the Open Inference Protocol, in the protocol's spelling.
 *
 * @example
 * ```ts
 * DATATYPES.includes('FP32') // true
 * ```
 */
export const DATATYPES = Object.freeze(Object.keys(INFO) as Datatype[])

/**
 * True when `value` is an OIP datatype name (case-sensitive: `fp32` is not).
 *
 * @example
 * ```ts
 * isDatatype('INT64') // true
 * isDatatype('int64') // false
 * ```
 */
export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && Object.hasOwn(INFO, value)
}

/**
 * Allocates zeroed storage for `length` elements of `datatype`.
 *
 * @example
 * ```ts
 * allocate('FP32', 4) // Float32Array(4)
 * ```
 */
export function allocate(datatype: Datatype, length: number): TensorData {
  return INFO[datatype].create(length)
}

/** @internal */
export function datatypeInfo(datatype: Datatype): DatatypeInfo {
  return INFO[datatype]
}

/**
 * Number of elements a shape holds (1 for a scalar shape `[]`).
 *
 * @example
 * ```ts
 * elementCount([2, 3]) // 6
 * ```
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * Reads element `i` of tensor data as a JSON-ready value: numbers (INT64 and UINT64 included),
 * booleans for BOOL, strings for BYTES.
 *
 * @example
 * ```ts
 * readElement('INT64', new BigInt64Array([7n]), 0) // 7
 * ```
 */
export function readElement(
  datatype: Datatype,
  data: TensorData,
  i: number,
): number | string | boolean {
  const v = data[i]
  if (typeof v === 'bigint') return Number(v)
  if (datatype === 'BOOL') return v !== 0
  return v as number | string
}

/**
 * Copies tensor data into a plain JSON array (flat, row-major).
 *
 * @example
 * ```ts
 * toJsonArray('BOOL', new Uint8Array([1, 0])) // [true, false]
 * ```
 */
export function toJsonArray(
  datatype: Datatype,
  data: TensorData,
): Array<number | string | boolean> {
  const out = new Array<number | string | boolean>(data.length)
  if (datatype === 'BOOL') {
    for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i])
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i] as number | string
  }
  return out
}

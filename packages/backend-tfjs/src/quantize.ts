import * as tf from '@tensorflow/tfjs'
import { fileIOHandler, fileSaveHandler } from './file-io.js'

/**
 * Storage type of quantised weights: `uint8` and `uint16` are affine (`q * scale + min`, one
 * scale and minimum per weight tensor, zero exactly representable), `float16` is IEEE half
 * precision.
 *
 * @example
 * ```ts
 * const dtype: QuantizeDtype = 'uint8'
 * ```
 */
export type QuantizeDtype = 'uint8' | 'uint16' | 'float16'

/**
 * Options of {@link quantizeTfjsModel}.
 *
 * @example
 * ```ts
 * const options: QuantizeOptions = { in: 'model/model.json', out: 'model-uint8', dtype: 'uint8' }
 * ```
 */
export interface QuantizeOptions {
  /** The `model.json` of a TF.js layers or graph model; its shards are read beside it. */
  in: string
  /** Directory that receives `model.json` and `weights.bin` (created when missing). */
  out: string
  dtype: QuantizeDtype
  /**
   * Another storage type for some weights, by weight name; `float32` keeps a weight as it is.
   * For layers whose weights span orders of magnitude (a folded-in standardisation, say).
   */
  overrides?: Record<string, QuantizeDtype | 'float32'>
}

/**
 * What {@link quantizeTfjsModel} wrote.
 *
 * @example
 * ```ts
 * const { weightBytes, originalWeightBytes } = await quantizeTfjsModel(options)
 * console.log(`${((100 * weightBytes) / originalWeightBytes).toFixed(1)} % of the original weights`)
 * ```
 */
export interface QuantizeResult {
  /** Path of the written `model.json`. */
  modelJson: string
  /** Bytes of the weights before and after. */
  originalWeightBytes: number
  weightBytes: number
  /** Bytes of `model.json` plus weights, before and after. */
  originalBytes: number
  bytes: number
  /**
   * Per weight: its name, its storage type, and the largest rounding error, absolute and relative
   * to the weight's own magnitude (1 when a non-zero weight became 0).
   */
  weights: Array<{ name: string; dtype: string; maxError: number; maxRelativeError: number }>
}

const BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
}

/**
 * Quantises the `float32` weights of a TF.js model and writes a model that stock TF.js loads
 * (`tf.loadLayersModel`, `tf.loadGraphModel`) and dequantises itself: the weights manifest
 * carries TF.js's own `quantization` entries, `{ dtype, scale, min }` for `uint8` / `uint16` and
 * `{ dtype: 'float16' }`. The topology is copied unchanged; weights that are not `float32`, are
 * already quantised or are kept `float32` by `overrides` are copied as they are. `uint8` stores a quarter of
 * the bytes, `uint16` and `float16` half.
 *
 * The rounding follows the TF.js converter (`--quantize_uint8` and friends): per-tensor range,
 * nudged so that 0 stays exactly 0. Check the accuracy on your own data: per-tensor ranges suit
 * weights of similar magnitude, not layers whose weights span several orders of magnitude.
 *
 * The `modelgate quantize --in model.json --out DIR --dtype uint8` command runs this function.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs'
 * import { fileIOHandler, quantizeTfjsModel } from '@modelgate/backend-tfjs'
 *
 * const result = await quantizeTfjsModel({ in: 'model/model.json', out: 'edge-model', dtype: 'uint8' })
 * const model = await tf.loadLayersModel(fileIOHandler(result.modelJson))
 * ```
 */
export async function quantizeTfjsModel(options: QuantizeOptions): Promise<QuantizeResult> {
  if (!options || typeof options.in !== 'string' || options.in === '') {
    throw new TypeError('"in" must be the path of a model.json')
  }
  if (typeof options.out !== 'string' || options.out === '') {
    throw new TypeError('"out" must be a directory path')
  }
  if (!['uint8', 'uint16', 'float16'].includes(options.dtype)) {
    throw new TypeError('"dtype" must be uint8, uint16 or float16')
  }
  const overrides = new Map(Object.entries(options.overrides ?? {}))
  for (const [name, dtype] of overrides) {
    if (!['uint8', 'uint16', 'float16', 'float32'].includes(dtype)) {
      throw new TypeError(`overrides["${name}"] must be uint8, uint16, float16 or float32`)
    }
  }
  const fs = await import('node:fs/promises')
  const path = await import('node:path')
  const originalJsonBytes = (await fs.stat(options.in)).size
  const artifacts = await fileIOHandler(options.in).load!()
  const specs = artifacts.weightSpecs ?? []
  const source = new Uint8Array(
    artifacts.weightData ? new tf.io.CompositeArrayBuffer(artifacts.weightData).slice() : [],
  )

  const chunks: Uint8Array[] = []
  const outSpecs: tf.io.WeightsManifestEntry[] = []
  const report: QuantizeResult['weights'] = []
  let offset = 0
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1)
    const stored = spec.quantization?.dtype ?? spec.dtype
    const width = BYTES[stored]
    if (width === undefined) throw new Error(`weight "${spec.name}": unsupported dtype ${stored}`)
    const bytes = source.slice(offset, offset + count * width)
    offset += count * width
    const target = overrides.get(spec.name) ?? options.dtype
    overrides.delete(spec.name)
    if (spec.dtype !== 'float32' || spec.quantization || target === 'float32') {
      chunks.push(bytes)
      outSpecs.push(spec)
      report.push({ name: spec.name, dtype: stored, maxError: 0, maxRelativeError: 0 })
      continue
    }
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, count)
    const q = target === 'float16' ? toFloat16(values) : affine(values, target)
    chunks.push(q.bytes)
    outSpecs.push({ ...spec, quantization: q.quantization })
    report.push({ name: spec.name, dtype: target, ...errors(values, q.restored) })
  }
  if (overrides.size > 0) {
    throw new TypeError(
      `overrides name weights the model does not have: ${[...overrides.keys()].join(', ')}`,
    )
  }
  if (offset !== source.byteLength) {
    throw new Error(`${options.in}: the weights manifest does not match the weight files`)
  }

  const weightData = concat(chunks)
  await fileSaveHandler(options.out).save!({
    ...artifacts,
    weightSpecs: outSpecs,
    weightData: weightData.buffer as ArrayBuffer,
  })
  const modelJson = path.join(options.out, 'model.json')
  return {
    modelJson,
    originalWeightBytes: source.byteLength,
    weightBytes: weightData.byteLength,
    originalBytes: originalJsonBytes + source.byteLength,
    bytes: (await fs.stat(modelJson)).size + weightData.byteLength,
    weights: report,
  }
}

interface Quantized {
  bytes: Uint8Array
  quantization: NonNullable<tf.io.WeightsManifestEntry['quantization']>
  /** The values TF.js will decode. */
  restored: Float32Array
}

function errors(values: Float32Array, restored: Float32Array) {
  let maxError = 0
  let maxRelativeError = 0
  for (let i = 0; i < values.length; i++) {
    const error = Math.abs(restored[i]! - values[i]!)
    maxError = Math.max(maxError, error)
    if (values[i] !== 0) maxRelativeError = Math.max(maxRelativeError, error / Math.abs(values[i]!))
  }
  return { maxError, maxRelativeError }
}

function affine(values: Float32Array, dtype: 'uint8' | 'uint16'): Quantized {
  const top = dtype === 'uint8' ? 255 : 65535
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (values.length === 0) lo = hi = 0
  let scale = 1
  let min = lo
  if (hi > lo) {
    scale = (hi - lo) / top
    if (lo <= 0 && hi >= 0) min = -Math.round(-lo / scale) * scale
  }
  const q = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length)
  const restored = new Float32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const level = hi > lo ? Math.min(top, Math.max(0, Math.round((values[i]! - min) / scale))) : 0
    q[i] = level
    restored[i] = level * scale + min
  }
  return { bytes: new Uint8Array(q.buffer), quantization: { dtype, scale, min }, restored }
}

function toFloat16(values: Float32Array): Quantized {
  const half = new Uint16Array(values.length)
  const restored = new Float32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    half[i] = float16Bits(values[i]!)
    restored[i] = float16Value(half[i]!)
  }
  return { bytes: new Uint8Array(half.buffer), quantization: { dtype: 'float16' }, restored }
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** IEEE 754 binary16 bits of a float32, rounded to nearest even; overflow becomes infinity. */
function float16Bits(value: number): number {
  f32[0] = value
  const x = u32[0]!
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  let mantissa = x & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0)
  const e = exponent - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mantissa |= 0x800000
    const shift = 14 - e
    const halfway = 1 << (shift - 1)
    let m = mantissa >>> shift
    const rest = mantissa & ((1 << shift) - 1)
    if (rest > halfway || (rest === halfway && m & 1)) m++
    return sign | m
  }
  let bits = (e << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && bits & 1)) bits++
  return sign | bits
}

function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

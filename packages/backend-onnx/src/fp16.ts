const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * Converts a number to IEEE 754 half-precision bits, rounding to nearest, ties to even (as a
 * float32 first, which is how `FP16` tensors are held). Overflow gives ±Infinity, values below
 * half the smallest subnormal give ±0, NaN stays a quiet NaN.
 *
 * @example
 * ```ts
 * float32ToFloat16Bits(1) // 0x3c00
 * float32ToFloat16Bits(65520) // 0x7c00 (Infinity)
 * ```
 */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value
  const x = u32[0]!
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  const mantissa = x & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13))
  const e = exponent - 112
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    const full = mantissa | 0x800000
    const shift = 14 - e
    let half = full >>> shift
    const rest = full & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++
    return sign | half
  }
  // A carry out of the mantissa bumps the exponent, and from the largest finite value to Infinity.
  let half = (e << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++
  return sign | half
}

/**
 * Converts IEEE 754 half-precision bits to a number (exact: every half is a float32).
 *
 * @example
 * ```ts
 * float16BitsToFloat32(0x3c00) // 1
 * float16BitsToFloat32(0x0001) // 5.960464477539063e-8
 * ```
 */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN
  return sign * (1024 + mantissa) * 2 ** (exponent - 25)
}

/**
 * Encodes `FP16` tensor data (held as numbers) into the half-float bits onnxruntime takes.
 *
 * @example
 * ```ts
 * encodeFloat16(new Float32Array([1, -2])) // Uint16Array [0x3c00, 0xc000]
 * ```
 */
export function encodeFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!)
  return out
}

/**
 * Decodes half-float bits into the `Float32Array` that holds `FP16` tensor data.
 *
 * @example
 * ```ts
 * decodeFloat16(new Uint16Array([0x3c00, 0x7c00])) // Float32Array [1, Infinity]
 * ```
 */
export function decodeFloat16(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToFloat32(bits[i]!)
  return out
}

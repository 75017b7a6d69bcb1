import { describe, expect, it } from 'vitest'
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from './fp16.js'

// Expected bits computed with numpy: np.float32(v).astype(np.float16).view(np.uint16)
const CASES: Array<[number, number]> = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [0.1, 0x2e66],
  [1 / 3, 0x3555],
  [Math.PI, 0x4248],
  [65504, 0x7bff],
  [65519, 0x7bff],
  [65520, 0x7c00],
  [1e6, 0x7c00],
  [-1e6, 0xfc00],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
  [2 ** -14, 0x0400],
  [2 ** -24, 0x0001],
  [-(2 ** -24), 0x8001],
  [2 ** -25, 0x0000],
  [3 * 2 ** -26, 0x0001],
  [3 * 2 ** -25, 0x0002],
  [1023 * 2 ** -24, 0x03ff],
  [2 ** -14 - 2 ** -26, 0x0400],
  [1e-10, 0x0000],
  [1 + 2 ** -11, 0x3c00],
  [1 + 3 * 2 ** -11, 0x3c02],
  [1 + 2 ** -11 + 2 ** -20, 0x3c01],
  [2049, 0x6800],
  [2051, 0x6802],
]

describe('float16 conversion', () => {
  it.each(CASES)('encodes %d as %i', (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits)
  })

  it('keeps NaN a NaN both ways', () => {
    const bits = float32ToFloat16Bits(NaN)
    expect(bits & 0x7c00).toBe(0x7c00)
    expect(bits & 0x3ff).not.toBe(0)
    expect(float16BitsToFloat32(bits)).toBeNaN()
    expect(float16BitsToFloat32(0xfe00)).toBeNaN()
  })

  it('decodes subnormals, extremes and signed zero exactly', () => {
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24)
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24)
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14)
    expect(float16BitsToFloat32(0x7bff)).toBe(65504)
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity)
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true)
  })

  it('round-trips every finite and infinite half exactly', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i)
    const finite = all.filter((b) => (b & 0x7c00) !== 0x7c00 || (b & 0x3ff) === 0)
    expect(encodeFloat16(decodeFloat16(finite))).toEqual(finite)
  })

  it('rounds float32 values to the nearest half, ties to even', () => {
    const values = new Float32Array([
      1.00048828125, 1.00146484375, 0.333333343, -7.123456, 12345.678,
    ])
    const back = decodeFloat16(encodeFloat16(values))
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10)
      expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(ulp / 2)
    }
    expect(back[0]).toBe(1)
    expect(back[1]).toBe(1.001953125)
  })
})

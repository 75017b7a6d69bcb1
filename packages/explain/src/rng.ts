/** @internal A seeded xoshiro128** generator: `next()` in [0, 1). */
export class Rng {
  private s = new Uint32Array(4)

  constructor(seed: number) {
    let x = (seed >>> 0) ^ 0x9e3779b9
    for (let i = 0; i < 4; i++) {
      x = (x + 0x6d2b79f5) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 15), z | 1)
      z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
      this.s[i] = (z ^ (z >>> 14)) >>> 0
    }
  }

  next(): number {
    const s = this.s
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0
    const t = s[1]! << 9
    s[2] ^= s[0]!
    s[3] ^= s[1]!
    s[1] ^= s[2]!
    s[0] ^= s[3]!
    s[2] ^= t
    s[3] = rotl(s[3]!, 11)
    return result / 4294967296
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Fisher–Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = Int32Array.from({ length: n }, (_, i) => i)
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = p[i]!
      p[i] = p[j]!
      p[j] = t
    }
    return p
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

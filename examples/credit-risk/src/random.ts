/**
 * A small seeded pseudo-random source (mulberry32) with the few distributions the loan data set
 * needs. The same seed always gives the same sequence, on every platform.
 *
 * @example
 * ```ts
 * const rng = new Random(42)
 * rng.uniform() // 0.6011037519201636, always
 * ```
 */
export class Random {
  private state: number
  private spare: number | undefined

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new TypeError('seed must be an integer')
    this.state = seed >>> 0
  }

  /** A float in [min, max); [0, 1) by default. */
  uniform(min = 0, max = 1): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return min + (max - min) * (((t ^ (t >>> 14)) >>> 0) / 4294967296)
  }

  /** An integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.uniform() * (max - min + 1))
  }

  /** A standard-normal draw scaled to `mean` and `sd` (Box–Muller, both halves used). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare
      this.spare = undefined
      return mean + sd * z
    }
    let u = 0
    while (u === 0) u = this.uniform()
    const v = this.uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return mean + sd * r * Math.cos(2 * Math.PI * v)
  }

  /** `exp(normal(mu, sigma))`. */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma))
  }

  /** A Poisson count (Knuth's method; fine for the small rates used here). */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda)
    let k = 0
    let p = this.uniform()
    while (p > limit) {
      k++
      p *= this.uniform()
    }
    return k
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.uniform() < p
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.uniform() * items.length)]!
  }

  /** One key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>
    const total = entries.reduce((sum, [, w]) => sum + w, 0)
    let x = this.uniform() * total
    for (const [key, w] of entries) {
      x -= w
      if (x < 0) return key
    }
    return entries[entries.length - 1]![0]
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1))
      ;[items[i], items[j]] = [items[j]!, items[i]!]
    }
    return items
  }
}

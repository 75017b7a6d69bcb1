const ZERO_IV = new Uint8Array(16)

/**
 * NIST SP 800-38G FF1 format-preserving encryption over AES (128, 192 or 256-bit keys), on
 * numeral strings of any radix 2–36 (digits then lower-case letters) or a custom alphabet.
 * Uses WebCrypto, so it runs in Node and at the edge.
 *
 * @example
 * ```ts
 * const ff1 = await FF1.create(key32, '0123456789')
 * const c = await ff1.encrypt('4111111111111111', new TextEncoder().encode('card'))
 * c.length // 16
 * await ff1.decrypt(c, new TextEncoder().encode('card')) // '4111111111111111'
 * ```
 */
export class FF1 {
  readonly alphabet: string
  readonly radix: number
  private readonly key: CryptoKey
  private readonly index: Map<string, number>

  private constructor(key: CryptoKey, alphabet: string) {
    this.key = key
    this.alphabet = alphabet
    this.radix = alphabet.length
    this.index = new Map([...alphabet].map((c, i) => [c, i]))
  }

  /** Imports a raw AES key (16, 24 or 32 bytes) for FF1 over `alphabet` (2–65536 symbols). */
  static async create(rawKey: Uint8Array, alphabet = '0123456789'): Promise<FF1> {
    if (![16, 24, 32].includes(rawKey.length))
      throw new TypeError('FF1 key must be 16, 24 or 32 bytes')
    if (alphabet.length < 2 || new Set(alphabet).size !== alphabet.length) {
      throw new TypeError('FF1 alphabet must have at least 2 distinct symbols')
    }
    const key = await crypto.subtle.importKey(
      'raw',
      rawKey as Uint8Array<ArrayBuffer>,
      'AES-CBC',
      false,
      ['encrypt'],
    )
    return new FF1(key, alphabet)
  }

  /** Shortest input length this radix allows (radix^minlen ≥ 1,000,000). */
  get minLength(): number {
    return Math.ceil(6 / Math.log10(this.radix))
  }

  encrypt(text: string, tweak: Uint8Array = new Uint8Array(0)): Promise<string> {
    return this.run(text, tweak, true)
  }

  decrypt(text: string, tweak: Uint8Array = new Uint8Array(0)): Promise<string> {
    return this.run(text, tweak, false)
  }

  private async ciph(block: Uint8Array, iv: Uint8Array = ZERO_IV): Promise<Uint8Array> {
    const out = await crypto.subtle.encrypt(
      { name: 'AES-CBC', iv: iv as Uint8Array<ArrayBuffer> },
      this.key,
      block as Uint8Array<ArrayBuffer>,
    )
    return new Uint8Array(out)
  }

  private num(x: number[]): bigint {
    const r = BigInt(this.radix)
    let n = 0n
    for (const d of x) n = n * r + BigInt(d)
    return n
  }

  private str(n: bigint, m: number): number[] {
    const r = BigInt(this.radix)
    const out = new Array<number>(m)
    for (let i = m - 1; i >= 0; i--) {
      out[i] = Number(n % r)
      n /= r
    }
    return out
  }

  private async run(text: string, tweak: Uint8Array, encrypt: boolean): Promise<string> {
    const chars = [...text]
    const x = chars.map((c) => {
      const v = this.index.get(c)
      if (v === undefined) throw new RangeError('FF1 input has a symbol outside the alphabet')
      return v
    })
    const n = x.length
    if (n < this.minLength || n > 0xffffffff)
      throw new RangeError(`FF1 needs at least ${this.minLength} symbols`)
    const radix = BigInt(this.radix)
    const u = Math.floor(n / 2)
    const v = n - u
    let A = x.slice(0, u)
    let B = x.slice(u)
    const b = Math.ceil((radix ** BigInt(v) - 1n).toString(2).length / 8)
    const d = 4 * Math.ceil(b / 4) + 4
    const t = tweak.length
    const P = new Uint8Array(16)
    P.set([
      1,
      2,
      1,
      (this.radix >> 16) & 0xff,
      (this.radix >> 8) & 0xff,
      this.radix & 0xff,
      10,
      u & 0xff,
    ])
    new DataView(P.buffer).setUint32(8, n)
    new DataView(P.buffer).setUint32(12, t)
    const qLen = t + ((((-t - b - 1) % 16) + 16) % 16) + 1 + b
    const modU = radix ** BigInt(u)
    const modV = radix ** BigInt(v)
    for (let k = 0; k < 10; k++) {
      const i = encrypt ? k : 9 - k
      const Q = new Uint8Array(qLen)
      Q.set(tweak)
      Q[qLen - b - 1] = i
      let numB = this.num(encrypt ? B : A)
      for (let j = qLen - 1; j >= qLen - b; j--) {
        Q[j] = Number(numB & 0xffn)
        numB >>= 8n
      }
      const PQ = new Uint8Array(16 + qLen)
      PQ.set(P)
      PQ.set(Q, 16)
      const cbc = await this.ciph(PQ)
      const R = cbc.subarray(PQ.length - 16, PQ.length)
      const S = new Uint8Array(Math.ceil(d / 16) * 16)
      S.set(R)
      for (let j = 1; j < Math.ceil(d / 16); j++) {
        const jb = new Uint8Array(16)
        new DataView(jb.buffer).setUint32(12, j)
        S.set((await this.ciph(jb, R)).subarray(0, 16), j * 16)
      }
      let y = 0n
      for (let j = 0; j < d; j++) y = (y << 8n) | BigInt(S[j]!)
      const m = i % 2 === 0 ? u : v
      const mod = m === u ? modU : modV
      if (encrypt) {
        const c = (((this.num(A) + y) % mod) + mod) % mod
        A = B
        B = this.str(c, m)
      } else {
        const c = (((this.num(B) - y) % mod) + mod) % mod
        B = A
        A = this.str(c, m)
      }
    }
    return [...A, ...B].map((i) => this.alphabet[i]).join('')
  }
}

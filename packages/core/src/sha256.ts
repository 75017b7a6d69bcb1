const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

const W = new Int32Array(64)
const PAD = new Uint8Array(128)

/**
 * Synchronous SHA-256 (FIPS 180-4) in plain JavaScript, for code that must hash while it runs
 * synchronously (a detector's checksum, an audit record being chained) on any runtime: WebCrypto's
 * `digest` is asynchronous. Inputs of up to 119 bytes are padded in a reused buffer, so short
 * checksums allocate only the 32-byte result. Not for keyed operations.
 *
 * @example
 * ```ts
 * import { sha256 } from '@modelgate/core'
 *
 * sha256(new Uint8Array(0))[0] // 0xe3
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  const blocks = (data.length + 9 + 63) >> 6
  const padded = blocks <= 2 ? PAD : new Uint8Array(blocks << 6)
  padded.fill(0, data.length, blocks << 6)
  padded.set(data)
  padded[data.length] = 0x80
  const bitLen = data.length * 8
  const end = blocks << 6
  const hi = Math.floor(bitLen / 2 ** 32)
  padded[end - 8] = hi >>> 24
  padded[end - 7] = hi >>> 16
  padded[end - 6] = hi >>> 8
  padded[end - 5] = hi
  padded[end - 4] = bitLen >>> 24
  padded[end - 3] = bitLen >>> 16
  padded[end - 2] = bitLen >>> 8
  padded[end - 1] = bitLen
  let h0 = 0x6a09e667
  let h1 = 0xbb67ae85 | 0
  let h2 = 0x3c6ef372
  let h3 = 0xa54ff53a | 0
  let h4 = 0x510e527f
  let h5 = 0x9b05688c | 0
  let h6 = 0x1f83d9ab
  let h7 = 0x5be0cd19
  const w = W
  for (let off = 0; off < end; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4
      w[i] = (padded[j]! << 24) | (padded[j + 1]! << 16) | (padded[j + 2]! << 8) | padded[j + 3]!
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!
      const b = w[i - 2]!
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
    }
    let a = h0
    let b = h1
    let c = h2
    let d = h3
    let e = h4
    let f = h5
    let g = h6
    let hh = h7
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (hh + S1 + ch + K[i]! + w[i]!) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (S0 + maj) | 0
      hh = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h0 = (h0 + a) | 0
    h1 = (h1 + b) | 0
    h2 = (h2 + c) | 0
    h3 = (h3 + d) | 0
    h4 = (h4 + e) | 0
    h5 = (h5 + f) | 0
    h6 = (h6 + g) | 0
    h7 = (h7 + hh) | 0
  }
  const out = new Uint8Array(32)
  const hs = [h0, h1, h2, h3, h4, h5, h6, h7]
  for (let i = 0; i < 8; i++) {
    const v = hs[i]!
    out[i * 4] = v >>> 24
    out[i * 4 + 1] = v >>> 16
    out[i * 4 + 2] = v >>> 8
    out[i * 4 + 3] = v
  }
  return out
}

const encoder = new TextEncoder()

type NodeHash = (algorithm: string, data: string, encoding: 'hex') => string
interface NodeCrypto {
  hash?: NodeHash
  createHmac?: (
    algorithm: string,
    key: Uint8Array,
  ) => { update(data: Uint8Array): { digest(): Uint8Array } }
}

/** Node's crypto module where the runtime offers it without an import (Node, workerd). */
function nodeCrypto(): NodeCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  try {
    return proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined
  } catch {
    return undefined
  }
}

const nodeCryptoModule = nodeCrypto()
const native = typeof nodeCryptoModule?.hash === 'function' ? nodeCryptoModule.hash : undefined
const nativeHmac =
  typeof nodeCryptoModule?.createHmac === 'function' ? nodeCryptoModule.createHmac : undefined

function sha256HexPortable(text: string): string {
  let hex = ''
  for (const byte of sha256(encoder.encode(text))) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/**
 * SHA-256 (hex) of a string's UTF-8 bytes, synchronously: Node's one-shot `crypto.hash` where the
 * runtime offers it through `process.getBuiltinModule('node:crypto')` (Node, workerd; this module
 * imports nothing from Node), else {@link sha256} in JavaScript.
 *
 * @example
 * ```ts
 * import { sha256Hex } from '@modelgate/core'
 *
 * sha256Hex('abc') // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export const sha256Hex: (text: string) => string = native
  ? (text) => native('sha256', text, 'hex')
  : sha256HexPortable

const IPAD = new Uint8Array(64)
const OPAD = new Uint8Array(64)

function hmacSha256Portable(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = key.length > 64 ? sha256(key) : key
  IPAD.fill(0x36)
  OPAD.fill(0x5c)
  for (let i = 0; i < k.length; i++) {
    IPAD[i]! ^= k[i]!
    OPAD[i]! ^= k[i]!
  }
  const inner = new Uint8Array(64 + data.length)
  inner.set(IPAD)
  inner.set(data, 64)
  const outer = new Uint8Array(96)
  outer.set(OPAD)
  outer.set(sha256(inner), 64)
  return sha256(outer)
}

/**
 * HMAC-SHA-256 (RFC 2104), synchronously: Node's `createHmac` where the runtime offers it through
 * `process.getBuiltinModule('node:crypto')`, else over {@link sha256} in JavaScript. For keyed
 * lookups that run once per request or per value (placeholders, scope ids), where WebCrypto's
 * asynchronous `sign` costs a trip to a thread pool each time.
 *
 * @example
 * ```ts
 * import { hmacSha256 } from '@modelgate/core'
 *
 * const tag = hmacSha256(key, new TextEncoder().encode('scope\u0000acme')) // 32 bytes
 * ```
 */
export const hmacSha256: (key: Uint8Array, data: Uint8Array) => Uint8Array = nativeHmac
  ? (key, data) => new Uint8Array(nativeHmac('sha256', key).update(data).digest())
  : hmacSha256Portable

/** @internal The JavaScript implementation, for tests on runtimes that have Node's. */
export const hmacSha256InJavaScript = hmacSha256Portable

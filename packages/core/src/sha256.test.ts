import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256, sha256Hex } from './sha256.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const nodeHex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex')

describe('sha256', () => {
  it('gives the FIPS 180-4 vectors', () => {
    expect(hex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(hex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  it('matches node:crypto at every padding length, across the reused buffer and beyond it', () => {
    for (let n = 0; n < 300; n++) {
      const data = new Uint8Array(randomBytes(n))
      const want = nodeHex(data)
      expect(hex(sha256(data)), `length ${n}`).toBe(want)
      // a second, shorter hash after a longer one starts from a clean padding buffer
      expect(hex(sha256(sha256(data)))).toBe(nodeHex(Buffer.from(want, 'hex')))
    }
    const large = new Uint8Array(randomBytes(100_000))
    expect(hex(sha256(large))).toBe(nodeHex(large))
  })

  it('hashes UTF-8 text as node:crypto does', () => {
    const texts = [
      ...Array.from({ length: 50 }, (_, n) => randomBytes(n * 37).toString('latin1')),
      'Zoë 🙂 日本語 \u202e evil',
    ]
    for (const text of texts) {
      expect(hex(sha256(new TextEncoder().encode(text)))).toBe(nodeHex(text))
      expect(sha256Hex(text)).toBe(nodeHex(text))
    }
  })
})

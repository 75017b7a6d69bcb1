import { createHash, createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hmacSha256, hmacSha256InJavaScript, sha256, sha256Hex } from './sha256.js'

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

describe('hmacSha256', () => {
  const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
  const text = (t: string) => new TextEncoder().encode(t)
  // RFC 4231, test cases 1, 2, 6 (a key longer than the block) and 7.
  const vectors: [Uint8Array, Uint8Array, string][] = [
    [
      bytes('0b'.repeat(20)),
      text('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      text('Jefe'),
      text('what do ya want for nothing?'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      bytes('aa'.repeat(131)),
      text('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      bytes('aa'.repeat(131)),
      text(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ]

  for (const [name, hmac] of [
    ['the exported one', hmacSha256],
    ['the JavaScript one', hmacSha256InJavaScript],
  ] as const) {
    it(`${name} gives the RFC 4231 vectors and matches node:crypto`, () => {
      for (const [key, data, want] of vectors) expect(hex(hmac(key, data))).toBe(want)
      for (let n = 0; n < 200; n++) {
        const key = new Uint8Array(randomBytes(n % 90))
        const data = new Uint8Array(randomBytes(n * 3))
        expect(hex(hmac(key, data)), `key ${key.length}, data ${data.length}`).toBe(
          createHmac('sha256', key).update(data).digest('hex'),
        )
      }
    })
  }
})

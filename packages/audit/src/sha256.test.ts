import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256HexPortable } from './sha256.js'

describe('sha256HexPortable (runtimes without node:crypto)', () => {
  it('matches node:crypto on the FIPS vectors, every padding length and random UTF-8 text', () => {
    expect(sha256HexPortable('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(sha256HexPortable('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    const texts = [
      ...Array.from({ length: 140 }, (_, n) => 'x'.repeat(n)),
      ...Array.from({ length: 50 }, (_, n) => randomBytes(n * 37).toString('latin1')),
      'Zoë 🙂 日本語 \u202e evil',
    ]
    for (const text of texts)
      expect(sha256HexPortable(text), `length ${text.length}`).toBe(
        createHash('sha256').update(text, 'utf8').digest('hex'),
      )
  })
})

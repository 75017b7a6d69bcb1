import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256 } from './sha256.js'

describe('sha256', () => {
  it('matches node:crypto for inputs across block boundaries', () => {
    for (const n of [0, 1, 21, 32, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = new Uint8Array(randomBytes(n))
      const want = createHash('sha256').update(data).digest('hex')
      expect(Buffer.from(sha256(data)).toString('hex')).toBe(want)
      expect(Buffer.from(sha256(sha256(data))).toString('hex')).toBe(
        createHash('sha256').update(Buffer.from(want, 'hex')).digest('hex'),
      )
    }
  })
})

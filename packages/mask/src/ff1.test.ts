import { describe, expect, it } from 'vitest'
import { FF1 } from './ff1.js'

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))
const K128 = '2B7E151628AED2A6ABF7158809CF4F3C'
const K192 = K128 + 'EF4359D8D580AA4F'
const K256 = K192 + '7F036D6F04FC6A94'
const RADIX36 = '0123456789abcdefghijklmnopqrstuvwxyz'
const DIGITS = '0123456789'

// NIST SP 800-38G FF1 samples 1–9 (FF1samples.pdf).
const SAMPLES: Array<[number, string, string, string, string, string]> = [
  [1, K128, DIGITS, '', '0123456789', '2433477484'],
  [2, K128, DIGITS, '39383736353433323130', '0123456789', '6124200773'],
  [3, K128, RADIX36, '3737373770717273373737', '0123456789abcdefghi', 'a9tv40mll9kdu509eum'],
  [4, K192, DIGITS, '', '0123456789', '2830668132'],
  [5, K192, DIGITS, '39383736353433323130', '0123456789', '2496655549'],
  [6, K192, RADIX36, '3737373770717273373737', '0123456789abcdefghi', 'xbj3kv35jrawxv32ysr'],
  [7, K256, DIGITS, '', '0123456789', '6657667009'],
  [8, K256, DIGITS, '39383736353433323130', '0123456789', '1001623463'],
  [9, K256, RADIX36, '3737373770717273373737', '0123456789abcdefghi', 'xs8a0azh2avyalyzuwd'],
]

describe('FF1', () => {
  it.each(SAMPLES)('matches NIST sample %i', async (_n, key, alphabet, tweak, pt, ct) => {
    const ff1 = await FF1.create(hex(key), alphabet)
    expect(await ff1.encrypt(pt, hex(tweak))).toBe(ct)
    expect(await ff1.decrypt(ct, hex(tweak))).toBe(pt)
  })

  it('round-trips random inputs of many lengths and keeps length and alphabet', async () => {
    const ff1 = await FF1.create(crypto.getRandomValues(new Uint8Array(32)), DIGITS)
    for (let len = 6; len <= 40; len++) {
      const pt = Array.from(crypto.getRandomValues(new Uint8Array(len)), (b) =>
        String(b % 10),
      ).join('')
      const tweak = crypto.getRandomValues(new Uint8Array(len % 7))
      const ct = await ff1.encrypt(pt, tweak)
      expect(ct).toMatch(new RegExp(`^\\d{${len}}$`))
      expect(await ff1.decrypt(ct, tweak)).toBe(pt)
    }
  })

  it('refuses inputs below the minimum domain and symbols outside the alphabet', async () => {
    const ff1 = await FF1.create(new Uint8Array(16), DIGITS)
    await expect(ff1.encrypt('12345')).rejects.toThrow(RangeError)
    await expect(ff1.encrypt('12345a')).rejects.toThrow(RangeError)
    await expect(FF1.create(new Uint8Array(10))).rejects.toThrow(TypeError)
  })
})

import examples from 'libphonenumber-js/examples.mobile.json'
import {
  getCountries,
  getExampleNumber,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max'
import { describe, expect, it } from 'vitest'
import { phonePossible, phoneValid } from './phone.js'

let state = 20250101
const rand = (n: number): number => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0
  return (state >>> 8) % n
}
const digits = (n: number): string => Array.from({ length: n }, () => rand(10)).join('')

const FORMATS: Array<(a: string, b: string, c: string) => string> = [
  (a, b, c) => `(${a}) ${b}-${c}`,
  (a, b, c) => `${a}-${b}-${c}`,
  (a, b, c) => `${a}.${b}.${c}`,
  (a, b, c) => `${a}${b}${c}`,
  (a, b, c) => `1-${a}-${b}-${c}`,
  (a, b, c) => `1 (${a}) ${b} ${c}`,
  (a, b, c) => `+1 ${a}-${b}-${c}`,
  (a, b, c) => `+1 (${a}) ${b}-${c}`,
  (a, b, c) => `+1${a}${b}${c}`,
]

describe('phoneValid', () => {
  it('agrees with libphonenumber on random NANP numbers in every format', () => {
    const disagreements: string[] = []
    let valid = 0
    for (let i = 0; i < 12_000; i++) {
      const area = `${2 + rand(8)}${digits(2)}`
      const exchange = `${rand(10)}${digits(2)}`
      const raw = FORMATS[i % FORMATS.length]!(area, exchange, digits(4))
      const expected = parsePhoneNumberFromString(raw, 'US')?.isValid() ?? false
      if (expected) valid++
      if (phoneValid(raw, raw.replace(/\D/g, ''), 'US') !== expected) disagreements.push(raw)
    }
    expect(disagreements).toEqual([])
    expect(valid).toBeGreaterThan(3000)
    expect(valid).toBeLessThan(11_000)
  })

  it('agrees with libphonenumber on Caribbean and Canadian area codes', () => {
    const areas = ['242', '246', '268', '284', '345', '416', '441', '473', '649', '658', '664']
    const more = ['670', '671', '684', '721', '758', '767', '784', '787', '809', '829', '849']
    const disagreements: string[] = []
    for (const area of [...areas, ...more]) {
      for (let i = 0; i < 60; i++) {
        const raw = FORMATS[i % FORMATS.length]!(area, `${2 + rand(8)}${digits(2)}`, digits(4))
        const expected = parsePhoneNumberFromString(raw, 'US')?.isValid() ?? false
        if (phoneValid(raw, raw.replace(/\D/g, ''), 'US') !== expected) disagreements.push(raw)
      }
    }
    expect(disagreements).toEqual([])
  })

  it('agrees with libphonenumber on random international numbers', () => {
    const codes = ['44', '33', '49', '39', '34', '31', '7', '61', '81', '86', '91', '55', '52']
    const more = ['27', '46', '353', '358', '972', '971', '65', '852', '800', '882', '1', '0']
    const all = [...codes, ...more]
    const disagreements: string[] = []
    let valid = 0
    for (let i = 0; i < 12_000; i++) {
      const national = digits(5 + rand(9))
      const cut = 1 + rand(3)
      const sep = [' ', '-', '.', ''][rand(4)]!
      const grouped =
        rand(4) === 0
          ? `(${national.slice(0, cut)}) ${national.slice(cut)}`
          : `${national.slice(0, cut)}${sep}${national.slice(cut, cut + 4)}${sep}${national.slice(cut + 4)}`
      const raw = `+${all[i % all.length]} ${grouped}`.replace(/[ .-]+$/, '')
      const expected = parsePhoneNumberFromString(raw, 'US')?.isValid() ?? false
      if (expected) valid++
      if (phoneValid(raw, raw.replace(/\D/g, ''), 'US') !== expected) disagreements.push(raw)
    }
    expect(disagreements).toEqual([])
    expect(valid).toBeGreaterThan(300)
  })

  it('gives libphonenumber verdicts for other countries and regions', () => {
    const cases: Array<[string, CountryCode, boolean]> = [
      ['+44 20 7946 0958', 'US', true],
      ['+44 20 7946 095', 'US', false],
      ['+33 1 42 68 53 00', 'US', true],
      ['030 901820', 'DE', true],
      ['(212) 736-5000', 'US', true],
      ['(212) 136-5000', 'US', false],
      ['+1 268 464 1234', 'DE', true],
    ]
    for (const [raw, region, expected] of cases) {
      expect(parsePhoneNumberFromString(raw, region)?.isValid() ?? false, raw).toBe(expected)
      expect(phoneValid(raw, raw.replace(/\D/g, ''), region), raw).toBe(expected)
    }
  })

  it('agrees with libphonenumber in every region, national and international, without calling it', () => {
    // Each region's example mobile number with its last digits redrawn, written nationally and
    // internationally (some cut short), read in its own region and in a random other one.
    const countries = getCountries()
    const cache = new Map<string, boolean>()
    const disagreements: string[] = []
    let valid = 0
    let total = 0
    for (const region of countries) {
      const example = getExampleNumber(region, examples as never)
      if (!example) continue
      const forms = [example.formatNational(), example.formatInternational()]
      for (let i = 0; i < 60; i++) {
        const src = forms[i % 2]!
        const redrawn = src.replace(/\d(?=\D*\d?\D*\d?\D*$)/g, () => String(rand(10)))
        const raw = i % 7 === 0 ? redrawn.slice(0, -1) : redrawn
        for (const reg of [region, countries[rand(countries.length)]!] as CountryCode[]) {
          const expected = parsePhoneNumberFromString(raw, reg)?.isValid() ?? false
          if (expected) valid++
          total++
          if (phoneValid(raw, raw.replace(/\D/g, ''), reg, cache) !== expected)
            disagreements.push(`${reg} ${raw}`)
        }
      }
    }
    expect(disagreements).toEqual([])
    expect(cache.size).toBe(0) // libphonenumber itself was never needed
    expect(valid).toBeGreaterThan(total / 3)
  })

  it('agrees with libphonenumber on random digits with trunk and IDD prefixes in every region', () => {
    const countries = getCountries()
    const disagreements: string[] = []
    for (let i = 0; i < 20_000; i++) {
      const region = countries[i % countries.length]! as CountryCode
      const lead = ['0', '00', '+', '', '011', '1', '8', '9'][rand(8)]!
      const raw =
        lead === '+' ? `+${digits(1 + rand(3))} ${digits(4 + rand(9))}` : lead + digits(5 + rand(9))
      const expected = parsePhoneNumberFromString(raw, region)?.isValid() ?? false
      if (phoneValid(raw, raw.replace(/\D/g, ''), region) !== expected)
        disagreements.push(`${region} ${raw}`)
    }
    expect(disagreements).toEqual([])
  })

  it('tells possible numbers (plan lengths) from impossible ones', () => {
    expect(phonePossible('+1 (851) 643-2735', '18516432735', 'US')).toBe(true)
    expect(phoneValid('+1 (851) 643-2735', '18516432735', 'US')).toBe(false)
    expect(phonePossible('+44 20 9785 4484', '442097854484', 'US')).toBe(true)
    expect(phonePossible('+44 20 9785', '44209785', 'US')).toBe(false)
    expect(phonePossible('555 01234', '55501234', 'US')).toBe(false)
  })
})

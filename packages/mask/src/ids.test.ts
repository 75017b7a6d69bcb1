import { describe, expect, it } from 'vitest'
import * as ids from './ids.js'

// Published or hand-checked examples: the ones in each validator's documentation, the GB 11643
// sample number, the ATO's sample ABN and the NHS's test number; then single-character edits of
// each, which every check here catches.
const VALID: Array<[keyof typeof ids, string]> = [
  ['abaValid', '011000015'],
  ['deaValid', 'AB1234563'],
  ['nhsValid', '943 476 5919'],
  ['ninoValid', 'AB 12 34 56 C'],
  ['auTfnValid', '876 543 210'],
  ['auAbnValid', '51 824 753 556'],
  ['auAcnValid', '005 499 981'],
  ['auMedicareValid', '2123 45670 1'],
  ['caSinValid', '123 456 782'],
  ['deTaxIdValid', '12345678903'],
  ['esNifValid', '12345678Z'],
  ['esNieValid', 'X9613851N'],
  ['fiHetuValid', '131052-308T'],
  ['itFiscalCodeValid', 'RSSMRA85T10A562S'],
  ['itVatValid', '01333550323'],
  ['inAadhaarValid', '3123 4567 8909'],
  ['krRrnValid', '960121-1021413'],
  ['sgNricValid', 'S1234567D'],
  ['thTninValid', '1234567890121'],
  ['phTinValid', '000-123-456-000'],
  ['zaIdValid', '8001015009087'],
  ['plPeselValid', '44051401458'],
  ['sePersonnummerValid', '871220-2384'],
  ['trTcknValid', '10000000146'],
  ['macValid', '00:1A:2B:3C:4D:5E'],
  ['cnResidentIdValid', '11010519491231002X'],
]

const check = (fn: keyof typeof ids, v: string) => (ids[fn] as unknown as (s: string) => boolean)(v)

describe('identifier checks', () => {
  it.each(VALID)('%s accepts %s', (fn, value) => {
    expect(check(fn, value)).toBe(true)
  })

  // Where the check character sits, counted from the end (Medicare ends with an issue number,
  // a Philippine TIN may end with a branch code); NINO and MAC have no check character.
  const CHECK_AT: Record<string, number> = { auMedicareValid: 3, phTinValid: 5 }
  it.each(VALID.filter(([fn]) => fn !== 'macValid' && fn !== 'ninoValid'))(
    '%s rejects %s with its check character changed',
    (fn, value) => {
      const at = value.length - 1 - (CHECK_AT[fn] ?? 0)
      const c = value[at]!
      const swap = /\d/.test(c) ? String((Number(c) + 3) % 10) : c === 'A' ? 'B' : 'A'
      expect(check(fn, value.slice(0, at) + swap + value.slice(at + 1))).toBe(false)
    },
  )

  it('checks dates, prefixes and structure beyond the check digit', () => {
    expect(ids.fiHetuValid('310289-211C')).toBe(false) // 31 February
    expect(ids.ninoValid('QQ 12 34 56 C')).toBe(false) // Q is never a prefix letter
    expect(ids.ninoValid('GB 12 34 56 C')).toBe(false)
    expect(ids.deTaxIdValid('11112345678')).toBe(false) // a digit four times
    expect(ids.inAadhaarValid('123456789012')).toBe(false) // starts with 1
    expect(ids.zaIdValid('9913326789285')).toBe(false) // month 13
    expect(ids.cnResidentIdValid('990105194912310021')).toBe(false) // no province 99
    expect(ids.cnResidentIdValid('110105209912310027', new Date('2026-01-01'))).toBe(false) // born 2099
    expect(ids.cnResidentIdValid('110105491231002')).toBe(true) // 15-digit legacy, 1949-12-31
    expect(ids.cnResidentIdValid('110105491331002')).toBe(false) // month 13
    expect(ids.macValid('FF:FF:FF:FF:FF:FF')).toBe(false)
    expect(ids.verhoeffValid('2363')).toBe(true)
    expect(ids.verhoeffValid('2364')).toBe(false)
  })
})

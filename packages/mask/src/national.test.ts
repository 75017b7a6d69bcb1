import { describe, expect, it } from 'vitest'
import { createDetector } from './detector.js'
import { DEFAULT_ID_TYPES, ID_RECOGNIZERS, idTypesFor } from './national.js'

const found = (d: ReturnType<typeof createDetector>, text: string) =>
  d.detect(text).map((s) => [s.type, text.slice(s.start, s.end)])

// One identifier per recognizer in a sentence of the kind it turns up in, with its context word.
const IN_CONTEXT: Array<[string, string, string]> = [
  ['MAC_ADDRESS', 'ethernet adapter reports 3c:22:fb:91:0a:7e since boot', '3c:22:fb:91:0a:7e'],
  ['MAC_ADDRESS', 'switch port learned 3c22.fb91.0a7e on vlan 20', '3c22.fb91.0a7e'],
  ['US_BANK_NUMBER', 'please debit checking account 4471093826 monthly', '4471093826'],
  ['US_DRIVER_LICENSE', "driver's license D4471093 expires in May", 'D4471093'],
  ['US_PASSPORT', 'passport number 538812047 was scanned', '538812047'],
  ['US_ITIN', 'ITIN 912-78-3341 on the W-7 form', '912-78-3341'],
  ['ABA_ROUTING_NUMBER', 'wire via routing number 011000015 today', '011000015'],
  ['MEDICAL_LICENSE', 'prescriber DEA number AB1234563 on file', 'AB1234563'],
  ['UK_NHS', 'NHS number 943 476 5919 registered at the practice', '943 476 5919'],
  ['UK_NINO', 'national insurance number JG 10 37 25 C', 'JG 10 37 25 C'],
  ['AU_ABN', 'invoice from ABN 51 824 753 556 attached', '51 824 753 556'],
  ['AU_ACN', 'company ACN 005 499 981 registered', '005 499 981'],
  ['AU_TFN', 'your tax file number 876 543 210 is on the form', '876 543 210'],
  ['AU_MEDICARE', 'Medicare card 2123 45670 1 for the visit', '2123 45670 1'],
  ['CA_SIN', 'social insurance number 123 456 782 on record', '123 456 782'],
  ['DE_TAX_ID', 'Ihre Steuer-ID lautet 12345678903.', '12345678903'],
  ['ES_NIF', 'DNI 12345678Z del titular', '12345678Z'],
  ['ES_NIE', 'con NIE X9613851N en vigor', 'X9613851N'],
  ['FI_PERSONAL_IDENTITY_CODE', 'henkilötunnus 131052-308T kirjattu', '131052-308T'],
  ['IT_FISCAL_CODE', 'codice fiscale RSSMRA85T10A562S del cliente', 'RSSMRA85T10A562S'],
  ['IT_VAT_CODE', 'partita IVA 01333550323 della ditta', '01333550323'],
  ['IT_DRIVER_LICENSE', 'patente di guida MI7234561K rinnovata', 'MI7234561K'],
  ['IT_PASSPORT', 'passaporto YA4471093 valido', 'YA4471093'],
  ['IT_IDENTITY_CARD', "carta d'identità CA12345BX scaduta", 'CA12345BX'],
  ['IN_AADHAAR', 'Aadhaar 3123 4567 8909 linked', '3123 4567 8909'],
  ['IN_PAN', 'PAN card ABCPD1234Z issued', 'ABCPD1234Z'],
  ['KR_RRN', '주민등록번호 960121-1021413 확인', '960121-1021413'],
  ['SG_NRIC_FIN', 'NRIC S1234567D verified', 'S1234567D'],
  ['TH_TNIN', 'Thai ID 1234567890121 on the form', '1234567890121'],
  ['PH_TIN', 'TIN 000-123-456-000 at the RDO', '000-123-456-000'],
  ['NG_NIN', 'NIN 12345678902 from NIMC', '12345678902'],
  ['ZA_ID_NUMBER', 'SA ID number 8001015009087 on the lease', '8001015009087'],
  ['PL_PESEL', 'numer PESEL 44051401458 w systemie', '44051401458'],
  ['SE_PERSONNUMMER', 'personnummer 871220-2384 registrerat', '871220-2384'],
  ['TR_NATIONAL_ID', 'TC Kimlik No 10000000146 kayıtlı', '10000000146'],
  ['CN_RESIDENT_ID', '身份证号11010519491231002X已核验', '11010519491231002X'],
]

describe('identifier recognizers', () => {
  it('covers every recognizer with a sentence', () => {
    expect(new Set(IN_CONTEXT.map(([t]) => t))).toEqual(new Set(ID_RECOGNIZERS.map((r) => r.type)))
  })

  it.each(IN_CONTEXT)('%s in context is reported at the default threshold', (type, text, value) => {
    const d = createDetector({ entities: [type] })
    expect(found(d, text)).toEqual([[type, value]])
  })

  // Recognizers with a check digit in the last digit of the value (Medicare ends with an issue
  // number, a Philippine TIN with a branch code; NINO and MAC have none; RRN, codice fiscale and
  // NRIC keep their pattern score when the check fails, as in Presidio).
  const CHECKED_LAST = IN_CONTEXT.filter(
    ([type]) =>
      ID_RECOGNIZERS.find((r) => r.type === type)!.validate &&
      ![
        'AU_MEDICARE',
        'PH_TIN',
        'UK_NINO',
        'MAC_ADDRESS',
        'KR_RRN',
        'IT_FISCAL_CODE',
        'SG_NRIC_FIN',
      ].includes(type),
  )
  it.each(CHECKED_LAST)('%s with its check digit changed is not reported', (type, text, value) => {
    const at = value.search(/\d(?=\D*$)/)
    const broken = value.slice(0, at) + ((Number(value[at]) + 5) % 10) + value.slice(at + 1)
    const d = createDetector({ entities: [type], threshold: 0 })
    expect(d.detect(text.replace(value, broken)).filter((s) => s.type === type)).toEqual([])
  })

  it('needs context for identifiers whose only proof is one check digit, as a policy threshold decides', () => {
    const d = createDetector({ countries: ['AU', 'US'] })
    expect(found(d, 'reference 876 543 210 attached')).toEqual([])
    expect(found(d, 'TFN 876 543 210 attached')).toEqual([['AU_TFN', '876 543 210']])
    const low = createDetector({ countries: ['AU'], threshold: 0, entities: ['AU_TFN'] })
    expect(low.detect('reference 876 543 210 attached')).toEqual([
      { start: 10, end: 21, type: 'AU_TFN', score: 0.45 },
    ])
    // Strong structure (check letter, dates, two check digits) is reported without context.
    const es = createDetector({ languages: ['es'] })
    expect(found(es, 'ref 12345678Z')).toEqual([['ES_NIF', '12345678Z']])
  })

  it('keeps the pattern score when a check fails where Presidio does (RRNs issued since 2020)', () => {
    const d = createDetector({ entities: ['KR_RRN'], threshold: 0 })
    expect(d.detect('960121-1234567')).toEqual([{ start: 0, end: 14, type: 'KR_RRN', score: 0.5 }])
    expect(d.detect('960121-1021413')[0]!.score).toBe(1)
    expect(d.detect('960121-1960001')).toEqual([]) // region 96
  })

  it('selects recognizers by type, country and language; defaults follow Presidio', () => {
    const d = createDetector()
    for (const t of DEFAULT_ID_TYPES) expect(d.entities).toContain(t)
    expect(d.entities).not.toContain('AU_TFN')
    expect(createDetector({ countries: ['AU'] }).entities).toEqual(
      expect.arrayContaining(['AU_ABN', 'AU_ACN', 'AU_TFN', 'AU_MEDICARE']),
    )
    expect(idTypesFor(['uk'], [])).toEqual(['UK_NHS', 'UK_NINO'])
    expect(idTypesFor([], ['it'])).toEqual([
      'IT_FISCAL_CODE',
      'IT_VAT_CODE',
      'IT_DRIVER_LICENSE',
      'IT_PASSPORT',
      'IT_IDENTITY_CARD',
    ])
    expect(createDetector({ entities: ['EMAIL_ADDRESS'] }).entities).toEqual(['EMAIL_ADDRESS'])
  })

  it('finds context-gated candidates only near context words, with the same result as a full scan', () => {
    // A recognizer that cannot pass the threshold without context looks only around its context
    // words; the spans must equal those of a full scan at threshold 0 kept at score >= 0.5.
    const parts = [
      'account',
      'bank',
      'driver',
      'license',
      'passport',
      'nhs',
      'itin',
      'dea',
      '4471093826',
      '943 476 5919',
      '912-78-3341',
      'AB1234563',
      'D4471093',
      '538812047',
      'lorem',
      'ipsum',
      '\n',
      '.',
    ]
    let seed = 5
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
    const types = [
      'US_BANK_NUMBER',
      'US_DRIVER_LICENSE',
      'US_PASSPORT',
      'US_ITIN',
      'UK_NHS',
      'MEDICAL_LICENSE',
    ]
    for (const type of types) {
      const gated = createDetector({ entities: [type] })
      const full = createDetector({ entities: [type], threshold: 0 })
      for (let i = 0; i < 400; i++) {
        let text = ''
        for (let k = 8 + rnd(40); k > 0; k--)
          text += parts[rnd(parts.length)] + ' '.repeat(1 + rnd(12))
        const want = full.detect(text).filter((s) => s.score >= 0.5)
        expect(gated.detect(text), `${type}: ${text}`).toEqual(want)
      }
    }
  })
})

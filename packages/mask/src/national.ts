import {
  abaValid,
  auAbnValid,
  auAcnValid,
  auMedicareValid,
  auTfnValid,
  caSinValid,
  cnResidentIdValid,
  deaValid,
  deTaxIdValid,
  esNieValid,
  esNifValid,
  fiHetuValid,
  inAadhaarValid,
  itFiscalCodeValid,
  itVatValid,
  krRrnValid,
  macValid,
  ngNinValid,
  nhsValid,
  ninoValid,
  phTinValid,
  plPeselValid,
  sePersonnummerValid,
  sgNricValid,
  thTninValid,
  trTcknValid,
  zaIdValid,
} from './ids.js'

/**
 * A pattern recognizer for an identifier, after Presidio's recognizer of the same entity type:
 * its patterns and scores, context words, country and languages. `validate` returns `true` (the
 * check passed: the score becomes `valid`), `false` (drop the candidate) or `undefined` (no
 * verdict: keep the pattern score).
 *
 * @example
 * ```ts
 * const r: IdRecognizer = ID_RECOGNIZERS.find((x) => x.type === 'UK_NHS')!
 * r.context // ['national health service', 'nhs', …]
 * ```
 */
export interface IdRecognizer {
  type: string
  /** ISO 3166 alpha-2 code (`GB` for the UK recognizers); `''` for recognizers of no country. */
  country: string
  /** Languages Presidio registers the recognizer for (`es`, `it`, …). */
  languages: readonly string[]
  /** Reported without being asked for (Presidio enables it by default for English). */
  byDefault: boolean
  patterns: ReadonlyArray<readonly [RegExp, number]>
  context: readonly string[]
  validate?: (match: string) => boolean | undefined
  /** Score of a candidate whose check passed; default 1. */
  valid?: number
  /** Drops a candidate when the (lower-case) 24 characters before it match: `order #`, … */
  negative?: RegExp
  /** A hand-written scan used instead of `patterns` (candidate ranges, scored 0.6). */
  scan?: (text: string) => Array<[number, number]>
}

const HEXDIGIT = new Uint8Array(128)
for (const c of '0123456789ABCDEFabcdef') HEXDIGIT[c.charCodeAt(0)] = 1
const hexAt = (text: string, i: number, n: number): boolean => {
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k)
    if (!(c < 128 && HEXDIGIT[c] === 1)) return false
  }
  return true
}
const tokenAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i)
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
}

/**
 * MAC addresses: six hex pairs joined by one kind of separator (`:` or `-`), or three groups of
 * four hex digits joined by `.`, with no letter, digit, `_` or further separator on either side
 * (a longer colon-separated hex list is not a MAC). Each separator is
 * found with `indexOf` and the groups around it are read in place.
 */
function macs(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const sep of [':', '-']) {
    const code = sep.charCodeAt(0)
    for (let p = text.indexOf(sep, 2); p >= 0; p = text.indexOf(sep, p + 1)) {
      const s = p - 2
      if (tokenAt(text, s - 1) || text.charCodeAt(s - 1) === code || !hexAt(text, s, 2)) continue
      let ok = true
      for (let g = 1; g < 6 && ok; g++) {
        ok = hexAt(text, s + 3 * g, 2) && (g === 5 || text.charCodeAt(s + 3 * g + 2) === code)
      }
      if (!ok || tokenAt(text, s + 17) || text.charCodeAt(s + 17) === code) continue
      out.push([s, s + 17])
      p = s + 16
    }
  }
  for (let p = text.indexOf('.', 4); p >= 0; p = text.indexOf('.', p + 1)) {
    const s = p - 4
    if (tokenAt(text, s - 1) || !hexAt(text, s, 4) || !hexAt(text, p + 1, 4)) continue
    if (text.charCodeAt(p + 5) !== 46 || !hexAt(text, p + 6, 4) || tokenAt(text, p + 10)) continue
    out.push([s, s + 14])
    p += 9
  }
  return out.sort((a, b) => a[0] - b[0])
}

/** Lowest pattern score, so that a context word (+0.35) can lift a weak pattern over 0.5. */
const FLOOR = 0.2
/**
 * Score of an identifier whose only check is one mod-10 or mod-11 digit over bare digits: about one
 * digit run in ten passes by chance, so a context word has to decide (Presidio gives 1.0).
 */
const WEAK = 0.45

// Boundaries: no letter, digit or underscore (ASCII) on either side, as `\b` around a token.
const L = '(?<![0-9A-Za-z_])'
const R = '(?![0-9A-Za-z_])'
const ND = '(?<!\\d)'
const NDR = '(?!\\d)'
const re = (source: string, flags = ''): RegExp => new RegExp(source, 'g' + flags)
const word = (source: string, flags = ''): RegExp => re(`${L}(?:${source})${R}`, flags)

// Numbers that name an order, invoice or shipment rather than a person's account or document.
const NOT_PERSONAL =
  /\b(?:order|invoice|tracking|ref|reference|isbn|sku|confirmation|shipment|po|parcel|ticket|case)\W{0,4}(?:#|no\.?|number|id)?\W{0,3}$/

const keep = (check: (s: string) => boolean) => (s: string) => (check(s) ? true : undefined)

/**
 * The identifier recognizers, in Presidio's entity names, with their country, languages and
 * whether they are on by default.
 *
 * @example
 * ```ts
 * ID_RECOGNIZERS.filter((r) => r.country === 'AU').map((r) => r.type) // ['AU_ABN', 'AU_ACN', 'AU_TFN', 'AU_MEDICARE']
 * ```
 */
export const ID_RECOGNIZERS: readonly IdRecognizer[] = [
  {
    type: 'MAC_ADDRESS',
    country: '',
    languages: [],
    byDefault: true,
    // `00:1A:2B:3C:4D:5E`, `00-1A-…` (one separator throughout) and Cisco's `001a.2b3c.4d5e`,
    // found by `macs` from the separators rather than by a pattern tried at every hex letter.
    patterns: [],
    scan: macs,
    context: ['mac', 'mac address', 'hardware address', 'physical address', 'ethernet'],
    validate: (s) => macValid(s) || false,
    valid: 0.6,
  },
  {
    type: 'US_BANK_NUMBER',
    country: 'US',
    languages: ['en'],
    byDefault: true,
    patterns: [[word('\\d{8,17}'), 0.05]],
    negative: NOT_PERSONAL,
    context: ['checking', 'account', 'account#', 'acct', 'bank', 'save', 'savings', 'debit'],
  },
  {
    type: 'US_DRIVER_LICENSE',
    country: 'US',
    languages: ['en'],
    byDefault: true,
    patterns: [
      [
        word(
          '(?:[A-Z]\\d{1,14}|[A-Z]\\d{18}|[A-Z]{2}\\d{2,7}|\\d{2}[A-Z]{3}\\d{5,6}|[A-Z]\\d{6}R|\\d{9}[A-Z]|[A-Z]{2}\\d{6}[A-Z]|\\d{8}[A-Z]{2}|\\d{3}[A-Z]{2}\\d{4}|[A-Z]\\d[A-Z]\\d[A-Z]|\\d{7,8}[A-Z])',
        ),
        0.3,
      ],
      [word('(?:\\d{6,14}|\\d{16})'), 0.01],
    ],
    negative: NOT_PERSONAL,
    context: [
      'driver',
      'license',
      'licence',
      'permit',
      'lic',
      'identification',
      'dls',
      'cdls',
      'lic#',
      'driving',
    ],
  },
  {
    type: 'US_PASSPORT',
    country: 'US',
    languages: ['en'],
    byDefault: true,
    patterns: [
      [word('\\d{9}'), 0.05],
      [word('[A-Z]\\d{8}'), 0.1],
    ],
    negative: NOT_PERSONAL,
    context: ['passport', 'passport#', 'travel', 'document'],
  },
  {
    type: 'US_ITIN',
    country: 'US',
    languages: ['en'],
    byDefault: true,
    patterns: [
      [
        word(
          '9\\d{2}[- ](?:5\\d|6[0-5]|7\\d|8[0-8]|9[0-24-9])\\d{4}|9\\d{2}(?:5\\d|6[0-5]|7\\d|8[0-8]|9[0-24-9])[- ]\\d{4}',
        ),
        0.05,
      ],
      [word('9\\d{2}(?:5\\d|6[0-5]|7\\d|8[0-8]|9[0-24-9])\\d{4}'), 0.3],
      // Presidio scores this form 0.5; an ITIN-shaped SSN with an invalid area looks the same.
      [word('9\\d{2}([- ])(?:5\\d|6[0-5]|7\\d|8[0-8]|9[0-24-9])\\1\\d{4}'), 0.45],
    ],
    context: ['individual', 'taxpayer', 'itin', 'tax', 'payer', 'taxid', 'tin'],
  },
  {
    type: 'ABA_ROUTING_NUMBER',
    country: 'US',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('[0123678]\\d{8}'), 0.05],
      [word('[0123678]\\d{3}-\\d{4}-\\d'), 0.3],
    ],
    context: ['aba', 'routing', 'abarouting', 'association', 'bankrouting', 'rtn'],
    validate: (s) => abaValid(s),
    valid: WEAK,
  },
  {
    type: 'MEDICAL_LICENSE',
    country: 'US',
    languages: ['en'],
    byDefault: true,
    patterns: [[word('[A-HJ-MPR-UXa-hj-mpr-ux](?:[A-Za-z]\\d{7}|9\\d{7})'), 0.4]],
    context: ['medical', 'certificate', 'dea', 'license', 'licence', 'registration'],
    validate: deaValid,
    valid: WEAK,
  },
  {
    type: 'UK_NHS',
    country: 'GB',
    languages: ['en'],
    byDefault: true,
    patterns: [[word('\\d{3}[- ]?\\d{3}[- ]?\\d{4}'), 0.5]],
    context: ['national health service', 'nhs', 'health services authority', 'health authority'],
    validate: nhsValid,
    valid: WEAK,
  },
  {
    type: 'UK_NINO',
    country: 'GB',
    languages: ['en'],
    byDefault: false,
    patterns: [[word('[A-Z]{2} ?\\d{2} ?\\d{2} ?\\d{2} ?[A-D]', 'i'), 0.5]],
    context: ['national insurance', 'ni number', 'nino', 'insurance number'],
    validate: (s) => (ninoValid(s) ? undefined : false),
  },
  {
    type: 'AU_ABN',
    country: 'AU',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('\\d{2} \\d{3} \\d{3} \\d{3}'), 0.1],
      [word('\\d{11}'), 0.01],
    ],
    context: ['australian business number', 'abn'],
    validate: auAbnValid,
  },
  {
    type: 'AU_ACN',
    country: 'AU',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('\\d{3} \\d{3} \\d{3}'), 0.1],
      [word('\\d{9}'), 0.01],
    ],
    context: ['australian company number', 'acn'],
    validate: auAcnValid,
    valid: WEAK,
  },
  {
    type: 'AU_TFN',
    country: 'AU',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('\\d{3} \\d{3} \\d{3}'), 0.1],
      [word('\\d{9}'), 0.01],
    ],
    context: ['tax file number', 'tfn'],
    validate: auTfnValid,
    valid: WEAK,
  },
  {
    type: 'AU_MEDICARE',
    country: 'AU',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('[2-6]\\d{3} \\d{5} \\d'), 0.1],
      [word('[2-6]\\d{9}'), 0.01],
    ],
    context: ['medicare'],
    validate: auMedicareValid,
    valid: WEAK,
  },
  {
    type: 'CA_SIN',
    country: 'CA',
    languages: ['en', 'fr'],
    byDefault: false,
    patterns: [
      [word('[1-79]\\d{8}'), 0.05],
      [word('[1-79]\\d{2}([- ])\\d{3}\\1\\d{3}'), 0.5],
    ],
    context: [
      'sin',
      'social insurance',
      'social insurance number',
      'nas',
      "numéro d'assurance sociale",
      'assurance sociale',
    ],
    validate: caSinValid,
    valid: WEAK,
  },
  {
    type: 'DE_TAX_ID',
    country: 'DE',
    languages: ['de'],
    byDefault: false,
    patterns: [[word('[1-9]\\d{10}'), 0.5]],
    context: [
      'steueridentifikationsnummer',
      'steuer-id',
      'steuerid',
      'steuerliche identifikationsnummer',
      'identifikationsnummer',
      'idnr',
      'steuer-idnr',
      'steuernummer',
      'bzst',
      'tax id',
    ],
    validate: deTaxIdValid,
    valid: WEAK,
  },
  {
    type: 'ES_NIF',
    country: 'ES',
    languages: ['es'],
    byDefault: false,
    patterns: [[word('\\d{7,8}-?[A-Z]', 'i'), 0.5]],
    context: ['documento nacional de identidad', 'dni', 'nif', 'identificación'],
    validate: esNifValid,
  },
  {
    type: 'ES_NIE',
    country: 'ES',
    languages: ['es'],
    byDefault: false,
    patterns: [[word('[XYZ]\\d{7}-?[A-Z]', 'i'), 0.5]],
    context: ['número de identificación de extranjero', 'nie'],
    validate: esNieValid,
  },
  {
    type: 'FI_PERSONAL_IDENTITY_CODE',
    country: 'FI',
    languages: ['fi'],
    byDefault: false,
    patterns: [
      [word('\\d{6}[-+A-FU-Y]\\d{3}[0-9A-FHJ-NPR-Y]'), 0.5],
      [re(ND + '\\d{6}[-+A-FU-Y]\\d{3}[0-9A-FHJ-NPR-Y]'), 0.1],
    ],
    context: ['hetu', 'henkilötunnus', 'personbeteckningen', 'personal identity code'],
    validate: fiHetuValid,
  },
  {
    type: 'IT_FISCAL_CODE',
    country: 'IT',
    languages: ['it'],
    byDefault: false,
    patterns: [
      [
        word('[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]', 'i'),
        0.3,
      ],
    ],
    context: ['codice fiscale', 'cf'],
    validate: keep(itFiscalCodeValid),
  },
  {
    type: 'IT_VAT_CODE',
    country: 'IT',
    languages: ['it'],
    byDefault: false,
    patterns: [[word('(?:\\d[ _]?){10}\\d'), 0.1]],
    context: ['piva', 'partita iva', 'pi', 'p.iva'],
    validate: itVatValid,
    valid: WEAK,
  },
  {
    type: 'IT_DRIVER_LICENSE',
    country: 'IT',
    languages: ['it'],
    byDefault: false,
    patterns: [[word('(?:[A-Z]{2}\\d{7}[A-Z]|U1[BCDEFGHLJKMNPRSTUWYXZ0-9]{7}[A-Z])', 'i'), 0.2]],
    context: ['patente', 'patente di guida', 'licenza', 'licenza di guida'],
  },
  {
    type: 'IT_PASSPORT',
    country: 'IT',
    languages: ['it'],
    byDefault: false,
    patterns: [[word('[A-Z]{2}\\d{7}', 'i'), 0.01]],
    context: [
      'passaporto',
      'elettronico',
      'italiano',
      'viaggio',
      'viaggiare',
      'estero',
      'documento',
      'dogana',
    ],
  },
  {
    type: 'IT_IDENTITY_CARD',
    country: 'IT',
    languages: ['it'],
    byDefault: false,
    patterns: [
      [word('[A-Z]{2}\\s?\\d{7}', 'i'), 0.01],
      [word('\\d{7}[A-Z]{2}', 'i'), 0.01],
      [word('[A-Z]{2}\\d{5}[A-Z]{2}', 'i'), 0.01],
    ],
    context: ['carta', 'identità', 'elettronica', 'cie', 'documento', 'riconoscimento', 'espatrio'],
  },
  {
    type: 'IN_AADHAAR',
    country: 'IN',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('\\d{12}'), 0.01],
      [word('\\d{4}([- :])\\d{4}\\1\\d{4}'), 0.01],
    ],
    context: ['aadhaar', 'aadhar', 'uidai'],
    validate: inAadhaarValid,
    valid: WEAK,
  },
  {
    type: 'IN_PAN',
    country: 'IN',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('[A-Z]{3}[ABCFGHJLPT][A-Z]\\d{4}[A-Z]', 'i'), 0.5],
      [word('[A-Z]{5}\\d{4}[A-Z]', 'i'), 0.1],
      [word('(?=[\\w@#$%^?~-]{0,9}[A-Za-z])(?=[\\w@#$%^?~-]{0,6}\\d{4})[\\w@#$%^?~-]{10}'), 0.01],
    ],
    context: ['permanent account number', 'pan'],
  },
  {
    type: 'KR_RRN',
    country: 'KR',
    languages: ['ko', 'kr'],
    byDefault: false,
    patterns: [
      [re(ND + '\\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])-?[1-4]\\d{6}' + NDR), 0.5],
    ],
    context: [
      'korean rrn',
      'resident registration number',
      'rrn',
      'rrn#',
      '주민등록번호',
      '주민번호',
    ],
    // Numbers issued since October 2020 carry no check digit: a failed check keeps the pattern score.
    validate: (s) => {
      const d = s.replace('-', '')
      if (Number(d.slice(7, 9)) > 95) return false
      return krRrnValid(d) ? true : undefined
    },
  },
  {
    type: 'SG_NRIC_FIN',
    country: 'SG',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('[A-Z]\\d{7}[A-Z]', 'i'), 0.3],
      [word('[STFGM]\\d{7}[A-Z]', 'i'), 0.5],
    ],
    context: ['fin', 'fin#', 'nric', 'nric#'],
    validate: keep(sgNricValid),
  },
  {
    type: 'TH_TNIN',
    country: 'TH',
    languages: ['th'],
    byDefault: false,
    patterns: [[word('[1-9](?:[134]\\d|2[0-7]|5[0-8]|[67][0-7]|[89][0-6])\\d{10}'), 0.5]],
    context: [
      'thai national id',
      'thai id number',
      'tnin',
      'thai id',
      'เลขประจำตัวประชาชน',
      'เลขบัตรประชาชน',
      'รหัสปชช',
    ],
    validate: thTninValid,
    valid: WEAK,
  },
  {
    type: 'PH_TIN',
    country: 'PH',
    languages: ['en'],
    byDefault: false,
    patterns: [
      [word('\\d{3}-\\d{3}-\\d{3}(?:-\\d{3})?'), 0.05],
      [word('(?:\\d{9}|\\d{12})'), 0.01],
    ],
    context: [
      'tin',
      'taxpayer identification number',
      'bir',
      'taxpayer id',
      'tax id',
      'rdo',
      'revenue district office',
    ],
    validate: phTinValid,
    valid: WEAK,
  },
  {
    type: 'NG_NIN',
    country: 'NG',
    languages: ['en'],
    byDefault: false,
    patterns: [[word('\\d{11}'), 0.01]],
    context: [
      'nin',
      'national identification number',
      'national identity number',
      'nimc',
      'national identity',
      'nigeria id',
      'nigerian identification',
    ],
    validate: ngNinValid,
    valid: WEAK,
  },
  {
    type: 'ZA_ID_NUMBER',
    country: 'ZA',
    languages: ['en'],
    byDefault: false,
    patterns: [[word('\\d{10}[0-2][89]\\d'), 0.2]],
    context: [
      'id',
      'identity',
      'identity number',
      'id number',
      'south african id',
      'rsa id',
      'smart id',
      'national id',
    ],
    validate: (s) => zaIdValid(s),
  },
  {
    type: 'PL_PESEL',
    country: 'PL',
    languages: ['pl'],
    byDefault: false,
    patterns: [
      [re(ND + '\\d{2}(?:[02468][1-9]|[13579][012])(?:0[1-9]|[12]\\d|3[01])\\d{5}' + NDR), 0.4],
    ],
    context: ['pesel'],
    validate: plPeselValid,
  },
  {
    type: 'SE_PERSONNUMMER',
    country: 'SE',
    languages: ['sv'],
    byDefault: false,
    patterns: [
      [word('(?:\\d{8}|\\d{6})[-+]?\\d{4}'), 0.5],
      [re(ND + '(?:\\d{8}|\\d{6})[-+]?\\d{4}' + NDR), 0.1],
    ],
    context: [
      'personnummer',
      'svenskt personnummer',
      'svensk id',
      'personal identity number',
      'samordningsnummer',
      'pnr',
    ],
    validate: sePersonnummerValid,
  },
  {
    type: 'TR_NATIONAL_ID',
    country: 'TR',
    languages: ['tr'],
    byDefault: false,
    patterns: [[word('[1-9]\\d{10}'), 0.3]],
    context: [
      'tc kimlik',
      'kimlik no',
      'kimlik numarası',
      'tckn',
      'tc no',
      'nüfus cüzdanı',
      'national id',
      'turkish id',
      'türk kimlik',
    ],
    validate: trTcknValid,
  },
  {
    type: 'CN_RESIDENT_ID',
    country: 'CN',
    languages: ['zh'],
    byDefault: true,
    // One pass for both forms: 18 characters (four-digit year, check character) or 15 digits.
    patterns: [
      [
        re(
          '[1-8](?<!\\d[1-8])\\d{5}(?:(?:18|19|20)\\d{2}|\\d{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])\\d{3}(?:[\\dXx](?![0-9A-Za-z_])|(?!\\d))',
        ),
        0.3,
      ],
    ],
    context: [
      '身份证',
      '身份证号',
      '身份证号码',
      '公民身份号码',
      '证件号',
      '证件号码',
      'resident id',
      'id card',
      'identity card',
    ],
    // The 15-digit legacy form has a birth date but no check character: it keeps its pattern score.
    validate: (s) =>
      s.length === 15 ? (cnResidentIdValid(s) ? undefined : false) : cnResidentIdValid(s),
  },
]

/**
 * Identifier types reported by default: Presidio's defaults for English and the Chinese resident
 * identity number.
 *
 * @example
 * ```ts
 * DEFAULT_ID_TYPES.includes('MAC_ADDRESS') // true
 * ```
 */
export const DEFAULT_ID_TYPES: readonly string[] = ID_RECOGNIZERS.filter((r) => r.byDefault).map(
  (r) => r.type,
)

/** Whether `id` has to see a context word to reach `threshold`. */
function needsContext(id: IdRecognizer, threshold: number): boolean {
  const best = Math.max(
    ...id.patterns.map(([, score]) => Math.max(score, FLOOR)),
    id.scan ? 0.6 : 0,
    id.validate ? (id.valid ?? 1) : 0,
  )
  return best < threshold
}

interface Compiled {
  id: IdRecognizer
  /** Candidates are only looked for near context words (the score cannot pass without one). */
  gated: boolean
}

/**
 * The recognizers of one detector: those that need a context word to pass the threshold share one
 * case-insensitive pass over the text for all their context words (`gate`, the word in group 1),
 * and look for candidates only around the words found.
 *
 * @example
 * ```ts
 * const { list } = compileIds(new Set(['MAC_ADDRESS']), 0.5) // [{ id: …, gated: false }]
 * ```
 */
export interface CompiledIds {
  list: Compiled[]
  gate: RegExp | undefined
  /** Gated recognizers (indexes into `list`) by lower-case context word. */
  byWord: Map<string, number[]>
}

/**
 * Context words of every recognizer, by entity type, for the detector's context check.
 *
 * @example
 * ```ts
 * ID_CONTEXT.UK_NHS // ['national health service', 'nhs', …]
 * ```
 */
export const ID_CONTEXT: Record<string, string[]> = Object.fromEntries(
  ID_RECOGNIZERS.map((r) => [r.type, [...r.context]]),
)

/**
 * The recognizers of `types`, compiled for one detector. A recognizer that cannot reach
 * `threshold` without a context word only looks for candidates near its context words.
 *
 * @example
 * ```ts
 * const ids = compileIds(new Set(['UK_NHS']), 0.5)
 * ids.gate // a pattern for 'nhs', 'national health service', …
 * ```
 */
export function compileIds(
  types: ReadonlySet<string>,
  threshold: number,
  extraContext: Record<string, string[]> = {},
): CompiledIds {
  // Detectors with the same types, threshold and context words share one compiled set.
  const key = `${threshold}|${[...types].sort().join(',')}|${JSON.stringify(extraContext)}`
  let compiled = COMPILED.get(key)
  if (!compiled) {
    compiled = compile(types, threshold, extraContext)
    if (COMPILED.size >= 64) COMPILED.delete(COMPILED.keys().next().value!)
    COMPILED.set(key, compiled)
  }
  return compiled
}

const COMPILED = new Map<string, CompiledIds>()

function compile(
  types: ReadonlySet<string>,
  threshold: number,
  extraContext: Record<string, string[]>,
): CompiledIds {
  const list = ID_RECOGNIZERS.filter((r) => types.has(r.type)).map((id) => ({
    id,
    gated: needsContext(id, threshold),
  }))
  const byWord = new Map<string, number[]>()
  list.forEach(({ id, gated }, i) => {
    if (!gated) return
    for (const w of [...id.context, ...(extraContext[id.type] ?? [])]) {
      const key = w.toLowerCase()
      byWord.set(key, [...(byWord.get(key) ?? []), i])
    }
  })
  if (byWord.size === 0) return { list, gate: undefined, byWord }
  const esc = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const words = [...byWord.keys()].sort((a, b) => b.length - a.length)
  // `\b` before words that start with an ASCII letter (the engine skips ahead on it); words in
  // scripts written without spaces (`身份证号`) match anywhere.
  const ascii = words.filter((w) => /^[a-z0-9]/.test(w)).map(esc)
  const other = words.filter((w) => !/^[a-z0-9]/.test(w)).map(esc)
  const alternatives = [
    ...(ascii.length > 0 ? [`\\b(?:${ascii.join('|')})`] : []),
    ...(other.length > 0 ? [`(?:${other.join('|')})`] : []),
  ]
  const gate = new RegExp(`(${alternatives.join('|')})(?![A-Za-z0-9])`, 'gi')
  return { list, gate, byWord }
}

type Scored = (c: { start: number; end: number; type: string; score: number }) => void

const isTokenChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45

/**
 * Character ranges around the context words of each gated recognizer where its candidates may
 * lie: `before` characters after a word (the candidate follows it) and `after` before it.
 */
function windows(
  text: string,
  compiled: CompiledIds,
  before: number,
  after: number,
): Map<number, Array<[number, number]>> {
  const out = new Map<number, Array<[number, number]>>()
  const gate = compiled.gate!
  gate.lastIndex = 0
  for (let m = gate.exec(text); m !== null; m = gate.exec(text)) {
    let s = Math.max(0, m.index - after - 40)
    let e = Math.min(text.length, m.index + m[0].length + before + 40)
    while (s > 0 && isTokenChar(text.charCodeAt(s - 1))) s--
    while (e < text.length && isTokenChar(text.charCodeAt(e))) e++
    for (const i of compiled.byWord.get(m[1]!.toLowerCase()) ?? []) {
      let ranges = out.get(i)
      if (!ranges) out.set(i, (ranges = []))
      const last = ranges[ranges.length - 1]
      if (last && s <= last[1]) last[1] = Math.max(last[1], e)
      else ranges.push([s, e])
    }
  }
  return out
}

/**
 * Runs the compiled recognizers over `text`, handing each candidate (validated and scored as its
 * recognizer says) to `scored`, which adds context and applies the threshold.
 *
 * @example
 * ```ts
 * scanIds('NHS 943 476 5919', compileIds(new Set(['UK_NHS']), 0.5), (c) => found.push(c), 48)
 * ```
 */
export function scanIds(
  text: string,
  compiled: CompiledIds,
  scored: Scored,
  contextBefore: number,
): void {
  const near = compiled.gate ? windows(text, compiled, contextBefore, 24) : undefined
  compiled.list.forEach(({ id, gated }, i) => {
    const ranges: Array<[number, number]> = gated ? (near!.get(i) ?? []) : [[0, text.length]]
    for (const [from, to] of ranges) {
      // A window is cut where no token continues across its edge, so the patterns' boundaries hold.
      const part = gated ? text.slice(from, to) : text
      const offset = gated ? from : 0
      if (id.scan) {
        for (const [s, e] of id.scan(part)) {
          if (id.validate?.(part.slice(s, e)) === false) continue
          scored({ start: offset + s, end: offset + e, type: id.type, score: 0.6 })
        }
        continue
      }
      for (const [pattern, score] of id.patterns) {
        pattern.lastIndex = 0
        for (let m = pattern.exec(part); m !== null; m = pattern.exec(part)) {
          if (m[0].length === 0) {
            pattern.lastIndex++
            continue
          }
          const start = offset + m.index
          if (id.negative?.test(text.slice(Math.max(0, start - 24), start).toLowerCase())) continue
          let s = Math.max(score, FLOOR)
          if (id.validate) {
            const v = id.validate(m[0])
            if (v === false) continue
            if (v === true) s = id.valid ?? 1
          }
          scored({ start, end: start + m[0].length, type: id.type, score: s })
        }
      }
    }
  })
}

/**
 * Entity types of the recognizers for the given countries (ISO 3166 alpha-2; `UK` is read as `GB`)
 * and languages (ISO 639-1, as Presidio registers them).
 *
 * @example
 * ```ts
 * idTypesFor(['AU'], []) // ['AU_ABN', 'AU_ACN', 'AU_TFN', 'AU_MEDICARE']
 * ```
 */
export function idTypesFor(countries: readonly string[], languages: readonly string[]): string[] {
  const cs = new Set(countries.map((c) => (c.toUpperCase() === 'UK' ? 'GB' : c.toUpperCase())))
  const ls = new Set(languages.map((l) => l.toLowerCase()))
  return ID_RECOGNIZERS.filter(
    (r) =>
      cs.has(r.country) || (r.country !== 'US' && r.languages.some((l) => ls.has(l) && l !== 'en')),
  ).map((r) => r.type)
}

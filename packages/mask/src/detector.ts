import type { CountryCode } from 'libphonenumber-js/max'
import { FIRST_NAMES, LAST_NAMES, NOT_GIVEN, NOT_SURNAME } from './names.js'
import { addStatistical } from './ner/combine.js'
import { hintOf } from './ner/index.js'
import { compileIds, DEFAULT_ID_TYPES, ID_CONTEXT, idTypesFor, scanIds } from './national.js'
import { BudgetMeter, DEFAULT_BUDGET } from './budget.js'
import { cnResidentIdValid } from './ids.js'
import { phonePossible, phoneRegionKnown, phoneValid } from './phone.js'
import { regionsNamed } from './regions.js'
import { bareDomains, hostOk, wwwHostOk } from './web.js'
import { scanChinese, ZH_CONTEXT, ZH_TYPES } from './zh.js'
import type { CustomRecognizer, DetectHints, Detector, DetectorOptions, Span } from './types.js'
import {
  base58checkValid,
  bech32Valid,
  cardNetworkOf,
  ibanLength,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnBetween,
  ssnValid,
} from './validators.js'

/** Built-in entity types, in Presidio's names. */
export const ENTITY_TYPES = [
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'CREDIT_CARD',
  'IBAN_CODE',
  'US_SSN',
  'IP_ADDRESS',
  'URL',
  'DATE_OF_BIRTH',
  'PERSON',
  'CRYPTO',
  'DATE_TIME',
  'LOCATION',
  'ORGANIZATION',
  'STREET_ADDRESS',
] as const

/** Types found only by the statistical layer (dropped from the defaults when `ner` is false). */
const STATISTICAL_TYPES = new Set(['DATE_TIME', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS'])

interface Candidate {
  start: number
  end: number
  type: string
  score: number
}

const CONTEXT: Record<string, string[]> = {
  CREDIT_CARD: [
    'card',
    'credit',
    'debit',
    'visa',
    'mastercard',
    'amex',
    'discover',
    'cc',
    'pan',
    'charged',
    'payment',
  ],
  US_SSN: ['ssn', 'ssns', 'social security', 'social sec', 'ss#', 'taxpayer', 'tin', 'itin'],
  PHONE_NUMBER: [
    'phone',
    'tel',
    'telephone',
    'mobile',
    'cell',
    'call',
    'text',
    'sms',
    'fax',
    'contact',
    'reach',
    'whatsapp',
    'dial',
    'number',
    'ph',
    'desk',
    'office',
    'landline',
    'cellphone',
    'mob',
    'messages',
    'answering',
    'telefon',
    'telefono',
    'teléfono',
    'téléphone',
    'tél',
    'handy',
    'celular',
    '电话',
    '手机',
  ],
  IP_ADDRESS: [
    'ip',
    'ipv4',
    'ipv6',
    'address',
    'host',
    'client',
    'server',
    'from',
    'src',
    'dst',
    'remote',
    'addr',
    'peer',
    'subnet',
    'gateway',
    'route',
    'prefix',
    'loopback',
    'unspecified',
  ],
  IBAN_CODE: ['iban', 'account', 'bank', 'transfer', 'wire', 'sepa'],
  DATE_OF_BIRTH: [
    'born',
    'birth',
    'dob',
    'd.o.b',
    'birthday',
    'birthdate',
    'bday',
    'date of birth',
  ],
  PERSON: [
    'name',
    'named',
    'mr',
    'mrs',
    'ms',
    'miss',
    'dr',
    'prof',
    'dear',
    'hi',
    'hello',
    'thanks',
    'customer',
    'patient',
    'client',
    'applicant',
    'borrower',
    'contact',
    'signed',
    'regards',
    'agent',
    'user',
    'co-signer',
    'cosigner',
    'spoke',
  ],
  CRYPTO: ['btc', 'bitcoin', 'wallet', 'crypto'],
  URL: ['url', 'link', 'website', 'site', 'visit'],
}

const NEGATIVE: Record<string, RegExp> = {
  // Version words and keys (`version`, `app_version`, `appVersion`, `firmware`, `build`, …) just
  // before the number, `to` after an upgrade verb, or a path.
  IP_ADDRESS:
    /(?:(?:\b|_)(?:v|ver|release|build|patch|sdk|package|pkg|kernel|bump(?:ed)?|rollout|upgraded?|updated?)|version|firmware|fw|build_?(?:no|number|id)?)\W{0,4}(?:to\W{1,3})?$|\/$/,
  CREDIT_CARD:
    /\b(?:order|invoice|tracking|ref|reference|isbn|sku|confirmation|shipment|po|parcel)\b/,
  PHONE_NUMBER:
    /\b(?:order|invoice|tracking|ref|isbn|sku|ticket|id|serial|account|acct)\W{0,4}(?:#|no\.?|number)?\W{0,3}$/,
}

const TITLES = new Set(['Mr', 'Mrs', 'Ms', 'Miss', 'Dr', 'Prof', 'Mx'])
const TITLE_INITIALS = new Set([...TITLES].map((t) => t.charCodeAt(0)))

/** Whether a title (`Mr`, `Dr.`, …) and one space end right before `start`. */
function titledAt(text: string, start: number): boolean {
  if (text.charCodeAt(start - 1) !== 32) return false
  let e = start - 1
  if (text.charCodeAt(e - 1) === 46) e--
  let s = e
  while (s > 0 && e - s < 4 && isLetter(text.charCodeAt(s - 1))) s--
  return (
    s < e &&
    TITLE_INITIALS.has(text.charCodeAt(s)) &&
    !isWordChar(text.charCodeAt(s - 1)) &&
    TITLES.has(text.slice(s, e))
  )
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}
const MONTHS =
  'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?'
const MONTH_INDEX: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
}

// Phone candidates: optional `+cc`, optional `(area)`, digit groups. Each branch consumes its first
// character before the look-behind so the regex engine can skip ahead on that character.
const NOT_BEFORE_PHONE = String.raw`(?:[\w+.-]|\d[ .-])`
const AREA = String.raw`\(\d{1,4}\)[ .-]?`
const LOCAL = String.raw`(?:\d{1,4}(?:[ .-]\d{1,8}){1,5}|\d{7,15})`

const RE = {
  card: /[1-6](?<![\d-][1-6])\d{3}(?:[ -]?\d){8,15}(?!\d)/g,
  ssn: /\d(?<![\d.-]\d)\d{2}(?:([- .]?)\d{2}\1\d{4}|-\d{6}|\d{2}-\d{4})(?![\d-]|\.\d)/g,
  phone: new RegExp(
    `(?:\\+(?<!${NOT_BEFORE_PHONE}\\+)\\d{1,3}[ .-]?(?:${AREA})?${LOCAL}` +
      `|\\((?<!${NOT_BEFORE_PHONE}\\()\\d{1,4}\\)[ .-]?${LOCAL}` +
      `|\\d(?<!${NOT_BEFORE_PHONE}\\d)(?:\\d{0,3}(?:[ .-]\\d{1,8}){1,5}|\\d{6,14}))` +
      // An extension (`x4587`, `ext. 12`) belongs to the number; `-Office` may follow it.
      `(?:\\s?(?:x|ext\\.?|#)\\s?\\d{1,6})?(?!\\w|-\\d|[ .-]\\d|\\.\\d|:\\d)`,
    'g',
  ),
  ipv4: /\d(?<![\w.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w)/g,
  url: /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^]{1,2048}/y,
  iban: /[A-Z]{2}(?<![\w][A-Z]{2})\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?/g,
  btc: /\b(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71})(?![\w])/g,
  date: new RegExp(
    `(?<![\\w./-])(?:\\d{4}-\\d{1,2}-\\d{1,2}|\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})|(?:${MONTHS})\\.? \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}|\\d{1,2}(?:st|nd|rd|th)? (?:${MONTHS})\\.?,? \\d{4})(?![\\w/:-]|\\.\\d|T\\d| \\d{1,2}:\\d)`,
    'g',
  ),
  // A word joined to digits (`Maria-12`, `Lee_7`) is a reference code, not a name.
  capital: /\b[A-Z](?<!['-][A-Z])[a-z]{1,20}(?:-[A-Z][a-z]{1,20})?(?![\w]|-\d)/g,
}

const EMAIL_LOCAL = new Uint8Array(128)
const DOMAIN = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  const alnum = /[A-Za-z0-9]/.test(ch)
  EMAIL_LOCAL[c] = alnum || '._%+-'.includes(ch) ? 1 : 0
  DOMAIN[c] = alnum || ch === '-' || ch === '.' ? 1 : 0
}

function contextRegex(words: string[]): RegExp | undefined {
  if (words.length === 0) return undefined
  const esc = words.map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  // Case-insensitive, so the text around a candidate is tested as it is, without a lower-case copy.
  return new RegExp(`(?:^|[^a-z0-9])(?:${esc.join('|')})(?![a-z0-9])`, 'i')
}

/**
 * Compiles a detector: candidate patterns give a base score, validators (Luhn, mod-97, SSN rules,
 * IPv4/IPv6 parsing, libphonenumber, base58check/bech32) raise it to 1.0 or drop it, context words
 * nearby raise it, and a threshold decides, in the manner of Microsoft Presidio. Every pattern
 * uses bounded quantifiers, so detection is linear in the text length.
 *
 * @example
 * ```ts
 * const detector = createDetector({ denyList: [{ type: 'PERSON', values: ['Zed Quinlan'] }] })
 * detector.detect('Card 4111 1111 1111 1111, call +1 415-555-2671')
 * // [{ start: 5, end: 24, type: 'CREDIT_CARD', score: 1 }, { start: 31, end: 46, type: 'PHONE_NUMBER', score: 0.95 }]
 * ```
 */
export function createDetector(options: DetectorOptions = {}): Detector {
  const threshold = options.threshold ?? 0.5
  const boost = options.contextBoost ?? 0.35
  const window = options.contextWindow ?? 48
  const region = (options.defaultRegion ?? 'US') as CountryCode
  if (!(threshold >= 0 && threshold <= 1))
    throw new TypeError('detector: threshold must be in [0, 1]')
  if (!(boost >= 0 && boost <= 1)) throw new TypeError('detector: contextBoost must be in [0, 1]')
  if (!Number.isInteger(window) || window < 0 || window > 1024) {
    throw new TypeError('detector: contextWindow must be an integer in [0, 1024]')
  }
  if (!/^[A-Z]{2}$/.test(region))
    throw new TypeError('detector: defaultRegion must be an ISO 3166 alpha-2 code')
  const custom = (options.recognizers ?? []).map((r, i) => {
    if (!r || typeof r.type !== 'string' || !(r.pattern instanceof RegExp)) {
      throw new TypeError(`detector: recognizers[${i}] needs a type and a RegExp pattern`)
    }
    const flags = r.pattern.flags.includes('g') ? r.pattern.flags : r.pattern.flags + 'g'
    return {
      ...r,
      pattern: new RegExp(r.pattern.source, flags),
      ctx: contextRegex(r.context ?? []),
    }
  })
  const deny = (options.denyList ?? []).map((d, i) => {
    if (!d || typeof d.type !== 'string' || !Array.isArray(d.values)) {
      throw new TypeError(`detector: denyList[${i}] needs a type and values`)
    }
    return { type: d.type, values: d.values.filter((v) => typeof v === 'string' && v.length > 0) }
  })
  const allow = new Set(options.allowList ?? [])
  const ner = options.ner ?? true
  if (typeof ner !== 'boolean') throw new TypeError('detector: ner must be a boolean')
  const builtIn = ner ? ENTITY_TYPES : ENTITY_TYPES.filter((t) => !STATISTICAL_TYPES.has(t))
  const all = [...builtIn, ...custom.map((c) => c.type), ...deny.map((d) => d.type)]
  const selected = idTypesFor(options.countries ?? [], options.languages ?? [])
  const entities = [
    ...new Set([...(options.entities ?? [...all, ...DEFAULT_ID_TYPES, ...ZH_TYPES]), ...selected]),
  ]
  const on = new Set(entities)
  // Context patterns are built for a type when a candidate of it first needs one.
  const ctxRe = new Map<string, RegExp | undefined>()
  const contextOf = (type: string): RegExp | undefined => {
    let re = ctxRe.get(type)
    if (re === undefined && !ctxRe.has(type)) {
      re = contextRegex([
        ...(CONTEXT[type] ?? []),
        ...(ID_CONTEXT[type] ?? []),
        ...(ZH_CONTEXT[type] ?? []),
        ...(options.context?.[type] ?? []),
      ])
      ctxRe.set(type, re)
    }
    return re
  }
  const ids = compileIds(on, threshold, options.context)

  const before = (text: string, start: number, n = window): string =>
    text.slice(Math.max(0, start - n), start).toLowerCase()
  const hasContext = (text: string, c: Candidate, re = contextOf(c.type)): boolean => {
    if (!re) return false
    const from = Math.max(0, c.start - window)
    let cut = from
    if (c.type === 'PERSON') {
      // Names take context from their own sentence or line: after the last '. ' or newline.
      for (let p = c.start - 1; p >= from; p--) {
        const ch = text.charCodeAt(p)
        if (ch === 10 || (ch === 46 && p + 1 < c.start && text.charCodeAt(p + 1) === 32)) {
          cut = p + 1
          break
        }
      }
    }
    return re.test(text.slice(cut, c.start)) || re.test(text.slice(c.end, c.end + 24))
  }

  const phoneCache = new Map<string, boolean>()
  const budget = options.budget === false ? undefined : { ...DEFAULT_BUDGET, ...options.budget }
  if (budget) new BudgetMeter(budget) // validates the limits at construction
  const phoneRegions = [...new Set((options.phoneRegions ?? [region]).map((r) => r.toUpperCase()))]
  for (const r of phoneRegions) {
    if (!phoneRegionKnown(r)) throw new TypeError(`detector: phoneRegions: unknown region ${r}`)
  }
  // A phone-shaped number that is not valid anywhere reaches at most 0.25 + the context boost.
  const invalidPhones = 0.25 + boost >= threshold
  const hasPhoneContext = (text: string, start: number, end: number): boolean =>
    hasContext(text, { start, end, type: 'PHONE_NUMBER', score: 0 })

  function detect(text: string, hints?: DetectHints): Span[] {
    if (typeof text !== 'string') throw new TypeError('detect expects a string')
    // The call's budget: bytes now, time every 1,024 candidates and between recognizers.
    const meter = hints?.budget ?? (budget ? new BudgetMeter(budget) : undefined)
    const bytes = meter?.charge(text)
    let seen = 0
    const out: Candidate[] = []
    const blocked: Array<[number, number]> = []
    const add = (start: number, end: number, type: string, score: number): void => {
      if (meter && (++seen & 1023) === 0) meter.check()
      out.push({ start, end, type, score })
    }
    const scored = (c: Candidate): void => {
      if (meter && (++seen & 1023) === 0) meter.check()
      if (c.score < 1 && hasContext(text, c)) c.score = Math.min(1, c.score + boost)
      if (c.score >= threshold) out.push(c)
    }
    if (on.has('EMAIL_ADDRESS')) emails(text, add)
    const hasDigit = /\d/.test(text)
    if (hasDigit) {
      if (on.has('CREDIT_CARD')) cards(text, add, before)
      if (on.has('US_SSN')) {
        RE.ssn.lastIndex = 0
        while (RE.ssn.test(text)) {
          // `ddd-dd-dddd`, `ddd dd dddd`, `ddd.dd.dddd` (the separator 5 and 8 from the end), nine
          // digits, or the very weak `ddd-dddddd` and `ddddd-dddd` (Presidio's 0.05 forms; a ZIP+4
          // has the second shape): these stay below the default threshold with context too.
          const end = RE.ssn.lastIndex
          const sep = text.charCodeAt(end - 5)
          const separated =
            (sep === 45 || sep === 32 || sep === 46) && text.charCodeAt(end - 8) === sep
          const weak = !separated && (sep === 45 || text.charCodeAt(end - 7) === 45)
          const start = end - (separated ? 11 : weak ? 10 : 9)
          if (!ssnValid(text.slice(start, end))) continue
          scored({ start, end, type: 'US_SSN', score: separated ? 0.5 : weak ? 0.1 : 0.2 })
        }
      }
      if (on.has('PHONE_NUMBER')) {
        phones(text, phoneRegions, scored, before, phoneCache, invalidPhones && hasPhoneContext)
      }
      if (on.has('IP_ADDRESS')) {
        RE.ipv4.lastIndex = 0
        while (RE.ipv4.test(text)) {
          // Digits and dots back from the end; the look-behind stops the match at neither.
          const end = RE.ipv4.lastIndex
          let start = end - 1
          for (let c = text.charCodeAt(start - 1); c === 46 || (c >= 48 && c <= 57);) {
            c = text.charCodeAt(--start - 1)
          }
          if (!ipv4Valid(text.slice(start, end))) continue
          // A version word or key before the number, or more dotted parts after it
          // (`192.168.1.1.1`: an OID or a version), lowers it below the default threshold.
          const version =
            (text.charCodeAt(end) === 46 && isDigit(text.charCodeAt(end + 1))) ||
            NEGATIVE.IP_ADDRESS!.test(before(text, start, 24))
          scored({
            start,
            end: cidrEnd(text, end, 32),
            type: 'IP_ADDRESS',
            score: version ? 0.1 : 0.6,
          })
        }
      }
      if (on.has('IBAN_CODE')) ibans(text, add, blocked)
      if (on.has('CRYPTO')) {
        RE.btc.lastIndex = 0
        for (let m = RE.btc.exec(text); m !== null; m = RE.btc.exec(text)) {
          const ok = m[0][0] === 'b' ? bech32Valid(m[0]) : base58checkValid(m[0])
          if (ok) add(m.index, m.index + m[0].length, 'CRYPTO', 1)
        }
      }
      if (on.has('DATE_OF_BIRTH')) {
        for (const [ws, we] of birthWindows(text, window)) {
          const part = text.slice(ws, we)
          RE.date.lastIndex = 0
          for (let m = RE.date.exec(part); m !== null; m = RE.date.exec(part)) {
            if (!dateValid(m[0])) continue
            const c = {
              start: ws + m.index,
              end: ws + m.index + m[0].length,
              type: 'DATE_OF_BIRTH',
              score: 0.5,
            }
            if (hasContext(text, c)) add(c.start, c.end, c.type, 0.85)
          }
        }
      }
    }
    if (on.has('IP_ADDRESS') && text.includes(':')) {
      ipv6s(text, scored)
    }
    if (on.has('URL')) {
      urls(text, scored)
      for (const [s, e] of bareDomains(text)) scored({ start: s, end: e, type: 'URL', score: 0.5 })
    }
    if (ids.list.length > 0) scanIds(text, ids, scored, window)
    scanChinese(text, on, scored, bytes === text.length)
    meter?.check()
    if (on.has('PERSON')) persons(text, scored)
    if (ner || hints?.fieldName)
      addStatistical(text, hintOf(hints?.fieldName), out, on, threshold, ner)
    for (const r of custom) {
      if (!on.has(r.type)) continue
      r.pattern.lastIndex = 0
      for (const m of text.matchAll(r.pattern)) {
        if (m[0].length === 0) continue
        let score = r.score ?? 0.6
        if (r.validate) {
          const v = r.validate(m[0])
          if (v === false) continue
          score = v === true ? 1 : v
        }
        const c = { start: m.index, end: m.index + m[0].length, type: r.type, score }
        if (c.score < 1 && hasContext(text, c, r.ctx)) c.score = Math.min(1, c.score + boost)
        if (c.score >= threshold) out.push(c)
      }
    }
    for (const d of deny) {
      if (!on.has(d.type)) continue
      for (const v of d.values) {
        for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + v.length)) {
          if (!isWordChar(text.charCodeAt(i - 1)) && !isWordChar(text.charCodeAt(i + v.length))) {
            add(i, i + v.length, d.type, 1)
          }
        }
      }
    }
    meter?.check()
    const spans = hints?.overlapping ? resolveEachType(out, text, allow) : resolve(out, text, allow)
    if (blocked.length === 0) return spans
    let k = 0
    return spans.filter((sp) => {
      while (k < blocked.length && blocked[k]![1] <= sp.start) k++
      return sp.type === 'IBAN_CODE' || k >= blocked.length || blocked[k]![0] >= sp.end
    })
  }

  return { detect, entities }
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
}

const byStartThenLongest = (a: Candidate, b: Candidate): number =>
  a.start - b.start || b.end - a.end
const byScoreThenLength = (a: Candidate, b: Candidate): number =>
  b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start
const byStart = (a: Candidate, b: Candidate): number => a.start - b.start
const toSpan = (c: Candidate): Span => ({
  start: c.start,
  end: c.end,
  type: c.type,
  score: Math.round(c.score * 100) / 100,
})

function resolve(cands: Candidate[], text: string, allow: Set<string>): Span[] {
  const spans: Span[] = []
  if (cands.length === 0) return spans
  cands.sort(byStartThenLongest)
  let i = 0
  while (i < cands.length) {
    const first = cands[i]!
    let j = i + 1
    let reach = first.end
    while (j < cands.length && cands[j]!.start < reach) reach = Math.max(reach, cands[j++]!.end)
    if (j === i + 1) {
      if (allow.size === 0 || !allow.has(text.slice(first.start, first.end))) {
        spans.push(toSpan(first))
      }
      i = j
      continue
    }
    const cluster = cands.slice(i, j).sort(byScoreThenLength)
    const chosen: Candidate[] = []
    for (const c of cluster) {
      if (allow.size > 0 && allow.has(text.slice(c.start, c.end))) continue
      if (chosen.every((k) => c.end <= k.start || k.end <= c.start)) chosen.push(c)
    }
    chosen.sort(byStart)
    for (const c of chosen) spans.push(toSpan(c))
    i = j
  }
  return spans
}

/** `resolve` within each type: spans of different types may overlap, sorted by start. */
function resolveEachType(cands: Candidate[], text: string, allow: Set<string>): Span[] {
  const byType = new Map<string, Candidate[]>()
  for (const c of cands) {
    const list = byType.get(c.type)
    if (list) list.push(c)
    else byType.set(c.type, [c])
  }
  const spans: Span[] = []
  for (const list of byType.values()) for (const s of resolve(list, text, allow)) spans.push(s)
  return spans.sort((a, b) => a.start - b.start || b.end - a.end)
}

const HEX = new Uint8Array(128)
for (let c = 0; c < 128; c++) HEX[c] = /[0-9A-Fa-f]/.test(String.fromCharCode(c)) ? 1 : 0
const isHex = (c: number): boolean => c < 128 && HEX[c] === 1

function ipv6s(text: string, scored: (c: Candidate) => void): void {
  let from = 0
  for (
    let colon = text.indexOf(':');
    colon >= 0;
    colon = text.indexOf(':', Math.max(colon + 1, from))
  ) {
    const left = text.charCodeAt(colon - 1)
    const right = text.charCodeAt(colon + 1)
    // The second colon of a bare `::` is a candidate too (the unspecified address).
    if (!(isHex(left) || left === 58) || !(isHex(right) || right === 58 || left === 58)) continue
    let s = colon
    while (
      s > 0 &&
      colon - s < 40 &&
      (isHex(text.charCodeAt(s - 1)) || text.charCodeAt(s - 1) === 58)
    )
      s--
    let e = colon + 1
    while (e < text.length && e - s < 46) {
      const c = text.charCodeAt(e)
      if (!(isHex(c) || c === 58 || c === 46)) break
      e++
    }
    while (e > colon && text[e - 1] === '.') e--
    from = e
    if (text[s - 1] === '.' || isWordChar(text.charCodeAt(s - 1))) continue
    const raw = text.slice(s, e)
    // A zone index (`%eth0`) and a prefix length (`/64`) belong to the address.
    let end = e
    if (text.charCodeAt(end) === 37 && isWordChar(text.charCodeAt(end + 1))) {
      end++
      while (end < text.length && end - e < 32 && isAlnum(text.charCodeAt(end))) end++
    }
    end = cidrEnd(text, end, 128)
    if (isWordChar(text.charCodeAt(end)) || text.charCodeAt(end) === 58) continue
    if (!ipv6Valid(raw)) continue
    // `::` alone is the unspecified address: reported with context or a prefix length.
    const score = raw === '::' ? (end > e ? 0.5 : 0.2) : 0.7
    scored({ start: s, end, type: 'IP_ADDRESS', score })
  }
}

const isAlnum = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/** End of an address at `end` extended by a prefix length `/n` (n ≤ `max`), if one follows. */
function cidrEnd(text: string, end: number, max: number): number {
  if (text.charCodeAt(end) !== 47) return end
  let n = 0
  let k = end + 1
  while (k < text.length && k - end <= 3 && isDigit(text.charCodeAt(k)))
    n = n * 10 + text.charCodeAt(k++) - 48
  if (k === end + 1 || n > max || isWordChar(text.charCodeAt(k))) return end
  if (k - end > 2 && text.charCodeAt(end + 1) === 48) return end
  return k
}

/** URLs start at `http://`, `https://` or `www.`: the pattern is tried only there. */
function urls(text: string, scored: (c: Candidate) => void): void {
  let slashes = text.indexOf('//') // '/' is rarer than ':' in logs
  let www = text.indexOf('www.')
  if (slashes < 0 && www < 0) return
  const starts: number[] = []
  for (; slashes >= 0; slashes = text.indexOf('//', slashes + 1)) {
    if (text.charCodeAt(slashes - 1) !== 58) continue
    if (slashes >= 6) starts.push(slashes - 6)
    if (slashes >= 5) starts.push(slashes - 5)
  }
  for (; www >= 0; www = text.indexOf('www.', www + 1)) starts.push(www)
  starts.sort((a, b) => a - b)
  let from = 0
  for (const at of starts) {
    if (at < from) continue
    RE.url.lastIndex = at
    const m = RE.url.exec(text)
    if (m === null) continue
    from = at + m[0].length
    let end = from
    while (end > at && '.,;:!?)]\'"'.includes(text[end - 1]!)) end--
    // The host must be a dotted name (`http://microsoft`, `www.microsoft` are not URLs).
    const scheme = text.indexOf('//', at) + 2
    const hostStart = text.charCodeAt(at) === 119 ? at : scheme
    const host = /^(?:[^/?#@\s]*@)?(\[[^\]]*\]|[^/?#:\s]*)/.exec(text.slice(hostStart, end))![1]!
    if (!(hostStart === at ? wwwHostOk(host) : hostOk(host))) continue
    if (end - at > 7) scored({ start: at, end, type: 'URL', score: 0.6 })
  }
}

type Add = (start: number, end: number, type: string, score: number) => void

const IDN_LETTER = /[\p{L}\p{M}]/u
const EMAIL_TLD = /^(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59}|\p{L}{2,24})$/u

function emails(text: string, add: Add): void {
  let last = 0
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let s = at
    const floor = Math.max(last, at - 64)
    while (s > floor) {
      const c = text.charCodeAt(s - 1)
      if (c >= 128 || EMAIL_LOCAL[c] === 0) break
      s--
    }
    while (s < at && text[s] === '.') s++
    if (s === at) continue
    let e = at + 1
    const ceil = Math.min(text.length, at + 254)
    while (e < ceil) {
      const c = text.charCodeAt(e)
      // Internationalised domain names: letters of any script as well as ASCII labels.
      if (c >= 128 ? !IDN_LETTER.test(text[e]!) : DOMAIN[c] === 0) break
      e++
    }
    while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--
    const domain = text.slice(at + 1, e)
    const dot = domain.lastIndexOf('.')
    if (dot <= 0 || domain.includes('..') || domain[0] === '-' || domain[0] === '.') continue
    if (!EMAIL_TLD.test(domain.slice(dot + 1))) continue
    if (text[at - 1] === '.') continue
    add(s, e, 'EMAIL_ADDRESS', 1)
    last = e
  }
}

function cards(text: string, add: Add, before: (t: string, s: number, n?: number) => string): void {
  RE.card.lastIndex = 0
  for (let m = RE.card.exec(text); m !== null; m = RE.card.exec(text)) {
    const start = m.index
    let end = RE.card.lastIndex
    let found = false
    for (;;) {
      let count = 0
      let first4 = 0
      for (let i = start; i < end; i++) {
        const d = text.charCodeAt(i) - 48
        if (d < 0 || d > 9) continue
        if (count < 4) first4 = first4 * 10 + d
        count++
      }
      if (count < 12) break
      // An 18-digit number that is a valid Chinese resident id (GB 11643 check) is not a card.
      const residentId = count === 18 && cnResidentIdValid(text.slice(start, end))
      if (!residentId && cardNetworkOf(count, first4) && luhnBetween(text, start, end)) {
        const negative = NEGATIVE.CREDIT_CARD!.test(before(text, start, 32))
        const positive = /card|visa|master|amex|credit|debit|pay/.test(before(text, start, 48))
        if (!negative || positive) add(start, end, 'CREDIT_CARD', 1)
        found = true
        break
      }
      // Drop the last group (a separator and 1-6 digits) and try again.
      let k = end
      while (k > start && isDigit(text.charCodeAt(k - 1))) k--
      if (k === start || end - k > 6) break
      end = k - 1
    }
    if (found) continue
    // No card from here: the number may start at the next group (`1234 5500 0000 0000 0004`).
    let g = start
    while (g < start + 6 && isDigit(text.charCodeAt(g))) g++
    if (g < start + 6 && (text.charCodeAt(g) === 32 || text.charCodeAt(g) === 45)) {
      RE.card.lastIndex = g + 1
    }
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57

const DATE_SHAPE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/

const EXTENSION = /\s?(?:x|ext\.?|#)\s?\d{1,6}$/
const SSN_SHAPE = /^\d{3}([- ])\d{2}\1\d{4}$/
const PHONE_GROUPS =
  /^(?:\+\d{1,3}[ .-]?)?(?:\(0\)\s?)?(?:\(\d{2,5}\)[ .-]?)?\d{2,}(?:[ .-]\d{2,})+$/

/**
 * Phone numbers: valid in one of `regions` (or, written with `+`, under their calling code), or in
 * a country named just before them (`My Israeli number is 09-7625400`); with `contextual`, also
 * numbers that are only possible (the length of a numbering plan) or merely phone-shaped, at a low
 * score that a context word (`mobile`, `Phone:`) raises and the threshold decides.
 */
function phones(
  text: string,
  regions: string[],
  scored: (c: Candidate) => void,
  before: (t: string, s: number, n?: number) => string,
  cache: Map<string, boolean>,
  contextual: false | ((text: string, start: number, end: number) => boolean),
): void {
  const usOnly = regions.length === 1 && regions[0] === 'US'
  RE.phone.lastIndex = 0
  for (let m = RE.phone.exec(text); m !== null; m = RE.phone.exec(text)) {
    const ext = m[0].length > 7 ? EXTENSION.exec(m[0]) : null
    const raw = ext ? m[0].slice(0, ext.index) : m[0]
    // Digit count and the US national-number shape from character codes, before any allocation.
    let count = 0
    let d0 = 0
    let d1 = 0
    let d3 = 0
    let d4 = 0
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i)
      if (c < 48 || c > 57) continue
      if (count === 0) d0 = c
      else if (count === 1) d1 = c
      else if (count === 3) d3 = c
      else if (count === 4) d4 = c
      count++
    }
    if (count < 7 || count > 15) continue
    const plus = raw.charCodeAt(0) === 43
    // In region US alone, only ten-digit numbers (after a trunk 1) with valid area and exchange
    // leading digits can be valid: others skip validation.
    const formatted = /[ ().+-]/.test(raw)
    // Numbers that can only be reported with context: written in groups (not SSN-shaped), or bare
    // ones of 10–13 digits.
    const shaped = formatted
      ? PHONE_GROUPS.test(raw) && !SSN_SHAPE.test(raw)
      : count >= 10 && count <= 13
    let usShape = true
    if (!plus && usOnly) {
      const trunk = count === 11 && d0 === 49
      usShape =
        (trunk ? count - 1 : count) === 10 && (trunk ? d1 : d0) >= 50 && (trunk ? d4 : d3) >= 50
      if (!usShape && !(contextual && shaped)) continue
    }
    if (DATE_SHAPE.test(raw)) continue
    const start = m.index
    const end = start + m[0].length
    const digits = count === raw.length ? raw : raw.replace(/\D/g, '')
    let valid = false
    if (plus) valid = phoneValid(raw, digits, regions[0] as CountryCode, cache)
    else if (usShape) {
      for (const r of regions) {
        if (phoneValid(raw, digits, r as CountryCode, cache)) {
          valid = true
          break
        }
      }
    }
    let score = formatted ? 0.6 : 0.4
    if (!valid) {
      // With a phone context word: valid in a country named before the number, else possible or
      // phone-shaped at a low score.
      if (!contextual || !shaped || !contextual(text, start, end)) continue
      const named = plus ? [] : regionsNamed(text.slice(Math.max(0, start - 48), start))
      for (const r of named) {
        if (!regions.includes(r) && phoneValid(raw, digits, r as CountryCode, cache)) {
          valid = true
          break
        }
      }
      if (!valid) {
        const possible = plus
          ? phonePossible(raw, digits, 'US')
          : [...regions, ...named].some((r) => phonePossible(raw, digits, r))
        // Possible in a numbering plan, or written in groups of two or more digits like a phone
        // number (not `1.2.3.45678`): with a context word these reach 0.5 or more.
        score = possible ? (formatted ? 0.25 : 0.15) : formatted ? 0.15 : 0.1
      }
    }
    if (NEGATIVE.PHONE_NUMBER!.test(before(text, start, 24))) continue
    scored({ start, end, type: 'PHONE_NUMBER', score })
  }
}

/** Whether `word` (lower-case letters and dots) is at `i`, ignoring ASCII letter case. */
function wordAt(text: string, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    const w = word.charCodeAt(k)
    const c = text.charCodeAt(i + k)
    if (w === 46 ? c !== 46 : (c | 32) !== w) return false
  }
  return true
}

/**
 * Starts of the birth hints (`born`, `birth`, `bday`, `dob`, `d.o.b`, any ASCII case) that a
 * left-to-right scan finds, not overlapping one another: the matches of
 * `/[bB](?:[oO][rR][nN]|[iI][rR][tT][hH]|[dD][aA][yY])|[dD](?:[oO][bB]|\.[oO]\.[bB])/g`.
 * Each hint has its `b` at a fixed offset, so only the places of `b` and `B` are looked at.
 * Internal to the detector (not exported by the package).
 *
 * @example
 * ```ts
 * birthHints('DOB: 1984-03-12, born in Lyon') // [0, 17]
 * ```
 */
export function birthHints(text: string): number[] {
  const found: number[] = [] // start * 8 + length
  for (const b of ['b', 'B']) {
    for (let at = text.indexOf(b); at >= 0; at = text.indexOf(b, at + 1)) {
      // Letters compared with `| 32`, which folds ASCII case (and maps NaN past either end to 32).
      const prev = text.charCodeAt(at - 1)
      if ((prev | 32) === 111 && (text.charCodeAt(at - 2) | 32) === 100) {
        found.push((at - 2) * 8 + 3)
      } else if (prev === 46 && wordAt(text, at - 4, 'd.o')) found.push((at - 4) * 8 + 5)
      const next = text.charCodeAt(at + 1) | 32
      if (next === 111 ? wordAt(text, at + 2, 'rn') : next === 100 && wordAt(text, at + 2, 'ay')) {
        found.push(at * 8 + 4)
      } else if (next === 105 && wordAt(text, at + 2, 'rth')) found.push(at * 8 + 5)
    }
  }
  found.sort((x, y) => x - y)
  const starts: number[] = []
  let free = 0
  for (const h of found) {
    const start = Math.floor(h / 8)
    if (start < free) continue
    starts.push(start)
    free = h - 7 * start
  }
  return starts
}

function birthWindows(text: string, window: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const hint of birthHints(text)) {
    const s = Math.max(0, hint - 60)
    const e = Math.min(text.length, hint + window + 40)
    const last = out[out.length - 1]
    if (last && s <= last[1]) last[1] = Math.max(last[1], e)
    else out.push([s, e])
  }
  for (const w of out) {
    while (w[0] > 0 && /[\w./-]/.test(text[w[0] - 1]!)) w[0]--
    while (w[1] < text.length && /[\w/:-]/.test(text[w[1]]!)) w[1]++
  }
  return out
}

function ibans(text: string, add: Add, blocked: Array<[number, number]>): void {
  RE.iban.lastIndex = 0
  for (let m = RE.iban.exec(text); m !== null; m = RE.iban.exec(text)) {
    const want = ibanLength(m[0].slice(0, 2))
    if (!want) continue
    let count = 0
    let end = m.index
    const limit = m.index + m[0].length
    while (end < limit && count < want) {
      if (text[end] !== ' ' && text[end] !== '-') count++
      end++
    }
    if (count !== want) continue
    if (isWordChar(text.charCodeAt(end)) && text[end - 1] !== ' ' && text[end - 1] !== '-') continue
    if (ibanValid(text.slice(m.index, end))) add(m.index, end, 'IBAN_CODE', 1)
    else if (/^[A-Z]{2}\d\d[ -]?[A-Z0-9]{4}/.test(m[0]) && /\d{4}/.test(m[0].slice(8)))
      blocked.push([m.index, end])
  }
}

function dateValid(raw: string): boolean {
  let y: number
  let mo: number
  let d: number
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(raw)
  const num = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$/.exec(raw)
  if (iso) {
    y = +iso[1]!
    mo = +iso[2]!
    d = +iso[3]!
  } else if (num) {
    const a = +num[1]!
    const b = +num[2]!
    y = num[3]!.length === 2 ? 1900 + +num[3]! : +num[3]!
    if (num[3]!.length === 3) return false
    mo = a <= 12 ? a : b
    d = a <= 12 ? b : a
  } else {
    const words = /([A-Za-z]+)\.?,? ?(\d{1,2})?\D*(\d{4})$/.exec(raw)
    const dm = /^(\d{1,2})/.exec(raw)
    if (!words) return false
    mo = MONTH_INDEX[words[1]!.slice(0, 3).toLowerCase()] ?? 0
    d = dm ? +dm[1]! : +(words[2] ?? 0)
    y = +words[3]!
  }
  return y >= 1900 && y <= 2030 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31
}

const PERSON_LEAD =
  /(?:applicant|borrower|co-signer|cosigner|customer|patient|underwriter|owner|agent|by|for|name|named|mr|mrs|ms|dr|dear|hi|hello|thanks|this is|i am|i'm|contact|signed|from|to|with|called)\W{0,4}$/i
const SENTENCE_START = /(?:^|[.!?\n]["')\]]?\s*|^["'(\[]\s*)$/

// One lookup per capitalised word: which of the name lists hold it.
const GIVEN = 1
const SURNAME = 2
const NO_GIVEN = 4
const NO_SURNAME = 8
// Open addressing keyed by the characters of the text itself, so no word is copied out of it.
const NAME_SLOTS = 8192
const NAME_KEYS: string[] = new Array<string>(NAME_SLOTS).fill('')
const NAME_HASHES = new Int32Array(NAME_SLOTS)
const NAME_FLAGS = new Uint8Array(NAME_SLOTS)
for (const [set, flag] of [
  [FIRST_NAMES, GIVEN],
  [LAST_NAMES, SURNAME],
  [NOT_GIVEN, NO_GIVEN],
  [NOT_SURNAME, NO_SURNAME],
] as const) {
  for (const w of set) {
    const h = nameHash(w, 0, w.length)
    let slot = (h ^ (h >>> 12)) & (NAME_SLOTS - 1)
    while (NAME_KEYS[slot] !== '' && NAME_KEYS[slot] !== w) slot = (slot + 1) & (NAME_SLOTS - 1)
    NAME_KEYS[slot] = w
    NAME_HASHES[slot] = h
    NAME_FLAGS[slot]! |= flag
  }
}

// Hashes run from the last character back, as the capitalised-word scan reads them.
function hashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + c) | 0
}

function nameHash(text: string, start: number, end: number): number {
  let h = 0
  for (let i = end - 1; i >= start; i--) h = hashStep(h, text.charCodeAt(i))
  return h
}

/** Name-list flags of `text.slice(start, end)`, whose `nameHash` is `hash`. */
function nameFlags(text: string, start: number, end: number, hash: number): number {
  const len = end - start
  for (
    let slot = (hash ^ (hash >>> 12)) & (NAME_SLOTS - 1);
    ;
    slot = (slot + 1) & (NAME_SLOTS - 1)
  ) {
    if (NAME_FLAGS[slot] === 0) return 0
    if (NAME_HASHES[slot] !== hash) continue
    const key = NAME_KEYS[slot]!
    if (key.length === len && text.startsWith(key, start)) return NAME_FLAGS[slot]!
  }
}

const isLower = (c: number): boolean => c >= 97 && c <= 122

const FOLLOWER =
  /(?: [A-Z]\.)? ([A-Z][a-z]{1,20}(?:-[A-Z][a-z]{1,20})?|(?:O'|Mc|Mac)[A-Z][a-z]{1,20})(?![\w])/y

function persons(text: string, scored: (c: Candidate) => void): void {
  const follower = FOLLOWER
  let coveredTo = -1
  const capital = RE.capital
  capital.lastIndex = 0
  while (capital.test(text)) {
    // The match is `Word` or `Word-Word`; a capital after '-' cannot start one (look-behind).
    const end = capital.lastIndex
    let start = end - 1
    let c = text.charCodeAt(start)
    let hash = 0
    while (isLower(c)) {
      hash = hashStep(hash, c)
      c = text.charCodeAt(--start)
    }
    hash = hashStep(hash, c)
    if (text.charCodeAt(start - 1) === 45) {
      hash = hashStep(hash, 45)
      start -= 2
      c = text.charCodeAt(start)
      while (isLower(c)) {
        hash = hashStep(hash, c)
        c = text.charCodeAt(--start)
      }
      hash = hashStep(hash, c)
    }
    if (start < coveredTo) continue
    const titled = titledAt(text, start)
    let next: RegExpExecArray | null = null
    let nextFlags = 0
    const c2 = text.charCodeAt(end + 1)
    if (text.charCodeAt(end) === 32 && c2 >= 65 && c2 <= 90) {
      follower.lastIndex = end
      const f = follower.exec(text)
      if (f !== null) {
        const fEnd = end + f[0].length
        const fStart = fEnd - f[1]!.length
        nextFlags = nameFlags(text, fStart, fEnd, nameHash(text, fStart, fEnd))
        if ((nextFlags & NO_SURNAME) === 0) next = f
      }
    }
    const flags = nameFlags(text, start, end, hash)
    if ((flags & (GIVEN | NO_GIVEN)) === GIVEN) {
      if (next) {
        const e = end + next[0].length
        scored({
          start,
          end: e,
          type: 'PERSON',
          score: (nextFlags & SURNAME) !== 0 || titled ? 0.85 : 0.6,
        })
        coveredTo = e
        continue
      }
      const initial = SENTENCE_START.test(text.slice(Math.max(0, start - 4), start))
      scored({ start, end, type: 'PERSON', score: titled ? 0.85 : initial ? 0.4 : 0.55 })
      continue
    }
    if (titled) {
      scored({ start, end, type: 'PERSON', score: (flags & SURNAME) !== 0 ? 0.85 : 0.7 })
      continue
    }
    if ((flags & (NO_GIVEN | NO_SURNAME)) !== 0) continue
    if (next && (nextFlags & SURNAME) !== 0) {
      const e = end + next[0].length
      const initial = SENTENCE_START.test(text.slice(Math.max(0, start - 4), start))
      scored({ start, end: e, type: 'PERSON', score: initial ? 0.45 : 0.6 })
      coveredTo = e
      continue
    }
    if (next && PERSON_LEAD.test(text.slice(Math.max(0, start - 16), start))) {
      const e = end + next[0].length
      scored({ start, end: e, type: 'PERSON', score: 0.3 })
      coveredTo = e
      continue
    }
    if ((flags & SURNAME) !== 0) scored({ start, end, type: 'PERSON', score: 0.3 })
  }
}

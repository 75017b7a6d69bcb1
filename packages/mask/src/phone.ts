import { Metadata, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'

interface TypeDesc {
  pattern(): string
  possibleLengths(): number[] | undefined
}
interface Plan {
  leadingDigits(): string | undefined
  nationalNumberPattern(): string
  hasTypes(): boolean
  type(name: string): TypeDesc | undefined
  possibleLengths(): number[] | undefined
  IDDPrefix(): string | undefined
  nationalPrefixForParsing(): string | undefined
  nationalPrefixTransformRule(): string | undefined
  callingCode(): string
}
interface MetadataApi {
  numberingPlan: Plan
  selectNumberingPlan(countryOrCallingCode: string): void
  getCountryCodesForCallingCode(code: string): string[] | undefined
  hasCallingCode(code: string): boolean
  hasCountry(country: string): boolean
}

const TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'PREMIUM_RATE',
  'TOLL_FREE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
]

/** One numbering plan (a region, or a non-geographic calling code) with its patterns compiled. */
interface Region {
  country: string
  code: string
  leading: RegExp | undefined
  national: RegExp
  hasTypes: boolean
  types: Array<{ re: RegExp; lengths: number[] | undefined }>
  /** `nationalPrefixForParsing`, anchored at the start. */
  prefix: RegExp | undefined
  transform: string | undefined
  lengths: number[] | undefined
  /** The international (IDD) prefix, anchored at the start. */
  idd: RegExp | undefined
}

/** The numbering plans sharing one calling code; `main` is the one libphonenumber selects by code. */
interface CallingCode {
  regions: Region[]
  main: Region
}

const whole = (source: string): RegExp => new RegExp(`^(?:${source})$`)
const anchored = (source: string | undefined): RegExp | undefined =>
  source ? new RegExp(`^(?:${source})`) : undefined

let metadata: MetadataApi | null | undefined
const regions = new Map<string, Region | null>()
const codes = new Map<string, CallingCode | null>()

function meta(): MetadataApi | null {
  if (metadata === undefined) {
    try {
      metadata = new Metadata() as unknown as MetadataApi
      metadata.selectNumberingPlan('US')
      const p = metadata.numberingPlan
      if (
        typeof p.type !== 'function' ||
        typeof p.nationalPrefixForParsing !== 'function' ||
        typeof p.IDDPrefix !== 'function' ||
        typeof metadata.hasCallingCode !== 'function'
      ) {
        metadata = null
      }
    } catch {
      metadata = null
    }
  }
  return metadata
}

/** The compiled plan of a country (`GB`) or, for non-geographic numbers, of a calling code (`800`). */
function regionOf(key: string): Region | null {
  let r = regions.get(key)
  if (r !== undefined) return r
  r = null
  const m = meta()
  if (m) {
    try {
      m.selectNumberingPlan(key)
      const p = m.numberingPlan
      const types: Region['types'] = []
      for (const name of TYPES) {
        const t = p.type(name)
        const source = t?.pattern()
        if (t && source)
          types.push({ re: whole(source), lengths: t.possibleLengths() || undefined })
      }
      const idd = p.IDDPrefix()
      r = {
        country: key,
        code: p.callingCode(),
        leading: anchored(p.leadingDigits()),
        national: whole(p.nationalNumberPattern()),
        hasTypes: p.hasTypes(),
        types,
        prefix: anchored(p.nationalPrefixForParsing()),
        transform: p.nationalPrefixTransformRule() || undefined,
        lengths: p.possibleLengths() || undefined,
        idd: idd ? new RegExp(`^(?:${idd})`) : undefined,
      }
    } catch {
      r = null
    }
  }
  regions.set(key, r)
  return r
}

/** The plans of one calling code, compiled once from libphonenumber's own metadata. */
function callingCode(code: string): CallingCode | null {
  let c = codes.get(code)
  if (c !== undefined) return c
  c = null
  const m = meta()
  if (m?.hasCallingCode(code)) {
    const countries = (m.getCountryCodesForCallingCode(code) ?? []).filter((k) => k !== '001')
    const list = (countries.length > 0 ? countries : [code]).map(regionOf)
    if (list.every((r) => r !== null)) c = { regions: list as Region[], main: list[0]! }
  }
  codes.set(code, c)
  return c
}

/** libphonenumber's `getNumberType(…) !== undefined`. */
function typed(r: Region, n: string): boolean {
  if (!r.national.test(n)) return false
  for (const t of r.types)
    if ((!t.lengths || t.lengths.includes(n.length)) && t.re.test(n)) return true
  return false
}

function validIn(r: Region, n: string): boolean {
  return r.hasTypes ? typed(r, n) : r.national.test(n)
}

/** libphonenumber's `getCountryByCallingCode`: the only region, or the first whose leading digits or types match. */
function countryFor(c: CallingCode, n: string): Region | undefined {
  if (c.regions.length === 1) return c.main
  for (const r of c.regions) {
    if (r.leading ? r.leading.test(n) : typed(r, n)) return r
  }
  return undefined
}

/** libphonenumber's `checkNumberLength` against a plan's possible lengths. */
function lengthCheck(r: Region, n: string): 'possible' | 'short' | 'long' | 'invalid' {
  const l = r.lengths
  if (!l) return 'possible'
  if (n.length === l[0]) return 'possible'
  if (n.length < l[0]!) return 'short'
  if (n.length > l[l.length - 1]!) return 'long'
  return l.includes(n.length) ? 'possible' : 'invalid'
}

/**
 * libphonenumber's `extractNationalNumber(number, undefined, metadata)` with plan `r` selected:
 * strips a national prefix (or applies the transform rule) unless the result would no longer fit
 * the plan.
 */
function extractNational(r: Region, c: CallingCode, number: string): string {
  const m = r.prefix?.exec(number)
  if (!m) return number
  const groups = m.length - 1
  const captured = groups > 0 && Boolean(m[groups])
  const national =
    r.transform && captured ? number.replace(r.prefix!, r.transform) : number.slice(m[0].length)
  if (national === number) return number
  if (r.national.test(number) && !r.national.test(national)) return number
  if (r.lengths) {
    const check = lengthCheck(countryFor(c, national) ?? r, national)
    if (check === 'short' || check === 'invalid') return number
  }
  return national
}

/** The verdict for digits written after `+` (calling code first). */
function international(digits: string): boolean | undefined {
  if (digits.charCodeAt(0) === 48) return false
  const m = meta()
  if (!m) return undefined
  for (let i = 1; i <= 3 && i <= digits.length; i++) {
    const code = digits.slice(0, i)
    if (!m.hasCallingCode(code)) continue
    const c = callingCode(code)
    if (c === null) return undefined
    return nationalVerdict(c, c.main, digits.slice(i), c.main)
  }
  return false
}

function nationalVerdict(
  c: CallingCode,
  selected: Region,
  number: string,
  fallback: Region,
): boolean {
  const national = extractNational(selected, c, number)
  return validIn(countryFor(c, national) ?? fallback, national)
}

/** The verdict for digits written without `+`, read in `region` the way libphonenumber's `parse` does. */
function regional(digits: string, region: string): boolean | undefined {
  const r = regionOf(region)
  const c = r && callingCode(r.code)
  if (!r || !c) return undefined
  const idd = r.idd?.exec(digits)
  if (idd) {
    const rest = digits.slice(idd[0].length)
    const first = /\d/.exec(rest)
    if (!(first && first[0] === '0')) return international(rest)
  }
  if (digits.startsWith(r.code)) {
    // A calling code written without `+` (`1 212 736 5000` in region US).
    const shorter = digits.slice(r.code.length)
    const whole = extractNational(r, c, digits)
    if (
      (!r.national.test(whole) && r.national.test(extractNational(r, c, shorter))) ||
      lengthCheck(r, whole) === 'long'
    ) {
      return nationalVerdict(c, c.main, shorter, c.main)
    }
  }
  return nationalVerdict(c, r, digits, r)
}

/**
 * Whether a phone-number candidate (digits with separators, optional `+` country code) is a valid
 * number, with libphonenumber's verdict (`parsePhoneNumberFromString(raw, region).isValid()`),
 * computed from libphonenumber's own metadata with every pattern compiled once: the calling code,
 * international (IDD) prefix, national prefix and transform rule, the region that shares the
 * calling code, and that region's type patterns are read the way its `parse` reads them. Only when
 * the metadata cannot be read this way does it call libphonenumber, keeping the verdict in `cache`
 * (up to 50,000 entries).
 *
 * @example
 * ```ts
 * phoneValid('(212) 736-5000', '2127365000', 'US') // true
 * phoneValid('+44 20 7946 0958', '442079460958', 'US') // true
 * phoneValid('09-7625400', '097625400', 'IL') // true
 * ```
 */
export function phoneValid(
  raw: string,
  digits: string,
  region: CountryCode,
  cache: Map<string, boolean> = new Map(),
): boolean {
  const fast = raw.charCodeAt(0) === 43 ? international(digits) : regional(digits, region)
  if (fast !== undefined) return fast
  const key = region + raw
  let ok = cache.get(key)
  if (ok === undefined) {
    ok = parsePhoneNumberFromString(raw, region)?.isValid() ?? false
    if (cache.size >= 50_000) cache.delete(cache.keys().next().value!)
    cache.set(key, ok)
  }
  return ok
}

/**
 * Whether a number that is not valid could still be a phone number: its calling code exists (for
 * `+` numbers) and its national number has a length the numbering plan allows (libphonenumber's
 * "possible"), in `region` for numbers without `+`.
 *
 * @example
 * ```ts
 * phonePossible('+1 (851) 643-2735', '18516432735', 'US') // true
 * phonePossible('12', '12', 'US') // false
 * ```
 */
export function phonePossible(raw: string, digits: string, region: string): boolean {
  const m = meta()
  if (!m) return false
  if (raw.charCodeAt(0) === 43) {
    if (digits.charCodeAt(0) === 48) return false
    for (let i = 1; i <= 3 && i <= digits.length; i++) {
      const code = digits.slice(0, i)
      if (!m.hasCallingCode(code)) continue
      const c = callingCode(code)
      if (!c) return false
      const national = extractNational(c.main, c, digits.slice(i))
      return lengthCheck(countryFor(c, national) ?? c.main, national) === 'possible'
    }
    return false
  }
  const r = regionOf(region)
  const c = r && callingCode(r.code)
  if (!r || !c) return false
  const national = extractNational(r, c, digits)
  return lengthCheck(countryFor(c, national) ?? r, national) === 'possible'
}

/**
 * Whether libphonenumber knows `region` (an ISO 3166 alpha-2 code with a numbering plan).
 *
 * @example
 * ```ts
 * phoneRegionKnown('IL') // true
 * ```
 */
export function phoneRegionKnown(region: string): boolean {
  const m = meta()
  return Boolean(m && /^[A-Z]{2}$/.test(region) && m.hasCountry(region))
}

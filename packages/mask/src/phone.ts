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
}
interface MetadataApi {
  numberingPlan: Plan
  selectNumberingPlan(country: string): void
  getCountryCodesForCallingCode(code: string): string[] | undefined
  hasCallingCode(code: string): boolean
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

interface Region {
  country: string
  leading: RegExp | undefined
  national: RegExp
  hasTypes: boolean
  types: Array<{ re: RegExp; lengths: number[] | undefined }>
}

const whole = (source: string): RegExp => new RegExp(`^(?:${source})$`)

function typed(r: Region, n: string): boolean {
  if (!r.national.test(n)) return false
  for (const t of r.types)
    if ((!t.lengths || t.lengths.includes(n.length)) && t.re.test(n)) return true
  return false
}

interface CallingCode {
  regions: Region[]
  main: Region
  nationalPrefix: RegExp | undefined
}

let metadata: MetadataApi | null | undefined
const plans = new Map<string, CallingCode | null>()

function meta(): MetadataApi | null {
  if (metadata === undefined) {
    try {
      metadata = new Metadata() as unknown as MetadataApi
      metadata.selectNumberingPlan('US')
      if (
        typeof metadata.numberingPlan.type !== 'function' ||
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

function region(m: MetadataApi, country: string): Region {
  m.selectNumberingPlan(country)
  const p = m.numberingPlan
  const leading = p.leadingDigits()
  const types: Region['types'] = []
  for (const name of TYPES) {
    const t = p.type(name)
    const source = t?.pattern()
    if (t && source) types.push({ re: whole(source), lengths: t.possibleLengths() || undefined })
  }
  return {
    country,
    leading: leading ? new RegExp(`^(?:${leading})`) : undefined,
    national: whole(p.nationalNumberPattern()),
    hasTypes: p.hasTypes(),
    types,
  }
}

/** The numbering plans of one calling code, compiled once from libphonenumber's own metadata. */
function plan(code: string): CallingCode | null {
  let c = plans.get(code)
  if (c !== undefined) return c
  c = null
  const m = meta()
  const countries = m?.getCountryCodesForCallingCode(code)
  if (m && countries && countries.length > 0) {
    try {
      const regions = countries.map((country) => region(m, country))
      m.selectNumberingPlan(countries[0]!)
      const prefix = (
        m.numberingPlan as Plan & { nationalPrefixForParsing(): string | undefined }
      ).nationalPrefixForParsing()
      c = {
        regions,
        main: regions[0]!,
        nationalPrefix: prefix ? new RegExp(`^(?:${prefix})`) : undefined,
      }
    } catch {
      c = null
    }
  }
  plans.set(code, c)
  return c
}

/**
 * libphonenumber's verdict for a national (significant) number of a calling code, computed the way
 * its `parse` and `isValid` do (the region is the only one of the code, or the first whose leading
 * digits or type patterns match; then that region's type patterns decide) with the patterns
 * compiled once. Undefined when libphonenumber would first strip a national prefix, or when the
 * metadata cannot be read this way.
 */
function planValid(c: CallingCode, national: string, fallback: string): boolean {
  if (c.regions.length === 1) return validIn(c.main, national)
  for (const r of c.regions) {
    if (r.leading) {
      if (r.leading.test(national)) return validIn(r, national)
    } else if (typed(r, national)) return true
  }
  return validIn(c.regions.find((r) => r.country === fallback) ?? c.main, national)
}

function validIn(r: Region, n: string): boolean {
  return r.hasTypes ? typed(r, n) : r.national.test(n)
}

function fastValid(raw: string, digits: string, region: CountryCode): boolean | undefined {
  if (raw.charCodeAt(0) === 43) {
    if (digits.charCodeAt(0) === 48) return false
    const m = meta()
    if (!m) return undefined
    for (let i = 1; i <= 3 && i < digits.length; i++) {
      const code = digits.slice(0, i)
      if (!m.hasCallingCode(code)) continue
      const c = plan(code)
      if (c === null) return undefined
      const national = digits.slice(i)
      if (c.nationalPrefix?.test(national)) return undefined
      return planValid(c, national, c.main.country)
    }
    return false
  }
  if (region !== 'US') return undefined
  const national = digits.length === 11 && digits.charCodeAt(0) === 49 ? digits.slice(1) : digits
  if (national.length !== 10 || national.charCodeAt(0) < 50) return undefined
  const c = plan('1')
  return c ? planValid(c, national, region) : undefined
}

/**
 * Whether a phone-number candidate (digits with separators, optional `+` country code) is a valid
 * number, with libphonenumber's verdict. Numbers with a `+` country code (unless a national prefix
 * follows it) and ten-digit numbers in region `US` are decided by the metadata patterns compiled
 * once; other numbers go through libphonenumber and the verdict is kept in `cache` (up to 10,000
 * entries).
 *
 * @example
 * ```ts
 * phoneValid('(212) 736-5000', '2127365000', 'US') // true
 * phoneValid('+44 20 7946 0958', '442079460958', 'US') // true
 * ```
 */
export function phoneValid(
  raw: string,
  digits: string,
  region: CountryCode,
  cache: Map<string, boolean> = new Map(),
): boolean {
  const fast = fastValid(raw, digits, region)
  if (fast !== undefined) return fast
  const key = region + raw
  let ok = cache.get(key)
  if (ok === undefined) {
    ok = parsePhoneNumberFromString(raw, region)?.isValid() ?? false
    if (cache.size >= 10_000) cache.delete(cache.keys().next().value!)
    cache.set(key, ok)
  }
  return ok
}

import { sha256 } from '@modelgate/core'

/**
 * Luhn (mod 10) checksum over the digits of `value`; other characters are ignored.
 *
 * @example
 * ```ts
 * luhn('4111 1111 1111 1111') // true
 * ```
 */
export function luhn(value: string): boolean {
  return luhnBetween(value, 0, value.length)
}

/**
 * `luhn(text.slice(start, end))` without the copy, for callers that read the digits in place. Not
 * exported by the package.
 *
 * @example
 * ```ts
 * luhnBetween('card 4111 1111 1111 1111', 5, 24) // true
 * ```
 */
export function luhnBetween(text: string, start: number, end: number): boolean {
  let sum = 0
  let double = false
  let count = 0
  for (let i = end - 1; i >= start; i--) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) continue
    count++
    let d = c
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return count > 0 && sum % 10 === 0
}

/**
 * Whether a digit string has the length and issuer prefix (IIN) of a card network: Visa,
 * Mastercard (51–55, 2221–2720), American Express, Discover, Diners Club, JCB, UnionPay, UATP (1,
 * 15 digits), Dankort (5019), Maestro (12–19 digits, incl. Maestro UK 6759, 6761–6763), Mir
 * (2200–2204), InstaPayment (637–639), RuPay (60, 508); JCB as 35xx and the 15-digit 2131/1800.
 *
 * @example
 * ```ts
 * cardNetwork('4111111111111111') // 'visa'
 * ```
 */
export function cardNetwork(digits: string): string | undefined {
  const n = digits.length
  if (n < 12) return undefined
  const d0 = digits.charCodeAt(0) - 48
  const d1 = digits.charCodeAt(1) - 48
  const d2 = digits.charCodeAt(2) - 48
  const d3 = digits.charCodeAt(3) - 48
  const digitsOnly =
    d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9
  const p2 = digitsOnly ? d0 * 10 + d1 : Number(digits.slice(0, 2))
  const p3 = digitsOnly ? p2 * 10 + d2 : Number(digits.slice(0, 3))
  const p4 = digitsOnly ? p3 * 10 + d3 : Number(digits.slice(0, 4))
  return networkOf(n, d0, p2, p3, p4)
}

/**
 * `cardNetwork` of a number given its digit count and its first four digits as a number, for
 * callers that read the digits in place. Not exported by the package.
 *
 * @example
 * ```ts
 * cardNetworkOf(16, 4111) // 'visa'
 * ```
 */
export function cardNetworkOf(length: number, first4: number): string | undefined {
  if (length < 12) return undefined
  return networkOf(
    length,
    Math.floor(first4 / 1000),
    Math.floor(first4 / 100),
    Math.floor(first4 / 10),
    first4,
  )
}

function networkOf(n: number, d0: number, p2: number, p3: number, p4: number): string | undefined {
  if (d0 === 1) return n === 15 ? (p4 === 1800 ? 'jcb' : 'uatp') : undefined
  if (p4 === 2131 && n === 15) return 'jcb'
  if (d0 === 4 && (n === 13 || n === 16 || n === 19)) return 'visa'
  if (p4 === 5019 && n === 16) return 'dankort'
  if (MAESTRO.has(p4) || (p2 >= 56 && p2 <= 58)) return n >= 12 && n <= 19 ? 'maestro' : undefined
  if (n < 13) return undefined
  if (p4 >= 2200 && p4 <= 2204 && n >= 16 && n <= 19) return 'mir'
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return 'mastercard'
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex'
  if ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) && n >= 16 && n <= 19)
    return 'discover'
  if ((p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) && n >= 14 && n <= 19) return 'diners'
  if (p2 === 35 && n >= 16 && n <= 19) return 'jcb'
  if (p2 === 62 && n >= 16 && n <= 19) return 'unionpay'
  if (p3 >= 637 && p3 <= 639 && n === 16) return 'instapayment'
  if ((p2 === 60 || p3 === 508) && n === 16) return 'rupay'
  return undefined
}

// Maestro issuer prefixes (Maestro UK 6759, 6761–6763; international 5018, 5020, 5038, 5893, 6304).
const MAESTRO = new Set([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763])

const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LY: 25,
  MN: 20,
  NI: 28,
  OM: 23,
  RU: 33,
  SD: 18,
  SO: 23,
  YE: 30,
  BI: 27,
  DJ: 27,
  FK: 18,
  HN: 28,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
}

const IBAN_LENGTH_BY_CODE = new Uint8Array(26 * 26)
for (const [cc, len] of Object.entries(IBAN_LENGTHS)) {
  IBAN_LENGTH_BY_CODE[(cc.charCodeAt(0) - 65) * 26 + cc.charCodeAt(1) - 65] = len
}

/**
 * The registered IBAN length of a country code, or undefined for countries without IBANs.
 *
 * @example
 * ```ts
 * ibanLength('DE') // 22
 * ```
 */
export function ibanLength(country: string): number | undefined {
  return IBAN_LENGTHS[country]
}

/**
 * ISO 13616 check: registered length for the country and mod-97 remainder 1. Spaces and dashes
 * between groups are ignored.
 *
 * @example
 * ```ts
 * ibanValid('DE89 3704 0044 0532 0130 00') // true
 * ```
 */
export function ibanValid(value: string): boolean {
  // Shape `[A-Z]{2}\d{2}[A-Z0-9]+` over the characters other than spaces.
  let n = 0
  let country = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 32 || c === 45) continue
    const upper = c >= 65 && c <= 90
    const digit = c >= 48 && c <= 57
    if (n < 2 ? !upper : n < 4 ? !digit : !(upper || digit)) return false
    if (n < 2) country = country * 26 + c - 65
    n++
  }
  if (n < 5 || IBAN_LENGTH_BY_CODE[country] !== n) return false
  // mod 97 of the digits of the rearranged IBAN (first four characters moved to the end).
  let rem = 0
  let k = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c !== 32 && c !== 45 && k++ >= 4) rem = mod97Step(rem, c)
  }
  k = 0
  for (let i = 0; k < 4; i++) {
    const c = value.charCodeAt(i)
    if (c === 32 || c === 45) continue
    k++
    rem = mod97Step(rem, c)
  }
  return rem === 1
}

function mod97Step(rem: number, c: number): number {
  const v = c >= 65 ? c - 55 : c - 48
  return v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97
}

/**
 * US Social Security number issuance rules: area not 000, 666 or 900–999; group not 00; serial
 * not 0000; and not one of the numbers known to be published as examples.
 *
 * @example
 * ```ts
 * ssnValid('536-22-1234') // true
 * ssnValid('666-22-1234') // false
 * ```
 */
export function ssnValid(value: string): boolean {
  let count = 0
  let n = 0
  let first = 0
  let repeated = true
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48
    if (d < 0 || d > 9) continue
    if (count === 0) first = d
    else if (d !== first) repeated = false
    n = n * 10 + d
    count++
  }
  if (count !== 9 || repeated) return false
  const area = Math.floor(n / 1e6)
  if (area === 0 || area === 666 || area >= 900) return false
  if (Math.floor(n / 1e4) % 100 === 0 || n % 1e4 === 0) return false
  return n !== 78051120 && n !== 219099999 && n !== 123456789
}

/**
 * Strict dotted-quad IPv4: four decimal octets 0–255 without leading zeros.
 *
 * @example
 * ```ts
 * ipv4Valid('192.168.1.20') // true
 * ipv4Valid('300.1.1.1') // false
 * ```
 */
export function ipv4Valid(value: string): boolean {
  return ipv4Between(value, 0, value.length)
}

/** `ipv4Valid(text.slice(start, end))` without the copy. */
function ipv4Between(text: string, start: number, end: number): boolean {
  let parts = 0
  let i = start
  for (;;) {
    const from = i
    let octet = 0
    for (; i < end; i++) {
      const c = text.charCodeAt(i)
      if (c === 46) break
      if (c < 48 || c > 57) return false
      octet = octet * 10 + c - 48
    }
    const len = i - from
    if (len === 0 || len > 3 || (len > 1 && text.charCodeAt(from) === 48) || octet > 255) {
      return false
    }
    if (++parts > 4) return false
    if (i === end) return parts === 4
    i++
  }
}

/**
 * RFC 4291 IPv6 text form: eight hex groups, at most one `::`, optional trailing dotted IPv4.
 *
 * @example
 * ```ts
 * ipv6Valid('2001:db8::8a2e:370:7334') // true
 * ipv6Valid('10:22:01') // false
 * ```
 */
export function ipv6Valid(value: string): boolean {
  // An embedded IPv4 tail counts as two groups: it is checked, then read as one group `0`.
  let groups = 8
  let end = value.length
  const lastColon = value.lastIndexOf(':')
  const tail = value.indexOf('.', lastColon) >= 0
  if (tail) {
    if (!ipv4Between(value, lastColon + 1, end)) return false
    end = lastColon + 1
    groups = 7
  }
  const gap = value.indexOf('::')
  if (gap < 0) return hexGroups(value, 0, end, tail) === groups
  if (value.indexOf('::', gap + 2) >= 0) return false
  const a = hexGroups(value, 0, gap, false)
  const b = hexGroups(value, gap + 2, end, tail)
  return a >= 0 && b >= 0 && a + b < groups
}

/** Colon-separated groups of 1–4 hex digits in `text[start, end)` (plus a group `0` if `zero`), or -1. */
function hexGroups(text: string, start: number, end: number, zero: boolean): number {
  if (start === end && !zero) return 0
  let groups = 1
  let run = 0
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === 58) {
      if (run === 0) return -1
      groups++
      run = 0
    } else if ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)) {
      if (++run > 4) return -1
    } else return -1
  }
  if (zero) run++
  return run === 0 ? -1 : groups
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const B58_INDEX = new Int8Array(128).fill(-1)
for (let i = 0; i < B58.length; i++) B58_INDEX[B58.charCodeAt(i)] = i

/**
 * Bitcoin base58check address (P2PKH `1…`, P2SH `3…`): decodes to 25 bytes with version 0 or 5
 * and a valid double-SHA-256 checksum.
 *
 * @example
 * ```ts
 * base58checkValid('1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2') // true
 * ```
 */
export function base58checkValid(value: string): boolean {
  const bytes = new Uint8Array(25)
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k)
    let carry = c < 128 ? B58_INDEX[c]! : -1
    if (carry < 0) return false
    for (let i = 24; i >= 0; i--) {
      carry += bytes[i]! * 58
      bytes[i] = carry & 0xff
      carry >>= 8
    }
    if (carry !== 0) return false
  }
  let zeros = 0
  while (value[zeros] === '1') zeros++
  let leading = 0
  while (leading < 25 && bytes[leading] === 0) leading++
  if (leading !== zeros) return false
  if (bytes[0] !== 0 && bytes[0] !== 5) return false
  const check = sha256(sha256(bytes.subarray(0, 21)))
  for (let i = 0; i < 4; i++) if (check[i] !== bytes[21 + i]) return false
  return true
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const BECH32_INDEX = new Int8Array(128).fill(-1)
for (let i = 0; i < BECH32.length; i++) BECH32_INDEX[BECH32.charCodeAt(i)] = i
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

function polymodStep(chk: number, v: number): number {
  const top = chk >>> 25
  chk = ((chk & 0x1ffffff) << 5) ^ v
  for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!
  return chk
}

/**
 * Bitcoin segwit address (BIP 173 bech32 for version 0, BIP 350 bech32m for versions 1–16) on
 * mainnet (`bc1…`).
 *
 * @example
 * ```ts
 * bech32Valid('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4') // true
 * ```
 */
export function bech32Valid(value: string): boolean {
  const s = value.toLowerCase()
  if (s !== value && value.toUpperCase() !== value) return false
  if (s.lastIndexOf('1') !== 2 || !s.startsWith('bc') || s.length < 14 || s.length > 90)
    return false
  // Checksum over the expanded human-readable part `bc` ([3, 3, 0, 2, 3]) and the data.
  let chk = polymodStep(polymodStep(polymodStep(polymodStep(polymodStep(1, 3), 3), 0), 2), 3)
  for (let k = 3; k < s.length; k++) {
    const c = s.charCodeAt(k)
    const v = c < 128 ? BECH32_INDEX[c]! : -1
    if (v < 0) return false
    chk = polymodStep(chk, v)
  }
  const version = BECH32_INDEX[s.charCodeAt(3)]!
  if (version > 16) return false
  if (chk >>> 0 !== (version === 0 ? 1 : 0x2bc830a3)) return false
  const progLen = Math.floor(((s.length - 3 - 7) * 5) / 8)
  if (version === 0) return progLen === 20 || progLen === 32
  return progLen >= 2 && progLen <= 40
}

import { TokenError } from './errors.js'

const B64URL = /^[A-Za-z0-9_-]+$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const LOOKUP = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Header members that name a key location; never honoured, so tokens carrying them are refused. */
const KEY_LOCATION_HEADERS = ['jku', 'x5u', 'x5c', 'jwk', 'x5t', 'x5t#S256']
const REGISTERED_HEADERS = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
  'b64',
  'enc',
  'zip',
])
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const
export const MAX_KID_LENGTH = 256

/** Byte length of `r` and `s`, and the group order `n`, of each ECDSA curve. */
const CURVES: Record<string, { bytes: number; n: bigint }> = {
  ES256: { bytes: 32, n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n },
  ES384: {
    bytes: 48,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  ES512: {
    bytes: 66,
    n: 0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
}

/**
 * For every valid ECDSA signature `(r, s)`, `(r, n - s)` verifies too, so anyone can re-encode a
 * token into another string with the same claims. This gives the low-S twin of a high-S
 * signature (`s > n / 2`), or `undefined` when the signature is already low-S or not ECDSA.
 */
export function lowSTwin(alg: string, signature: Uint8Array): Uint8Array | undefined {
  const curve = CURVES[alg]
  if (!curve || signature.length !== curve.bytes * 2) return undefined
  let s = 0n
  for (let i = curve.bytes; i < signature.length; i++) s = (s << 8n) | BigInt(signature[i]!)
  if (s <= curve.n >> 1n) return undefined
  const twin = signature.slice()
  let low = curve.n - s
  for (let i = signature.length - 1; i >= curve.bytes; i--) {
    twin[i] = Number(low & 0xffn)
    low >>= 8n
  }
  return twin
}

/** Unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Decodes one base64url segment, refusing anything but the canonical unpadded form. */
export function decodeCanonical(segment: string): Uint8Array {
  if (segment.length === 0 || !B64URL.test(segment) || segment.length % 4 === 1) {
    throw new TokenError('malformed', 'segment is not canonical base64url')
  }
  const out = new Uint8Array(Math.floor((segment.length * 3) / 4))
  let bits = 0
  let acc = 0
  let o = 0
  for (let i = 0; i < segment.length; i++) {
    acc = (acc << 6) | LOOKUP[segment.charCodeAt(i)]!
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0)
    throw new TokenError('malformed', 'segment is not canonical base64url')
  return out
}

/**
 * Parses JSON, refusing duplicate object members (after unescaping) anywhere in the document.
 * JSON.parse silently keeps the last duplicate, which lets two parsers disagree on one token.
 */
export function parseStrictJson(text: string): unknown {
  let i = 0
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++
      else break
    }
  }
  const string = (): string => {
    const start = i
    i++
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x5c) i += 2
      else if (c === 0x22) {
        i++
        return JSON.parse(text.slice(start, i)) as string
      } else i++
    }
    throw new SyntaxError('unterminated string')
  }
  const value = (depth: number): void => {
    if (depth > 32) throw new SyntaxError('too deep')
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const seen = new Set<string>()
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') throw new SyntaxError('expected a member name')
        const key = string()
        if (seen.has(key)) throw new TokenError('duplicate_member', 'duplicate JSON member')
        seen.add(key)
        ws()
        if (text[i++] !== ':') throw new SyntaxError('expected ":"')
        value(depth + 1)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i++] !== '}') throw new SyntaxError('expected "}"')
        return
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      for (;;) {
        value(depth + 1)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i++] !== ']') throw new SyntaxError('expected "]"')
        return
      }
    }
    if (c === '"') {
      string()
      return
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      text.slice(i, i + 400),
    )
    if (!m) throw new SyntaxError('unexpected token')
    i += m[0].length
  }
  value(0)
  ws()
  if (i !== text.length) throw new SyntaxError('trailing data')
  return JSON.parse(text)
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = parseStrictJson(decoder.decode(decodeCanonical(segment)))
  } catch (error) {
    if (error instanceof TokenError) throw error
    throw new TokenError('malformed', `${what} is not JSON`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TokenError('malformed', `${what} is not a JSON object`)
  }
  return parsed as Record<string, unknown>
}

/** What the structural checks learned about a token before any signature work. */
export interface InspectedToken {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  alg: string
  kid: string
  issuer: string
}

/**
 * The hardening layer: structure, size, canonical encoding, duplicate members, key-location
 * headers, `crit`, and numeric dates. Runs before jose and before any key is looked up.
 */
export function inspectToken(
  token: string,
  maxBytes: number,
  understoodCrit: ReadonlySet<string>,
): InspectedToken {
  if (token.length > maxBytes) throw new TokenError('too_large', 'token is too large')
  const parts = token.split('.')
  if (parts.length !== 3) throw new TokenError('malformed', 'token must have three segments')
  const header = decodeJsonObject(parts[0]!, 'header')
  const alg = header.alg
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
    throw new TokenError('alg_not_allowed', 'algorithm not allowed')
  for (const name of KEY_LOCATION_HEADERS) {
    if (name in header)
      throw new TokenError('key_in_header', 'key-location header parameters are not accepted')
  }
  const kid = header.kid
  if (typeof kid !== 'string' || kid.length === 0)
    throw new TokenError('kid_missing', 'kid is required')
  if (kid.length > MAX_KID_LENGTH) throw new TokenError('kid_invalid', 'kid is too long')
  if (header.b64 !== undefined)
    throw new TokenError('unsupported', 'unencoded payloads are not accepted')
  if (header.crit !== undefined) {
    const crit = header.crit
    if (!Array.isArray(crit) || crit.length === 0)
      throw new TokenError('crit_invalid', 'crit must be a non-empty array')
    for (const name of crit) {
      if (
        typeof name !== 'string' ||
        REGISTERED_HEADERS.has(name) ||
        !understoodCrit.has(name) ||
        !(name in header)
      ) {
        throw new TokenError('crit_unsupported', 'unsupported critical header')
      }
    }
  }
  decodeCanonical(parts[2]!)
  const claims = decodeJsonObject(parts[1]!, 'claims')
  for (const name of TIME_CLAIMS) {
    const v = claims[name]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new TokenError('claim_invalid', `${name} must be a finite number`)
    }
  }
  const issuer = claims.iss
  if (typeof issuer !== 'string' || issuer.length === 0)
    throw new TokenError('issuer_unknown', 'iss is required')
  return { header, claims, alg, kid, issuer }
}

import { checkOptionKeys, type Principal } from '@modelgate/core'
import { errors, jwtVerify, type JWTPayload } from 'jose'
import type { IssuerConfig, JwtAlgorithm, JwtVerifierOptions, VerifiedToken } from '../types.js'
import { KeysUnavailableError, TokenError } from './errors.js'
import {
  decodeCanonical,
  encodeBase64url,
  inspectToken,
  lowSTwin,
  MAX_KID_LENGTH,
} from './hardening.js'
import { KeySource } from './jwks.js'

/**
 * Every JWS algorithm the verifier can be configured to accept (an allowlist picks from these).
 *
 * @example
 * ```ts
 * JWT_ALGORITHMS.includes('ES256') // true
 * ```
 */
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
])
const ALGORITHMS = new Set<JwtAlgorithm>(JWT_ALGORITHMS)
const encoder = new TextEncoder()

/** @internal The keys of {@link JwtVerifierOptions}, for strict option checks. */
export const JWT_OPTIONS = {
  issuers: {
    issuer: true,
    jwks: true,
    jwksUri: true,
    discovery: true,
    audience: true,
    algorithms: true,
    principal: true,
  },
  algorithms: true,
  requiredClaims: true,
  clockToleranceSeconds: true,
  maxTokenAgeSeconds: true,
  clock: true,
  jwksCache: { cooldownMs: true, maxAgeMs: true, timeoutMs: true, maxBytes: true },
  tokenCache: { maxEntries: true, ttlSeconds: true },
  criticalHeaders: true,
  revocations: true,
  replay: true,
  hardening: true,
  maxTokenBytes: true,
  typ: true,
  highS: true,
  fetch: true,
} as const

/**
 * Verifies bearer JWTs: the hardening checks, then jose, then the claim policy, revocation and
 * replay; successful results are cached by token hash.
 *
 * @example
 * ```ts
 * const verifier = createJwtVerifier({ issuers: [{ issuer, jwksUri, audience: 'api' }], algorithms: ['ES256'] })
 * const { principal } = await verifier.verify(token)
 * ```
 */
export interface JwtVerifier {
  verify(token: string): Promise<VerifiedToken>
  /** Entries in the verified-token cache. */
  readonly cacheSize: number
}

interface Issuer {
  config: IssuerConfig
  algorithms: Set<string>
  audience: string[]
  keys: KeySource
}

interface CacheEntry {
  expiresAt: number
  issuer: string
  kid: string
  claims: JWTPayload
  principal: Principal
  /** What a cache hit returns, built once. */
  hit: VerifiedToken
}

/**
 * Builds a {@link JwtVerifier}. Options are checked here (TypeError); tokens fail at `verify`
 * with {@link TokenError} (refused) or {@link KeysUnavailableError} (could not be checked).
 *
 * @example
 * ```ts
 * const verifier = createJwtVerifier({
 *   issuers: [{ issuer: 'https://idp.example', discovery: true, audience: 'credit-api' }],
 *   algorithms: ['ES256', 'RS256'],
 *   maxTokenAgeSeconds: 3600,
 * })
 * ```
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  checkOptionKeys('createJwtVerifier', options, JWT_OPTIONS)
  if (!options || !Array.isArray(options.issuers) || options.issuers.length === 0) {
    throw new TypeError('jwt.issuers must list at least one issuer')
  }
  const typ = options.typ
  if (typ !== undefined && (typeof typ !== 'string' || typ === ''))
    throw new TypeError('jwt.typ must be a media type such as "at+jwt"')
  const highS = options.highS ?? 'normalize'
  if (highS !== 'normalize' && highS !== 'refuse')
    throw new TypeError('jwt.highS must be "normalize" or "refuse"')
  checkAlgorithms(options.algorithms, 'jwt.algorithms')
  const tolerance = options.clockToleranceSeconds ?? 30
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new TypeError('jwt.clockToleranceSeconds must be between 0 and 60')
  }
  const maxAge = options.maxTokenAgeSeconds
  if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge > 0))
    throw new TypeError('jwt.maxTokenAgeSeconds must be positive')
  const maxBytes = options.maxTokenBytes ?? 8192
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 256)
    throw new TypeError('jwt.maxTokenBytes must be an integer ≥ 256')
  const required = options.requiredClaims ?? ['exp', 'iat', 'sub']
  if (!Array.isArray(required) || required.some((c) => typeof c !== 'string'))
    throw new TypeError('jwt.requiredClaims must be strings')
  const clock = options.clock ?? Date.now
  const hardening = options.hardening !== false
  const crit = new Set(options.criticalHeaders ?? [])
  const cacheOpts = options.tokenCache === false ? undefined : (options.tokenCache ?? {})
  const cacheMax = cacheOpts?.maxEntries ?? 10_000
  const cacheTtlMs = Math.min(60, cacheOpts?.ttlSeconds ?? 60) * 1000
  if (cacheOpts && (!Number.isSafeInteger(cacheMax) || cacheMax <= 0 || !(cacheTtlMs > 0))) {
    throw new TypeError('jwt.tokenCache needs positive maxEntries and ttlSeconds')
  }
  const jc = options.jwksCache ?? {}
  const cooldownMs = jc.cooldownMs ?? 30_000
  const maxAgeMs = jc.maxAgeMs ?? 600_000
  const timeoutMs = jc.timeoutMs ?? 5_000
  for (const [k, v] of Object.entries({ cooldownMs, maxAgeMs, timeoutMs })) {
    if (!Number.isFinite(v) || v < 0)
      throw new TypeError(`jwt.jwksCache.${k} must be a non-negative number`)
  }
  const doFetch =
    options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))

  const cache = new Map<string, CacheEntry>()
  const aliases = new Map<string, string>()
  const issuers = new Map<string, Issuer>()
  for (const config of options.issuers) {
    if (!config || typeof config.issuer !== 'string' || config.issuer === '')
      throw new TypeError('every issuer needs an "issuer" string')
    if (issuers.has(config.issuer))
      throw new TypeError(`issuer "${config.issuer}" is configured twice`)
    const audience = typeof config.audience === 'string' ? [config.audience] : config.audience
    if (
      !Array.isArray(audience) ||
      audience.length === 0 ||
      audience.some((a) => typeof a !== 'string' || a === '')
    ) {
      throw new TypeError(`issuer "${config.issuer}": audience is required`)
    }
    if (config.algorithms)
      checkAlgorithms(config.algorithms, `issuer "${config.issuer}": algorithms`)
    const keys = new KeySource({
      issuer: config.issuer,
      ...(config.jwks !== undefined ? { jwks: config.jwks } : {}),
      ...(config.jwksUri !== undefined ? { jwksUri: config.jwksUri } : {}),
      ...(config.discovery !== undefined ? { discovery: config.discovery } : {}),
      cooldownMs,
      maxAgeMs,
      timeoutMs,
      maxBytes: jc.maxBytes ?? 65_536,
      clock,
      fetch: doFetch,
      onKeysRemoved: (kids) => {
        for (const [hash, entry] of cache)
          if (entry.issuer === config.issuer && kids.includes(entry.kid)) cache.delete(hash)
      },
    })
    issuers.set(config.issuer, {
      config,
      algorithms: new Set(config.algorithms ?? options.algorithms),
      audience,
      keys,
    })
  }

  async function afterVerify(entry: CacheEntry, now: number): Promise<void> {
    const jti = entry.claims.jti
    if (options.revocations || options.replay) {
      if (typeof jti !== 'string' || jti === '')
        throw new TokenError('claim_missing', 'jti is required')
    }
    if (
      options.revocations &&
      (await options.revocations.get(`jwt-revoked:${entry.issuer}:${jti}`)) !== undefined
    ) {
      throw new TokenError('revoked', 'token revoked')
    }
    if (options.replay) {
      const ttl = Math.max(1000, (entry.claims.exp ?? 0) * 1000 + tolerance * 1000 - now)
      if (!(await options.replay.setIfAbsent(`jwt-jti:${entry.issuer}:${jti}`, '1', ttl))) {
        throw new TokenError('replayed', 'token already used')
      }
    }
  }

  const storeChecks = options.revocations !== undefined || options.replay !== undefined

  // A hit costs one hash of the token and a map lookup (plus the revocation and replay checks
  // when configured): nothing is decoded, parsed or handed to jose again.
  function verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length > maxBytes)
      return Promise.reject(new TokenError('too_large', 'token is too large'))
    try {
      if (!cacheOpts) return verifyFresh(token, clock(), undefined)
      if (hashSync) return lookup(token, hashSync(token))
      return hashAsync(token).then((hash) => lookup(token, hash))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  function lookup(token: string, hash: string): Promise<VerifiedToken> {
    const now = clock()
    const entry = live(hash, now)
    return entry ? hit(entry, now) : verifyFresh(token, now, hash)
  }

  function live(hash: string, now: number): CacheEntry | undefined {
    let key = hash
    let entry = cache.get(hash)
    if (entry === undefined) {
      const canonical = aliases.get(hash)
      if (canonical === undefined) return undefined
      entry = cache.get(canonical)
      if (entry === undefined) {
        aliases.delete(hash)
        return undefined
      }
      key = canonical
    }
    if (entry.expiresAt > now) return entry
    cache.delete(key)
    return undefined
  }

  function hit(entry: CacheEntry, now: number): Promise<VerifiedToken> {
    if (!storeChecks) return Promise.resolve(entry.hit)
    return afterVerify(entry, now).then(() => entry.hit)
  }

  function remember(hash: string, entry: CacheEntry): void {
    if (cache.size >= cacheMax) cache.delete(cache.keys().next().value as string)
    cache.set(hash, entry)
  }

  /** The hash of a high-S token names its canonical entry, so its next use is a plain hit. */
  function alias(rawHash: string, canonical: string): void {
    if (aliases.size >= cacheMax) aliases.delete(aliases.keys().next().value as string)
    aliases.set(rawHash, canonical)
  }

  async function verifyFresh(
    token: string,
    now: number,
    hash: string | undefined,
  ): Promise<VerifiedToken> {
    const inspected = hardening ? inspectToken(token, maxBytes, crit) : looseInspect(token)
    // A high-S ECDSA token is the malleated twin of a low-S one: it is verified, cached and
    // identified (`tokenHash`) as that one, or refused.
    const rawHash = hash
    const dot = token.lastIndexOf('.') + 1
    const twin = inspected.alg.startsWith('ES')
      ? lowSTwin(inspected.alg, signatureBytes(token.slice(dot)))
      : undefined
    if (twin) {
      if (highS === 'refuse')
        throw new TokenError('signature_high_s', 'the ECDSA signature is not in low-S form')
      token = token.slice(0, dot) + encodeBase64url(twin)
      if (rawHash !== undefined) {
        hash = await hashOf(token)
        const entry = live(hash, now)
        if (entry) {
          alias(rawHash, hash)
          return hit(entry, now)
        }
      }
    }
    hash ??= await hashOf(token)
    const tokenHash = hex(hash)
    const issuer = issuers.get(inspected.issuer)
    if (!issuer) throw new TokenError('issuer_unknown', 'unknown issuer')
    if (!issuer.algorithms.has(inspected.alg))
      throw new TokenError('alg_not_allowed', 'algorithm not allowed')
    const key = await issuer.keys.resolve(inspected.kid, inspected.alg)

    let claims: JWTPayload
    try {
      const result = await jwtVerify(token, key, {
        algorithms: [inspected.alg],
        issuer: issuer.config.issuer,
        audience: issuer.audience,
        clockTolerance: tolerance,
        ...(maxAge !== undefined ? { maxTokenAge: maxAge } : {}),
        requiredClaims: required,
        currentDate: new Date(now),
        ...(typ !== undefined ? { typ } : {}),
        ...(crit.size > 0 ? { crit: Object.fromEntries([...crit].map((c) => [c, true])) } : {}),
      })
      claims = result.payload
    } catch (error) {
      throw fromJose(error)
    }
    const nowS = now / 1000
    if (typeof claims.iat === 'number' && claims.iat > nowS + tolerance)
      throw new TokenError('issued_in_future', 'iat is in the future')
    for (const name of ['exp', 'nbf', 'iat'] as const) {
      const v = claims[name]
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v)))
        throw new TokenError('claim_invalid', `${name} must be a finite number`)
    }
    if (claims.sub !== undefined && (typeof claims.sub !== 'string' || claims.sub === '')) {
      throw new TokenError('claim_invalid', 'sub must be a non-empty string')
    }

    const principal = toPrincipal(claims, issuer.config)
    const entry: CacheEntry = {
      expiresAt: 0,
      issuer: issuer.config.issuer,
      kid: inspected.kid,
      claims,
      principal,
      hit: Object.freeze({
        claims,
        principal,
        issuer: issuer.config.issuer,
        kid: inspected.kid,
        tokenHash,
        cached: true,
      }),
    }
    await afterVerify(entry, now)
    if (cacheOpts) {
      let until = now + cacheTtlMs
      if (typeof claims.exp === 'number') until = Math.min(until, claims.exp * 1000)
      if (maxAge !== undefined && typeof claims.iat === 'number')
        until = Math.min(until, (claims.iat + maxAge) * 1000)
      if (until > now) {
        entry.expiresAt = until
        remember(hash, entry)
        if (rawHash !== undefined && rawHash !== hash) alias(rawHash, hash)
      }
    }
    return {
      claims,
      principal: entry.principal,
      issuer: entry.issuer,
      kid: entry.kid,
      tokenHash,
      cached: false,
    }
  }

  return {
    verify,
    get cacheSize() {
      return cache.size
    },
  }
}

function checkAlgorithms(list: unknown, what: string): void {
  if (!Array.isArray(list) || list.length === 0)
    throw new TypeError(`${what} must list at least one algorithm`)
  for (const a of list)
    if (!ALGORITHMS.has(a)) throw new TypeError(`${what}: unsupported algorithm "${String(a)}"`)
}

function looseInspect(token: string): { alg: string; kid: string; issuer: string } {
  const [h, p] = token.split('.')
  try {
    const header = JSON.parse(new TextDecoder().decode(base64urlLoose(h ?? ''))) as Record<
      string,
      unknown
    >
    const claims = JSON.parse(new TextDecoder().decode(base64urlLoose(p ?? ''))) as Record<
      string,
      unknown
    >
    return {
      alg: String(header.alg),
      kid: String(header.kid ?? '').slice(0, MAX_KID_LENGTH),
      issuer: String(claims.iss),
    }
  } catch {
    throw new TokenError('malformed', 'token is not a JWT')
  }
}

function base64urlLoose(s: string): Uint8Array {
  const b = atob(
    s
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(s.length / 4) * 4, '='),
  )
  return Uint8Array.from(b, (c) => c.charCodeAt(0))
}

const nodeCrypto = (
  globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown }
  }
).process?.getBuiltinModule?.('node:crypto') as
  | {
      hash?: (alg: string, data: string, enc: 'latin1') => string
      createHash(alg: string): { update(s: string): { digest(enc: 'latin1'): string } }
    }
  | undefined

/** SHA-256 of the whole token as a binary string, synchronous where `node:crypto` exists. */
const hashSync: ((token: string) => string) | undefined = nodeCrypto
  ? nodeCrypto.hash
    ? (token) => nodeCrypto.hash!('sha256', token, 'latin1')
    : (token) => nodeCrypto.createHash('sha256').update(token).digest('latin1')
  : undefined

function hashOf(token: string): string | Promise<string> {
  return hashSync ? hashSync(token) : hashAsync(token)
}

function hex(binary: string): string {
  let out = ''
  for (let i = 0; i < binary.length; i++) out += binary.charCodeAt(i).toString(16).padStart(2, '0')
  return out
}

function signatureBytes(segment: string): Uint8Array {
  try {
    return decodeCanonical(segment)
  } catch {
    return new Uint8Array(0)
  }
}

async function hashAsync(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token)))
  let s = ''
  for (const b of digest) s += String.fromCharCode(b)
  return s
}

function fromJose(error: unknown): TokenError {
  if (error instanceof TokenError) return error
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat'
      ? new TokenError('too_old', 'token is too old')
      : new TokenError('expired', 'token expired')
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return new TokenError('typ_invalid', 'unexpected token type')
    if (error.reason === 'missing')
      return new TokenError('claim_missing', `${error.claim} is required`)
    if (error.claim === 'nbf') return new TokenError('not_yet_valid', 'token is not yet valid')
    if (error.claim === 'iat') return new TokenError('issued_in_future', 'iat is in the future')
    if (error.claim === 'aud') return new TokenError('audience_invalid', 'wrong audience')
    if (error.claim === 'iss') return new TokenError('issuer_unknown', 'wrong issuer')
    return new TokenError('claim_invalid', `${error.claim} is invalid`)
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenError('bad_signature', 'signature verification failed')
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenError('alg_not_allowed', 'algorithm not allowed')
  if (error instanceof errors.JOSENotSupported)
    return new TokenError('unsupported', 'unsupported token')
  return new TokenError('malformed', 'token is not a valid JWT')
}

function claimAt(claims: JWTPayload, name: string): unknown {
  return name
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      claims,
    )
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean)
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return []
}

/** Default principal: id from `sub`, roles from `roles`, scopes from `scope`/`scp`, tenant from `tenant`. */
function toPrincipal(claims: JWTPayload, config: IssuerConfig): Principal {
  const base: Principal = {
    id: typeof claims.sub === 'string' ? claims.sub : '',
    kind: 'jwt',
    roles: strings(claimAt(claims, 'roles')),
    scopes: strings(claims.scope ?? claims.scp),
    claims: { ...claims },
  }
  const tenant = claimAt(claims, 'tenant')
  if (typeof tenant === 'string') base.tenant = tenant
  const mapped = config.principal ? config.principal(claims) : {}
  const principal = { ...base, ...mapped, kind: 'jwt' }
  if (!principal.id) throw new TokenError('claim_missing', 'no principal id')
  return principal
}

import { importJWK, type JSONWebKeySet, type JWK } from 'jose'
import { KeysUnavailableError, TokenError } from './errors.js'

type VerifyKey = CryptoKey | Uint8Array

const ALG_KEY: Record<string, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
  HS256: { kty: 'oct' },
  HS384: { kty: 'oct' },
  HS512: { kty: 'oct' },
}

/** Settings of one key source. */
export interface KeySourceOptions {
  issuer: string
  jwks?: JSONWebKeySet
  jwksUri?: string
  discovery?: boolean | string
  cooldownMs: number
  maxAgeMs: number
  timeoutMs: number
  maxBytes: number
  clock: () => number
  fetch: typeof fetch
  /** Called with the kids that left the set (or whose key changed) after a refresh. */
  onKeysRemoved: (kids: string[]) => void
}

/** Allows `https:` anywhere and `http:` only on loopback. */
export function checkKeyUrl(raw: string, what: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new TypeError(`${what} is not a URL`)
  }
  const loopback =
    url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(`${what} must be https (http only on loopback)`)
  }
  return url
}

function fingerprint(jwk: JWK): string {
  const { kty, crv, n, e, x, y, k, alg } = jwk
  return JSON.stringify([kty, crv, n, e, x, y, k, alg])
}

function validSet(value: unknown): Map<string, JWK> {
  if (!value || typeof value !== 'object' || !Array.isArray((value as JSONWebKeySet).keys)) {
    throw new Error('not a JWKS')
  }
  const keys = new Map<string, JWK>()
  for (const k of (value as JSONWebKeySet).keys) {
    if (!k || typeof k !== 'object' || typeof k.kty !== 'string') throw new Error('not a JWKS')
    if (typeof k.kid !== 'string' || k.kid.length === 0) continue
    if (k.use !== undefined && k.use !== 'sig') continue
    if ('d' in k && k.kty !== 'oct') continue
    if (keys.has(k.kid)) keys.set(k.kid, { kty: 'duplicate' })
    else keys.set(k.kid, k)
  }
  return keys
}

/**
 * The verification keys of one issuer: inline, or fetched from a JWKS URL (directly or through
 * OIDC discovery) with a maximum age, a cooldown between fetches, a timeout, and a single fetch
 * in flight at a time.
 */
export class KeySource {
  private keys: Map<string, JWK> | undefined
  private imported = new Map<string, Promise<VerifyKey>>()
  private fetchedAt = -Infinity
  private lastAttempt = -Infinity
  private inflight: Promise<void> | undefined
  private jwksUrl: URL | undefined
  private readonly remote: boolean

  constructor(private readonly o: KeySourceOptions) {
    const sources = [
      o.jwks !== undefined,
      o.jwksUri !== undefined,
      o.discovery !== undefined && o.discovery !== false,
    ]
    if (sources.filter(Boolean).length !== 1) {
      throw new TypeError(`issuer "${o.issuer}": give exactly one of jwks, jwksUri or discovery`)
    }
    if (o.jwks !== undefined) {
      try {
        this.keys = validSet(o.jwks)
      } catch {
        throw new TypeError(`issuer "${o.issuer}": jwks is not a JSON Web Key Set`)
      }
      this.fetchedAt = Infinity
    }
    if (o.jwksUri !== undefined)
      this.jwksUrl = checkKeyUrl(o.jwksUri, `issuer "${o.issuer}": jwksUri`)
    if (typeof o.discovery === 'string') checkKeyUrl(o.discovery, `issuer "${o.issuer}": discovery`)
    if (o.discovery === true) checkKeyUrl(o.issuer, `issuer "${o.issuer}" (for discovery)`)
    this.remote = o.jwks === undefined
  }

  /** The key for `kid`, usable with `alg`; refreshes a remote set when stale or when the kid is unknown. */
  async resolve(kid: string, alg: string): Promise<VerifyKey> {
    const now = this.o.clock()
    if (this.remote && now - this.fetchedAt >= this.o.maxAgeMs) {
      if (this.inflight) await this.inflight
      else if (now - this.lastAttempt >= this.o.cooldownMs) await this.refresh()
      if (!this.keys || this.o.clock() - this.fetchedAt >= this.o.maxAgeMs)
        throw new KeysUnavailableError()
    }
    let jwk = this.keys!.get(kid)
    if (!jwk && this.remote && this.o.clock() - this.lastAttempt >= this.o.cooldownMs) {
      await this.refresh()
      jwk = this.keys?.get(kid)
    }
    if (!jwk) throw new TokenError('kid_unknown', 'no key with this kid')
    const want = ALG_KEY[alg]
    if (!want || jwk.kty !== want.kty || (want.crv !== undefined && jwk.crv !== want.crv)) {
      throw new TokenError('alg_not_allowed', 'algorithm does not fit the key')
    }
    if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === 'Ed25519' && jwk.alg === 'EdDSA')) {
      throw new TokenError('alg_not_allowed', 'algorithm does not fit the key')
    }
    const cacheKey = `${kid}\u0000${alg}`
    let key = this.imported.get(cacheKey)
    if (!key) {
      key = importJWK(jwk, alg) as Promise<VerifyKey>
      key.catch(() => this.imported.delete(cacheKey))
      this.imported.set(cacheKey, key)
    }
    try {
      return await key
    } catch {
      throw new TokenError('kid_invalid', 'the key for this kid cannot be used')
    }
  }

  /** Fetches the set now unless a fetch is in flight (then waits for that one). Never throws. */
  refresh(): Promise<void> {
    if (!this.remote) return Promise.resolve()
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async load(): Promise<void> {
    this.lastAttempt = this.o.clock()
    let next: Map<string, JWK>
    try {
      if (!this.jwksUrl) this.jwksUrl = await this.discover()
      next = validSet(await this.getJson(this.jwksUrl))
    } catch {
      return
    }
    const previous = this.keys
    this.keys = next
    this.fetchedAt = this.o.clock()
    if (!previous) return
    const removed: string[] = []
    for (const [kid, jwk] of previous) {
      const now = next.get(kid)
      if (!now || fingerprint(now) !== fingerprint(jwk)) removed.push(kid)
    }
    if (removed.length === 0) return
    for (const k of [...this.imported.keys()])
      if (removed.includes(k.split('\u0000')[0]!)) this.imported.delete(k)
    this.o.onKeysRemoved(removed)
  }

  private async discover(): Promise<URL> {
    const where =
      typeof this.o.discovery === 'string'
        ? this.o.discovery
        : `${this.o.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
    const doc = (await this.getJson(new URL(where))) as { issuer?: unknown; jwks_uri?: unknown }
    if (!doc || doc.issuer !== this.o.issuer || typeof doc.jwks_uri !== 'string')
      throw new Error('bad discovery document')
    return checkKeyUrl(doc.jwks_uri, 'jwks_uri')
  }

  private async getJson(url: URL): Promise<unknown> {
    const res = await this.o.fetch(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.o.timeoutMs),
    })
    if (!res.ok) {
      await res.body?.cancel()
      throw new Error(`status ${res.status}`)
    }
    const reader = res.body?.getReader()
    if (!reader) throw new Error('empty body')
    const chunks: Uint8Array[] = []
    let size = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > this.o.maxBytes) {
        await reader.cancel()
        throw new Error('too large')
      }
      chunks.push(value)
    }
    const bytes = new Uint8Array(size)
    let o = 0
    for (const c of chunks) {
      bytes.set(c, o)
      o += c.byteLength
    }
    return JSON.parse(new TextDecoder().decode(bytes))
  }
}

import {
  compactDecrypt,
  CompactEncrypt,
  importJWK,
  type CompactJWEHeaderParameters,
  type JWK,
} from 'jose'
import { checkOptionKeys, MemoryStore, type KeyValueStore } from '@modelgate/core'
import { JweError } from '../errors.js'
import type { DecryptionKey, KeyManagementAlgorithm, ReplayOptions } from '../types.js'

const KEY_MANAGEMENT_ALGORITHMS: readonly KeyManagementAlgorithm[] = [
  'ECDH-ES+A256KW',
  'RSA-OAEP-256',
  'dir',
]
export const DEFAULT_MAX_JWE_BYTES = 1024 * 1024
const MAX_HEADER_CHARS = 8192
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521'])
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const decoder = new TextDecoder('utf-8', { fatal: true })

interface PolicyKey {
  alg: KeyManagementAlgorithm
  jwk: JWK
  crv: string | undefined
  imported: Promise<CryptoKey | Uint8Array> | undefined
}

/** Validated decryption keys and allowlists. */
interface JwePolicy {
  keys: Map<string, PolicyKey>
  algorithms: Set<KeyManagementAlgorithm>
  maxBytes: number
}

function b64urlDecode(s: string): Uint8Array {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

/** Checks keys and options once; throws TypeError on anything unusable. */
function createJwePolicy(
  where: string,
  keys: readonly DecryptionKey[],
  algorithms: readonly KeyManagementAlgorithm[] = KEY_MANAGEMENT_ALGORITHMS,
  maxBytes = DEFAULT_MAX_JWE_BYTES,
): JwePolicy {
  if (!Array.isArray(keys) || keys.length === 0)
    throw new TypeError(`${where}: keys must list at least one JWK`)
  if (!Array.isArray(algorithms) || algorithms.length === 0)
    throw new TypeError(`${where}: algorithms must not be empty`)
  for (const a of algorithms) {
    if (!KEY_MANAGEMENT_ALGORITHMS.includes(a))
      throw new TypeError(`${where}: algorithm "${String(a)}" is not supported`)
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 64)
    throw new TypeError(`${where}: maxBytes must be an integer >= 64`)
  const map = new Map<string, PolicyKey>()
  keys.forEach((jwk, i) => {
    const at = `${where}: keys[${i}]`
    if (!jwk || typeof jwk !== 'object') throw new TypeError(`${at} must be a JWK object`)
    if (typeof jwk.kid !== 'string' || jwk.kid === '' || jwk.kid.length > 256)
      throw new TypeError(`${at} needs a kid`)
    if (map.has(jwk.kid)) throw new TypeError(`${at}: duplicate kid "${jwk.kid}"`)
    if (!KEY_MANAGEMENT_ALGORITHMS.includes(jwk.alg))
      throw new TypeError(`${at}: alg must be one of ${KEY_MANAGEMENT_ALGORITHMS.join(', ')}`)
    if (!algorithms.includes(jwk.alg))
      throw new TypeError(`${at}: alg "${jwk.alg}" is not in algorithms`)
    checkKeyShape(jwk, at, true)
    map.set(jwk.kid, { alg: jwk.alg, jwk, crv: jwk.crv, imported: undefined })
  })
  return { keys: map, algorithms: new Set(algorithms), maxBytes }
}

/** @internal Throws TypeError when a JWK does not fit its `alg` (or is private when it should not be). */
export function checkKeyShape(jwk: JWK, at: string, wantPrivate: boolean): void {
  const alg = jwk.alg
  if (alg === 'dir') {
    if (jwk.kty !== 'oct' || typeof jwk.k !== 'string' || b64urlDecode(jwk.k).length !== 32) {
      throw new TypeError(`${at}: dir needs a 256-bit oct key`)
    }
    return
  }
  if (alg === 'RSA-OAEP-256') {
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string')
      throw new TypeError(`${at}: RSA-OAEP-256 needs an RSA key`)
    const n = b64urlDecode(jwk.n)
    if (n.length < 256) throw new TypeError(`${at}: RSA keys must have at least 2048 bits`)
    const e = typeof jwk.e === 'string' ? b64urlDecode(jwk.e) : new Uint8Array(0)
    const odd = (b: Uint8Array) => b.length > 0 && (b[b.length - 1]! & 1) === 1
    if (!odd(n) || !odd(e) || e.length > 8 || (e.length === 1 && e[0]! < 3))
      throw new TypeError(`${at}: not an RSA public key (odd modulus, odd exponent >= 3)`)
  } else if (alg === 'ECDH-ES+A256KW') {
    const ok =
      (jwk.kty === 'EC' && EC_CURVES.has(jwk.crv ?? '')) ||
      (jwk.kty === 'OKP' && jwk.crv === 'X25519')
    if (!ok) throw new TypeError(`${at}: ECDH-ES+A256KW needs an EC P-256/384/521 or X25519 key`)
  }
  const isPrivate = typeof jwk.d === 'string'
  if (wantPrivate && !isPrivate) throw new TypeError(`${at} must be a private key`)
  if (!wantPrivate && PRIVATE_MEMBERS.some((m) => m in jwk))
    throw new TypeError(`${at} must be a public key`)
}

function importKey(key: PolicyKey): Promise<CryptoKey | Uint8Array> {
  const { key_ops: _ops, use: _use, ext: _ext, ...jwk } = key.jwk
  key.imported ??= importJWK({ ...jwk, alg: key.alg }, key.alg)
  return key.imported
}

/**
 * A decrypted JWE: its plaintext, its (authenticated) protected header, and the gate key that
 * opened it.
 *
 * @example
 * ```ts
 * const { plaintext, header, kid } = await open(jwe)
 * ```
 */
export interface OpenedJwe {
  plaintext: Uint8Array
  header: CompactJWEHeaderParameters
  kid: string
  alg: KeyManagementAlgorithm
}

/**
 * Decrypts a compact JWE under the policy. Every structural and allowlist check runs before any
 * cryptography; failures of the cryptography itself collapse to one generic error.
 */
async function openJwe(input: string | Uint8Array, policy: JwePolicy): Promise<OpenedJwe> {
  const length = typeof input === 'string' ? input.length : input.byteLength
  if (length > policy.maxBytes)
    throw new JweError('jwe_too_large', `JWE exceeds ${policy.maxBytes} bytes`, 413)
  let text: string
  try {
    text = (typeof input === 'string' ? input : decoder.decode(input)).trim()
  } catch {
    throw new JweError('jwe_malformed', 'body is not a compact JWE')
  }
  if (!COMPACT.test(text)) throw new JweError('jwe_malformed', 'body is not a compact JWE')
  const [protectedB64, encryptedKey, iv, , tag] = text.split('.') as [
    string,
    string,
    string,
    string,
    string,
  ]
  if (protectedB64.length > MAX_HEADER_CHARS)
    throw new JweError('jwe_malformed', 'JWE header is too large')
  let header: Record<string, unknown>
  try {
    header = JSON.parse(decoder.decode(b64urlDecode(protectedB64))) as Record<string, unknown>
  } catch {
    throw new JweError('jwe_malformed', 'JWE header is not JSON')
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new JweError('jwe_malformed', 'JWE header is not an object')
  if ('zip' in header) throw new JweError('jwe_zip_not_allowed', 'compressed JWEs are refused')
  if ('crit' in header)
    throw new JweError('jwe_crit_not_allowed', 'JWEs with critical extensions are refused')
  const alg = header.alg
  if (typeof alg !== 'string' || !policy.algorithms.has(alg as KeyManagementAlgorithm)) {
    throw new JweError('jwe_alg_not_allowed', 'key management algorithm not allowed')
  }
  if (header.enc !== 'A256GCM')
    throw new JweError('jwe_enc_not_allowed', 'content encryption must be A256GCM')
  const kid = header.kid
  const key = typeof kid === 'string' ? policy.keys.get(kid) : undefined
  if (!key) throw new JweError('jwe_unknown_kid', 'unknown or missing kid')
  if (key.alg !== alg)
    throw new JweError('jwe_alg_mismatch', 'algorithm does not match the key named by kid')
  if ((alg === 'dir') !== (encryptedKey === ''))
    throw new JweError('jwe_malformed', 'encrypted key does not fit the algorithm')
  if (!/^[A-Za-z0-9_-]{16}$/.test(iv) || !/^[A-Za-z0-9_-]{22}$/.test(tag)) {
    throw new JweError('jwe_malformed', 'A256GCM needs a 96-bit IV and a 128-bit tag')
  }
  if (alg === 'ECDH-ES+A256KW') {
    const epk = header.epk as Record<string, unknown> | undefined
    if (
      !epk ||
      typeof epk !== 'object' ||
      epk.crv !== key.crv ||
      PRIVATE_MEMBERS.some((m) => m in epk)
    ) {
      throw new JweError('jwe_malformed', 'epk is missing or does not match the key curve')
    }
  }
  let result
  try {
    result = await compactDecrypt(text, await importKey(key), {
      keyManagementAlgorithms: [key.alg],
      contentEncryptionAlgorithms: ['A256GCM'],
      maxDecompressedLength: 0,
    })
  } catch {
    throw new JweError('jwe_decrypt_failed', 'the JWE could not be decrypted')
  }
  return {
    plaintext: result.plaintext,
    header: result.protectedHeader,
    kid: key.jwk.kid!,
    alg: key.alg,
  }
}

/**
 * Options of {@link createJweDecryptor}: the decrypt plugin's policy without the HTTP parts.
 *
 * @example
 * ```ts
 * const o: JweDecryptorOptions = { keys: [gateJwk], replay: { windowSeconds: 120 } }
 * ```
 */
export interface JweDecryptorOptions {
  /** Private keys, each with a unique `kid` and its `alg`. At least one. */
  keys: DecryptionKey[]
  /** Accepted key management algorithms. Default: all three. */
  algorithms?: KeyManagementAlgorithm[]
  /** Largest JWE in bytes, checked before any cryptography. Default 1 MiB. */
  maxBytes?: number
  /** `jti` + `iat` checks (a `MemoryStore` and 300 s by default); `false` turns them off. */
  replay?: ReplayOptions | false
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number
}

/**
 * Opens one compact JWE. `beforeFreshness` sees the authenticated header after decryption and
 * before its `jti` is spent (the decrypt plugin checks `htm`/`htp` there).
 *
 * @example
 * ```ts
 * const { plaintext } = await open(jwe)
 * ```
 */
export type JweDecryptor = (
  jwe: string | Uint8Array,
  beforeFreshness?: (opened: OpenedJwe) => void,
) => Promise<OpenedJwe>

/**
 * Decrypts compact JWEs with exactly the decrypt plugin's policy (size limit, allowlists, `kid`
 * bound to its key's `alg`, `jti` used once and `iat` within the window), for code outside a
 * gate: a queue worker, an audit tool, `modelgate jwe decrypt`. Refusals are {@link JweError}s
 * with the plugin's codes; bad options throw a TypeError here.
 *
 * @example
 * ```ts
 * const open = createJweDecryptor({ keys: [gateJwk] })
 * const { plaintext, header } = await open(jwe)
 * ```
 */
export function createJweDecryptor(
  options: JweDecryptorOptions,
  where = 'createJweDecryptor',
): JweDecryptor {
  if (!options || typeof options !== 'object') throw new TypeError(`${where}: options are required`)
  checkOptionKeys(where, options, {
    keys: true,
    algorithms: true,
    maxBytes: true,
    replay: { store: true, windowSeconds: true },
    clock: true,
  })
  const policy = createJwePolicy(where, options.keys, options.algorithms, options.maxBytes)
  const replay = options.replay === false ? undefined : (options.replay ?? {})
  const windowSeconds = replay?.windowSeconds ?? 300
  if (replay && (!Number.isFinite(windowSeconds) || windowSeconds < 1 || windowSeconds > 86_400)) {
    throw new TypeError(`${where}: replay.windowSeconds must be between 1 and 86400`)
  }
  const store: KeyValueStore | undefined = replay
    ? (replay.store ?? new MemoryStore({ maxEntries: 1_000_000 }))
    : undefined
  const clock = options.clock ?? Date.now
  return async (jwe, beforeFreshness) => {
    const opened = await openJwe(jwe, policy)
    beforeFreshness?.(opened)
    if (replay)
      await checkFreshness(opened.header, {
        store,
        windowSeconds,
        nowMs: clock(),
        scope: opened.kid,
      })
    return opened
  }
}

/** Enforces `iat` within the window and single use of `jti`. */
async function checkFreshness(
  header: CompactJWEHeaderParameters,
  options: {
    store: KeyValueStore | undefined
    windowSeconds: number
    nowMs: number
    scope: string
  },
): Promise<void> {
  const { iat, jti } = header as { iat?: unknown; jti?: unknown }
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw new JweError('jwe_stale', 'protected header needs a numeric iat')
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128)
    throw new JweError('jwe_stale', 'protected header needs a jti of 8 to 128 characters')
  if (Math.abs(options.nowMs / 1000 - iat) > options.windowSeconds)
    throw new JweError('jwe_stale', 'iat is outside the accepted window')
  if (!options.store) return
  const fresh = await options.store.setIfAbsent(
    `jwe-jti:${options.scope}:${jti}`,
    '1',
    options.windowSeconds * 2000 + 1000,
  )
  if (!fresh) throw new JweError('jwe_replayed', 'this JWE was already used')
}

/**
 * Options of {@link encryptJwe}.
 *
 * @example
 * ```ts
 * const o: EncryptJweOptions = { key: gatePublicJwk, plaintext: new TextEncoder().encode('{}') }
 * ```
 */
export interface EncryptJweOptions {
  /** Recipient key with `kid` and `alg` (public for ECDH-ES+A256KW and RSA-OAEP-256; oct for dir). */
  key: JWK & { kid: string; alg: KeyManagementAlgorithm }
  plaintext: Uint8Array | string
  /** Default `application/json`. */
  cty?: string
  /** Default a random UUID. */
  jti?: string
  /** Seconds since the epoch. Default now. */
  iat?: number
  /** More protected header members (`rjwk`, `rkid`, …). */
  header?: Record<string, unknown>
}

/**
 * Encrypts to a compact JWE the way the gate expects: `A256GCM`, the key's `alg` and `kid`,
 * and `jti` + `iat` in the protected header.
 *
 * @example
 * ```ts
 * const jwe = await encryptJwe({ key: gatePublicJwk, plaintext: JSON.stringify({ instances: [{ income: 1 }] }) })
 * ```
 */
export async function encryptJwe(options: EncryptJweOptions): Promise<string> {
  const { key } = options
  if (!key || !KEY_MANAGEMENT_ALGORITHMS.includes(key.alg) || typeof key.kid !== 'string') {
    throw new TypeError('encryptJwe: key needs kid and one of the supported algs')
  }
  checkKeyShape(key.alg === 'dir' ? key : publicPart(key), 'encryptJwe: key', false)
  const publicKey = key.alg === 'dir' ? key : publicPart(key)
  const plaintext =
    typeof options.plaintext === 'string'
      ? new TextEncoder().encode(options.plaintext)
      : options.plaintext
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      ...options.header,
      alg: key.alg,
      enc: 'A256GCM',
      kid: key.kid,
      cty: options.cty ?? 'application/json',
      jti: options.jti ?? crypto.randomUUID(),
      iat: options.iat ?? Math.floor(Date.now() / 1000),
    })
    .encrypt(await importJWK(publicKey, key.alg))
}

/** @internal The public members of an asymmetric JWK. */
export function publicPart(jwk: JWK): JWK {
  const out: JWK = {}
  for (const [k, v] of Object.entries(jwk))
    if (!PRIVATE_MEMBERS.includes(k) && k !== 'key_ops' && k !== 'ext')
      (out as Record<string, unknown>)[k] = v
  return out
}

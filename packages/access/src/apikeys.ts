import { checkOptionKeys } from '@modelgate/core'
import { base64url } from 'jose'
import type { ApiKeyOptions, ApiKeyPrincipal, ApiKeyRecord } from './types.js'

const encoder = new TextEncoder()
const KEY_FORMAT = /^mg_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/
const MIN_PEPPER_BYTES = 32

function pepperBytes(pepper: string | Uint8Array): Uint8Array {
  const bytes = typeof pepper === 'string' ? encoder.encode(pepper) : pepper
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < MIN_PEPPER_BYTES) {
    throw new TypeError(`apiKeys.pepper must be at least ${MIN_PEPPER_BYTES} bytes`)
  }
  return bytes
}

async function hmacKey(pepper: string | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    pepperBytes(pepper) as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
}

async function digest(key: CryptoKey, salt: Uint8Array, secret: string): Promise<Uint8Array> {
  const secretBytes = encoder.encode(secret)
  const message = new Uint8Array(salt.byteLength + secretBytes.byteLength)
  message.set(salt)
  message.set(secretBytes, salt.byteLength)
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message))
}

/** Compares two byte strings in time that depends only on their length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.byteLength ^ b.byteLength
  const n = Math.max(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

function randomAlnum(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const out: string[] = []
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < length) out.push(alphabet[b % 62]!)
    }
  }
  return out.join('')
}

/**
 * Creates an API key for a principal. `key` is shown to its owner once and never stored; `record`
 * (salt + HMAC-SHA-256 under the server pepper) is what you store. Keys look like
 * `mg_<16-char id>_<43-char secret>` (256 random bits).
 *
 * @example
 * ```ts
 * const { key, record } = await createApiKey({
 *   pepper: process.env.API_KEY_PEPPER!,
 *   principal: { id: 'batch-scorer', roles: ['service'], scopes: ['predict'], tenant: 'acme' },
 *   expiresAt: Date.now() + 90 * 86_400_000,
 * })
 * ```
 */
export async function createApiKey(options: {
  pepper: string | Uint8Array
  principal: ApiKeyPrincipal
  notBefore?: number
  expiresAt?: number
}): Promise<{ key: string; record: ApiKeyRecord }> {
  checkOptionKeys('createApiKey', options, {
    pepper: true,
    principal: { id: true, roles: true, scopes: true, tenant: true, claims: true },
    notBefore: true,
    expiresAt: true,
  })
  if (
    !options?.principal ||
    typeof options.principal.id !== 'string' ||
    options.principal.id === ''
  ) {
    throw new TypeError('createApiKey needs principal.id')
  }
  const hmac = await hmacKey(options.pepper)
  const id = randomAlnum(16)
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const record: ApiKeyRecord = {
    id,
    salt: base64url.encode(salt),
    hash: base64url.encode(await digest(hmac, salt, secret)),
    principal: structuredClone(options.principal),
  }
  if (options.notBefore !== undefined) record.notBefore = options.notBefore
  if (options.expiresAt !== undefined) record.expiresAt = options.expiresAt
  return { key: `mg_${id}_${secret}`, record }
}

/**
 * Rotates a key with overlap: returns a new key for the same principal and the old record with
 * `expiresAt` set to `now + overlapMs`, so clients can switch over before the old key stops working.
 * Store both records.
 *
 * @example
 * ```ts
 * const { key, record, previous } = await rotateApiKey(oldRecord, { pepper, overlapMs: 7 * 86_400_000 })
 * await db.put(record)
 * await db.put(previous)
 * ```
 */
export async function rotateApiKey(
  old: ApiKeyRecord,
  options: { pepper: string | Uint8Array; overlapMs: number; now?: number; expiresAt?: number },
): Promise<{ key: string; record: ApiKeyRecord; previous: ApiKeyRecord }> {
  if (!Number.isFinite(options.overlapMs) || options.overlapMs < 0)
    throw new TypeError('overlapMs must be ≥ 0')
  const now = options.now ?? Date.now()
  const fresh = await createApiKey({
    pepper: options.pepper,
    principal: old.principal,
    ...(options.expiresAt !== undefined ? { expiresAt: options.expiresAt } : {}),
  })
  const end = now + options.overlapMs
  const previous: ApiKeyRecord = { ...old, expiresAt: Math.min(old.expiresAt ?? Infinity, end) }
  return { ...fresh, previous }
}

/**
 * Checks presented API keys against stored records. Resolves to the record's principal, or
 * `undefined` for an unknown, wrong, not-yet-valid or expired key.
 *
 * @example
 * ```ts
 * const check = createApiKeyVerifier({ pepper, records })
 * const principal = await check(request.headers.get('x-api-key')!)
 * ```
 */
export function createApiKeyVerifier(
  options: ApiKeyOptions,
  clock: () => number = Date.now,
): (presented: string) => Promise<ApiKeyPrincipal | undefined> {
  checkOptionKeys('createApiKeyVerifier', options, { pepper: true, records: true, header: true })
  pepperBytes(options.pepper)
  const hmac = hmacKey(options.pepper)
  let lookup: (id: string) => Promise<ApiKeyRecord | undefined>
  if (Array.isArray(options.records)) {
    const byId = new Map<string, ApiKeyRecord>()
    for (const r of options.records) {
      if (
        !r ||
        typeof r.id !== 'string' ||
        typeof r.salt !== 'string' ||
        typeof r.hash !== 'string' ||
        !r.principal?.id
      ) {
        throw new TypeError('apiKeys.records: every record needs id, salt, hash and principal.id')
      }
      if (byId.has(r.id)) throw new TypeError(`apiKeys.records: duplicate key id "${r.id}"`)
      byId.set(r.id, r)
    }
    lookup = async (id) => byId.get(id)
  } else if (typeof options.records === 'function') {
    lookup = options.records
  } else {
    throw new TypeError('apiKeys.records must be an array or a lookup function')
  }
  const dummySalt = new Uint8Array(16)
  return async function checkApiKey(presented) {
    const m = KEY_FORMAT.exec(presented)
    if (!m) return undefined
    const record = await lookup(m[1]!)
    const salt = record ? base64url.decode(record.salt) : dummySalt
    const actual = await digest(await hmac, salt, m[2]!)
    if (!record) return undefined
    if (!constantTimeEqual(actual, base64url.decode(record.hash))) return undefined
    const now = clock()
    if (record.notBefore !== undefined && now < record.notBefore) return undefined
    if (record.expiresAt !== undefined && now >= record.expiresAt) return undefined
    return record.principal
  }
}

import { MemoryStore, type KeyValueStore } from '@modelgate/core'
import {
  b64url,
  decodeKey,
  deriveKeys,
  fromB64url,
  hmac,
  open,
  seal,
  toHex,
  type KeyRing,
} from './keys.js'
import type { KeyInput } from './types.js'

/**
 * Options of {@link TokenVault}.
 *
 * @example
 * ```ts
 * const opts: TokenVaultOptions = { key: process.env.MASK_KEY!, store: new MemoryStore() }
 * ```
 */
export interface TokenVaultOptions {
  key: KeyInput
  /** Any core `KeyValueStore` (in-memory default, Redis through `@modelgate/store-redis`). */
  store?: KeyValueStore
  ttlMs?: number
}

/** Matches pseudonym tokens as {@link TokenVault.tokenize} writes them. */
export const TOKEN_PATTERN = /\b[A-Z][A-Z0-9_]{0,40}_[0-9a-f]{16}(?:[0-9a-f]{16}){0,3}\b/g

/**
 * Reversible pseudonyms. A token is `PREFIX_` plus 16 hex digits of a keyed HMAC of tenant, type
 * and value: deterministic per tenant, different across tenants. The original value is kept in
 * the store sealed with AES-256-GCM (never in clear); a token collision (odds about n²/2⁶⁵ for n
 * values) is detected on insert and answered with a longer token.
 *
 * @example
 * ```ts
 * const vault = new TokenVault({ key })
 * const token = await vault.tokenize('ana@example.org', { type: 'EMAIL_ADDRESS', tenant: 'acme' })
 * // 'EMAIL_ADDRESS_3f7c0e9a12b45d60'
 * await vault.detokenize(token, { tenant: 'acme' }) // 'ana@example.org'
 * ```
 */
export class TokenVault {
  readonly store: KeyValueStore
  private readonly keys: Promise<KeyRing>
  private readonly ttlMs: number | undefined

  constructor(options: TokenVaultOptions) {
    if (!options || options.key === undefined) throw new TypeError('TokenVault needs a key')
    const raw = decodeKey(options.key, 'vault key')
    if (options.store !== undefined && typeof options.store?.setIfAbsent !== 'function') {
      throw new TypeError('TokenVault store must implement KeyValueStore')
    }
    this.store = options.store ?? new MemoryStore()
    this.ttlMs = options.ttlMs
    this.keys = deriveKeys(raw)
    this.keys.catch(() => undefined)
  }

  /** The deterministic token of a value, without storing it. */
  async token(
    value: string,
    options: { type?: string; tenant?: string; prefix?: string } = {},
    bytes = 8,
  ): Promise<string> {
    const k = await this.keys
    const mac = await hmac(k.pseudonym, options.tenant ?? 'default', options.type ?? 'VALUE', value)
    return `${options.prefix ?? options.type ?? 'TOKEN'}_${toHex(mac.subarray(0, bytes))}`
  }

  /** Returns the value's token and records the mapping (sealed) in the store. */
  async tokenize(
    value: string,
    options: { type?: string; tenant?: string; prefix?: string } = {},
  ): Promise<string> {
    const tenant = options.tenant ?? 'default'
    const k = await this.keys
    for (const bytes of [8, 16, 32]) {
      const token = await this.token(value, options, bytes)
      const key = `mask:vault:${tenant}:${token}`
      const sealed = b64url(await seal(k.seal, value, key))
      if (await this.store.setIfAbsent(key, sealed, this.ttlMs)) return token
      const existing = await this.store.get(key)
      if (existing !== undefined && (await open(k.seal, fromB64url(existing), key)) === value)
        return token
    }
    throw new Error('token vault: unresolvable collision')
  }

  /** The original value of a token of this tenant, or undefined. */
  async detokenize(token: string, options: { tenant?: string } = {}): Promise<string | undefined> {
    const key = `mask:vault:${options.tenant ?? 'default'}:${token}`
    const stored = await this.store.get(key)
    if (stored === undefined) return undefined
    return open((await this.keys).seal, fromB64url(stored), key)
  }
}

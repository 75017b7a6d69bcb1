import { checkOptionKeys, MemoryStore, type KeyValueStore } from '@modelgate/core'
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
import type { KeyInput, TokenOrigin } from './types.js'

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

/**
 * What {@link TokenVault.tokenize} is told about a value: its entity type and tenant, and where
 * it was found (`field`, `text`) in which request or conversation (`scope`).
 *
 * @example
 * ```ts
 * const made: TokenizeOptions = { type: 'EMAIL_ADDRESS', tenant: 'acme', field: 'note', text: true, scope: 'conversation:7d1e' }
 * ```
 */
export interface TokenizeOptions {
  type?: string
  tenant?: string
  /** Token prefix instead of the type (upper-case letters, digits and `_`). */
  prefix?: string
  field?: string
  text?: boolean
  /** Records the token under this scope only: it resolves only when looked up in the same scope. */
  scope?: string
}

/**
 * A vault record: the original value and every origin the token was made for.
 *
 * @example
 * ```ts
 * const record = await vault.lookup(token, { tenant: 'acme', scope: 'conversation:7d1e' })
 * if (record && record.origins.some((o) => grants.has(o.type))) show(record.value)
 * ```
 */
export interface VaultRecord {
  value: string
  origins: TokenOrigin[]
}

/** Matches pseudonym tokens as {@link TokenVault.tokenize} writes them. */
export const TOKEN_PATTERN = /\b[A-Z][A-Z0-9_]{0,40}_[0-9a-f]{16}(?:[0-9a-f]{16}){0,3}\b/g

const PREFIX = /^[A-Z][A-Z0-9_]{0,40}$/
const GLOBAL_SCOPE = 'global'

/**
 * Reversible pseudonyms. A token is `PREFIX_` plus 16 hex digits of a keyed HMAC of tenant, type,
 * value and, when given, the field it was found in (whole, or in its free text): deterministic
 * per tenant and field, different across tenants and fields, so one token stands for one origin.
 * The vault record keeps the
 * original value and the token's origins (entity type, field, free text or not), sealed with
 * AES-256-GCM under the record's key (tenant, scope, token) as AAD, so it holds no clear value
 * and cannot be moved to another tenant or scope. Records made with a `scope` (a request or a
 * conversation) resolve only in that scope. A token collision (odds about n²/2⁶⁵ for n values)
 * is detected on insert and answered with a longer token.
 *
 * @example
 * ```ts
 * const vault = new TokenVault({ key })
 * const token = await vault.tokenize('ana@example.org', { type: 'EMAIL_ADDRESS', tenant: 'acme', field: 'email', scope: 'conversation:7d1e' })
 * // 'EMAIL_ADDRESS_3f7c0e9a12b45d60'
 * await vault.lookup(token, { tenant: 'acme', scope: 'conversation:7d1e' })
 * // { value: 'ana@example.org', origins: [{ tenant: 'acme', type: 'EMAIL_ADDRESS', field: 'email', scope: 'conversation:7d1e' }] }
 * await vault.detokenize(token, { tenant: 'acme', scope: 'conversation:other' }) // undefined
 * ```
 */
export class TokenVault {
  readonly store: KeyValueStore
  private readonly keys: Promise<KeyRing>
  private readonly ttlMs: number | undefined

  constructor(options: TokenVaultOptions) {
    if (!options || options.key === undefined) throw new TypeError('TokenVault needs a key')
    checkOptionKeys('TokenVault', options, { key: true, store: true, ttlMs: true })
    const raw = decodeKey(options.key, 'vault key')
    if (options.store !== undefined && typeof options.store?.setIfAbsent !== 'function') {
      throw new TypeError('TokenVault store must implement KeyValueStore')
    }
    if (options.ttlMs !== undefined && !(typeof options.ttlMs === 'number' && options.ttlMs > 0))
      throw new TypeError('TokenVault ttlMs must be a positive number')
    this.store = options.store ?? new MemoryStore()
    this.ttlMs = options.ttlMs
    this.keys = deriveKeys(raw)
    this.keys.catch(() => undefined)
  }

  /**
   * The deterministic token of a value, without storing it: the same for the same tenant, type,
   * field (whole, or free text of it) and value, different when any of them differs.
   */
  async token(
    value: string,
    options: Omit<TokenizeOptions, 'scope'> = {},
    bytes = 8,
  ): Promise<string> {
    const prefix = options.prefix ?? options.type ?? 'TOKEN'
    if (!PREFIX.test(prefix))
      throw new TypeError('a token prefix must be upper-case letters, digits and _')
    const k = await this.keys
    const parts = [options.tenant ?? 'default', options.type ?? 'VALUE', value]
    if (options.field !== undefined)
      parts.push(`${options.text ? 'text' : 'field'}:${options.field}`)
    const mac = await hmac(k.pseudonym, ...parts)
    return `${prefix}_${toHex(mac.subarray(0, bytes))}`
  }

  /** Returns the value's token and records the value and this origin (sealed) in the store. */
  async tokenize(value: string, options: TokenizeOptions = {}): Promise<string> {
    const tenant = options.tenant ?? 'default'
    const origin: TokenOrigin = {
      tenant,
      type: options.type ?? 'VALUE',
      ...(options.field !== undefined ? { field: options.field } : {}),
      ...(options.text ? { text: true } : {}),
      scope: options.scope ?? GLOBAL_SCOPE,
    }
    const k = await this.keys
    for (const bytes of [8, 16, 32]) {
      const token = await this.token(value, options, bytes)
      const key = recordKey(tenant, options.scope, token)
      const sealed = async (origins: TokenOrigin[]) =>
        b64url(await seal(k.seal, JSON.stringify({ v: value, o: origins.map(pack) }), key))
      if (await this.store.setIfAbsent(key, await sealed([origin]), this.ttlMs)) return token
      const existing = await this.read(key, tenant, options.scope)
      if (existing === undefined || existing.value !== value) continue
      if (!existing.origins.some((o) => pack(o) === pack(origin)))
        await this.store.set(key, await sealed([...existing.origins, origin]), this.ttlMs)
      return token
    }
    throw new Error('token vault: unresolvable collision')
  }

  /** The value and origins of a token of this tenant made in `scope` (or with none), or undefined. */
  lookup(
    token: string,
    options: { tenant?: string; scope?: string } = {},
  ): Promise<VaultRecord | undefined> {
    const tenant = options.tenant ?? 'default'
    return this.read(recordKey(tenant, options.scope, token), tenant, options.scope)
  }

  /** The original value of a token of this tenant made in `scope` (or with none), or undefined. */
  async detokenize(
    token: string,
    options: { tenant?: string; scope?: string } = {},
  ): Promise<string | undefined> {
    return (await this.lookup(token, options))?.value
  }

  private async read(
    key: string,
    tenant: string,
    scope: string | undefined,
  ): Promise<VaultRecord | undefined> {
    const stored = await this.store.get(key)
    if (stored === undefined) return undefined
    const json = await open((await this.keys).seal, fromB64url(stored), key)
    if (json === undefined) return undefined
    const record = JSON.parse(json) as { v: string; o: string[] }
    return {
      value: record.v,
      origins: record.o.map((o) => unpack(o, tenant, scope ?? GLOBAL_SCOPE)),
    }
  }
}

function recordKey(tenant: string, scope: string | undefined, token: string): string {
  return scope === undefined
    ? `mask:vault:${tenant}:${token}`
    : `mask:vault-scoped:${encodeURIComponent(tenant)}:${encodeURIComponent(scope)}:${token}`
}

/** An origin within its record (tenant and scope are the record's). */
function pack(o: TokenOrigin): string {
  return JSON.stringify([o.type, o.field ?? null, o.text ? 1 : 0])
}

function unpack(packed: string, tenant: string, scope: string): TokenOrigin {
  const [type, field, text] = JSON.parse(packed) as [string, string | null, number]
  return {
    tenant,
    type,
    ...(field !== null ? { field } : {}),
    ...(text ? { text: true } : {}),
    scope,
  }
}

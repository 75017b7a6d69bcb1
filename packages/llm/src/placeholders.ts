import { hmacSha256, MemoryStore, type KeyValueStore } from '@modelgate/core'

const enc = new TextEncoder()
const dec = new TextDecoder()

/**
 * Short labels of the built-in entity types in placeholders (`<EMAIL_1>` is five tokens of
 * OpenAI's o200k and cl100k tokenizers, `<EMAIL_ADDRESS_1>` six). Other types keep their name.
 *
 * @example
 * ```ts
 * PLACEHOLDER_LABELS.EMAIL_ADDRESS // 'EMAIL'
 * ```
 */
export const PLACEHOLDER_LABELS: Readonly<Record<string, string>> = Object.freeze({
  EMAIL_ADDRESS: 'EMAIL',
  PHONE_NUMBER: 'PHONE',
  CREDIT_CARD: 'CARD',
  IBAN_CODE: 'IBAN',
  US_SSN: 'SSN',
  PERSON: 'PERSON',
  IP_ADDRESS: 'IP',
  URL: 'URL',
  DATE_OF_BIRTH: 'DOB',
  CRYPTO: 'CRYPTO',
})

/**
 * Matches placeholders as the LLM routes write them: `<LABEL_n>` with an upper-case label and a
 * number from 1.
 *
 * @example
 * ```ts
 * '<EMAIL_1> wrote to <PERSON_2>'.match(PLACEHOLDER_PATTERN) // ['<EMAIL_1>', '<PERSON_2>']
 * ```
 */
export const PLACEHOLDER_PATTERN = /<[A-Z][A-Z0-9_]{0,40}_[1-9][0-9]{0,8}>/g

const labelOf = (type: string): string => PLACEHOLDER_LABELS[type] ?? type

function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0))
}

interface Keys {
  mac: Uint8Array
  seal: CryptoKey
  conversation: Uint8Array
}

async function deriveKeys(root: Uint8Array): Promise<Keys> {
  const master = await crypto.subtle.importKey(
    'raw',
    root as Uint8Array<ArrayBuffer>,
    'HKDF',
    false,
    ['deriveBits'],
  )
  const bits = async (info: string) =>
    crypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: enc.encode('modelgate-llm/v1'),
        info: enc.encode(info),
      },
      master,
      256,
    )
  return {
    mac: new Uint8Array(await bits('placeholder')),
    seal: await crypto.subtle.importKey('raw', await bits('seal'), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]),
    conversation: new Uint8Array(await bits('conversation')),
  }
}

/** HMAC-SHA-256 of the parts joined by NUL, synchronously (one per request or value). */
function mac(key: Uint8Array, ...parts: string[]): Uint8Array {
  return hmacSha256(key, enc.encode(parts.join('\u0000')))
}

/**
 * Options of {@link PlaceholderVault}.
 *
 * @example
 * ```ts
 * const options: PlaceholderVaultOptions = { key: derivedKey, store: redisStores.vault, ttlMs: 86_400_000 }
 * ```
 */
export interface PlaceholderVaultOptions {
  /**
   * 32 bytes. Without one the vault makes a random key for this process, which only works with
   * a store of this process: conversations and placeholders then do not survive a restart and
   * are not shared with other replicas.
   */
  key?: Uint8Array
  /** Where placeholders of a conversation are kept; default an in-memory store of this process. */
  store?: KeyValueStore
  /** How long a conversation's placeholders live after they were made. Default 24 hours. */
  ttlMs?: number
}

/**
 * Keeps the placeholders of each conversation: for a value, its number, and for a placeholder its
 * value. In a shared store (Redis) values are looked up by a keyed HMAC of scope, type and value
 * and kept sealed with AES-256-GCM bound to their scope and placeholder, so the store holds no
 * value in clear; a `MemoryStore` of this process keeps them as they are, as the process's own
 * memory does. Numbers are handed out
 * from 1 per label and scope with the store's atomic `setIfAbsent`, so replicas sharing one
 * store (and one key) give the same value the same placeholder and two values never the same.
 *
 * @example
 * ```ts
 * const vault = new PlaceholderVault({ key })
 * const scope = await vault.scope({ tenant: 'acme', principal: 'jwt:ana', conversation: 'c-1' })
 * const session = vault.session(scope)
 * await session.placeholder('EMAIL_ADDRESS', 'ana@example.org') // '<EMAIL_1>'
 * ```
 */
export class PlaceholderVault {
  readonly store: KeyValueStore
  /** True when the key was made for this process (no key given). */
  readonly ephemeral: boolean
  private readonly keys: Promise<Keys>
  private readonly ttlMs: number
  private readonly hints = new Map<string, number>()
  /** A store of this process: values stay in its memory as they are, with no sealing. */
  private readonly local: boolean

  constructor(options: PlaceholderVaultOptions = {}) {
    const key = options.key ?? crypto.getRandomValues(new Uint8Array(32))
    if (!(key instanceof Uint8Array) || key.length < 32)
      throw new TypeError('PlaceholderVault: key must be at least 32 bytes')
    this.ephemeral = options.key === undefined
    this.store = options.store ?? new MemoryStore({ maxEntries: 500_000 })
    this.local = this.store instanceof MemoryStore
    this.ttlMs = options.ttlMs ?? 86_400_000
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs <= 0)
      throw new TypeError('PlaceholderVault: ttlMs must be a positive integer')
    this.keys = deriveKeys(key)
    this.keys.catch(() => undefined)
  }

  /** The id of a scope (tenant, principal, conversation), keyed so it cannot be guessed. */
  async scope(parts: {
    tenant: string
    principal?: string
    conversation: string
  }): Promise<string> {
    const k = await this.keys
    const id = mac(k.mac, 'scope', parts.tenant, parts.principal ?? '', parts.conversation)
    return b64url(id.subarray(0, 18))
  }

  /** A new conversation id: random, with a MAC that {@link verifyConversation} checks. */
  async issueConversation(): Promise<string> {
    const nonce = b64url(crypto.getRandomValues(new Uint8Array(15)))
    const k = await this.keys
    return `${nonce}.${b64url(mac(k.conversation, nonce).subarray(0, 12))}`
  }

  /** Whether this vault's key issued a conversation id. */
  async verifyConversation(id: string): Promise<boolean> {
    const dot = id.indexOf('.')
    if (dot !== 20 || id.length !== 37) return false
    const k = await this.keys
    const want = b64url(mac(k.conversation, id.slice(0, dot)).subarray(0, 12))
    let diff = 0
    for (let i = 0; i < want.length; i++) diff |= want.charCodeAt(i) ^ id.charCodeAt(dot + 1 + i)
    return diff === 0
  }

  /**
   * A keyed token for a value that needs no way back (embeddings): the same for the same tenant,
   * type and value, everywhere, with no store.
   */
  async token(tenant: string, type: string, value: string): Promise<string> {
    const k = await this.keys
    const h = mac(k.mac, 'token', tenant, type, value)
    let hex = ''
    for (const b of h.subarray(0, 5)) hex += b.toString(16).padStart(2, '0')
    return `<${labelOf(type)}_${hex}>`
  }

  /** The placeholders of one scope, as one request sees them. */
  session(scope: string): PlaceholderSession {
    return new PlaceholderSession(this, scope)
  }

  /** @internal The number of `value` in `scope`, allocating one when it has none. */
  async number(scope: string, type: string, value: string): Promise<number> {
    const k = await this.keys
    const label = labelOf(type)
    const prefix = `llm:ph:${scope}:`
    // A value cut from a prompt is a slice that keeps the whole prompt in memory: the store
    // keeps its own copy, for as long as the conversation lives.
    if (this.local) value = copyOf(value)
    const forward = this.local
      ? `${prefix}f:${type}\u0000${value}`
      : `${prefix}f:${b64url(mac(k.mac, scope, type, value).subarray(0, 18))}`
    const known = await this.store.get(forward)
    if (known !== undefined) {
      const n = Number(known)
      if ((await this.value(scope, `<${label}_${n}>`)) === value) return n
      await this.store.delete(forward)
    }
    const hint = `${scope}:${label}`
    for (let n = this.hints.get(hint) ?? 1; ; n++) {
      const reverse = `${prefix}r:${label}_${n}`
      const sealed = await this.seal(k, value, reverse)
      let mine = await this.store.setIfAbsent(reverse, sealed, this.ttlMs)
      if (!mine) mine = (await this.open(k, reverse)) === value
      if (!mine) continue
      this.remember(hint, n + 1)
      if (await this.store.setIfAbsent(forward, String(n), this.ttlMs)) return n
      // Another replica numbered the same value at the same moment: keep its number.
      const theirs = Number(await this.store.get(forward))
      if (Number.isSafeInteger(theirs) && theirs !== n) {
        await this.store.delete(reverse)
        return theirs
      }
      return n
    }
  }

  /** @internal The value of a placeholder in `scope`, if it has one. */
  async value(scope: string, placeholder: string): Promise<string | undefined> {
    const inner = placeholder.slice(1, -1)
    return this.open(await this.keys, `llm:ph:${scope}:r:${inner}`)
  }

  private remember(hint: string, next: number): void {
    if ((this.hints.get(hint) ?? 0) >= next) return
    if (this.hints.size > 10_000) this.hints.clear()
    this.hints.set(hint, next)
  }

  private async seal(k: Keys, value: string, aad: string): Promise<string> {
    if (this.local) return value
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const data = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: enc.encode(aad) },
        k.seal,
        enc.encode(value),
      ),
    )
    const out = new Uint8Array(12 + data.length)
    out.set(iv)
    out.set(data, 12)
    return b64url(out)
  }

  private async open(k: Keys, key: string): Promise<string | undefined> {
    const stored = await this.store.get(key)
    if (stored === undefined || this.local) return stored
    try {
      const bytes = fromB64url(stored)
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: enc.encode(key) },
        k.seal,
        bytes.subarray(12),
      )
      return dec.decode(plain)
    } catch {
      return undefined
    }
  }
}

/** A string with the same text that shares no memory with the one given. */
function copyOf(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string
}

function jsonEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1)
}

/**
 * The placeholders one request uses: those it made while masking, and those of its scope that it
 * quoted. Only these are restored in its answer; any other placeholder-shaped text stays as it is.
 *
 * @example
 * ```ts
 * const session = vault.session(scope)
 * const masked = `write to ${await session.placeholder('EMAIL_ADDRESS', 'ana@example.org')}`
 * session.restore(masked) // 'write to ana@example.org'
 * ```
 */
export class PlaceholderSession {
  private readonly byValue = new Map<string, string>()
  private readonly values = new Map<string, string>()
  private readonly types = new Map<string, string>()
  private prefixes: Set<string> | undefined
  private longest = 0

  constructor(
    private readonly vault: PlaceholderVault,
    /** The scope id, from {@link PlaceholderVault.scope}. */
    readonly scope: string,
  ) {}

  /** How many placeholders the answer may restore. */
  get size(): number {
    return this.values.size
  }

  /** The placeholder of a value of an entity type, the same every time in this scope. */
  async placeholder(type: string, value: string): Promise<string> {
    const local = `${type}\u0000${value}`
    const known = this.byValue.get(local)
    if (known !== undefined) return known
    const n = await this.vault.number(this.scope, type, value)
    const placeholder = `<${labelOf(type)}_${n}>`
    this.byValue.set(local, placeholder)
    this.add(placeholder, value, type)
    return placeholder
  }

  /**
   * Registers the placeholders of this scope that a text quotes (a client sending back an earlier
   * placeholder), so the answer restores them too. Placeholders of other scopes are not found.
   */
  async adopt(text: string): Promise<void> {
    if (!text.includes('<')) return
    for (const m of text.matchAll(PLACEHOLDER_PATTERN)) {
      const placeholder = m[0]
      if (this.values.has(placeholder)) continue
      const value = await this.vault.value(this.scope, placeholder)
      if (value !== undefined) this.add(placeholder, value, undefined)
    }
  }

  /** Keeps only the placeholders of these entity types restorable (`granted` restore policy). */
  restrict(allowed: (type: string | undefined) => boolean): void {
    for (const [placeholder] of this.values) {
      if (!allowed(this.types.get(placeholder))) this.values.delete(placeholder)
    }
    this.prefixes = undefined
  }

  /** A text with every placeholder of this request replaced by its value. */
  restore(text: string): string {
    if (this.values.size === 0 || !text.includes('<')) return text
    return text.replace(PLACEHOLDER_PATTERN, (p) => this.values.get(p) ?? p)
  }

  /**
   * The source of a JSON document (tool-call arguments) with each placeholder replaced by its
   * value escaped for a JSON string, so the document stays valid JSON.
   */
  restoreJson(text: string): string {
    if (this.values.size === 0 || !text.includes('<')) return text
    return text.replace(PLACEHOLDER_PATTERN, (p) => {
      const v = this.values.get(p)
      return v === undefined ? p : jsonEscape(v)
    })
  }

  /** A restorer for one streamed text (one choice's content, one tool call's arguments). */
  restorer(json = false): StreamRestorer {
    return new StreamRestorer(this, json)
  }

  /** @internal The value of a placeholder restorable in this request. */
  valueOf(placeholder: string): string | undefined {
    return this.values.get(placeholder)
  }

  /** @internal Whether `text` could still grow into a placeholder of this request. */
  couldBecome(text: string): boolean {
    if (text.length >= this.longest) return false
    this.prefixes ??= this.buildPrefixes()
    return this.prefixes.has(text)
  }

  private buildPrefixes(): Set<string> {
    const set = new Set<string>()
    this.longest = 0
    for (const p of this.values.keys()) {
      this.longest = Math.max(this.longest, p.length)
      for (let i = 1; i < p.length; i++) set.add(p.slice(0, i))
    }
    return set
  }

  private add(placeholder: string, value: string, type: string | undefined): void {
    this.values.set(placeholder, value)
    if (type !== undefined) this.types.set(placeholder, type)
    this.longest = Math.max(this.longest, placeholder.length)
    this.prefixes = undefined
  }
}

/**
 * Restores one streamed text as it arrives: text that cannot be part of a placeholder of this
 * request goes out at once; only a tail that could still become one (`<EMA` while `<EMAIL_1>` is
 * known) is held back until the next piece decides it. In JSON mode (tool-call arguments) values
 * go in escaped for a JSON string.
 *
 * @example
 * ```ts
 * const r = session.restorer()
 * r.push('mail <EMA') // 'mail '
 * r.push('IL_1> now') // 'ana@example.org now'
 * r.pending // ''
 * ```
 */
export class StreamRestorer {
  /** Text held back because it could still become a placeholder. */
  pending = ''

  constructor(
    private readonly session: PlaceholderSession,
    private readonly json: boolean,
  ) {}

  /** The restored text that can go out now. */
  push(text: string): string {
    const buf = this.pending === '' ? text : this.pending + text
    this.pending = ''
    if (!buf.includes('<')) return buf
    let out = ''
    let i = 0
    for (;;) {
      const open = buf.indexOf('<', i)
      if (open < 0) return out + buf.slice(i)
      out += buf.slice(i, open)
      const close = buf.indexOf('>', open + 1)
      const candidate = close < 0 ? undefined : buf.slice(open, close + 1)
      const value = candidate === undefined ? undefined : this.session.valueOf(candidate)
      if (value !== undefined) {
        out += this.json ? jsonEscape(value) : value
        i = close + 1
        continue
      }
      if (close < 0 && this.session.couldBecome(buf.slice(open))) {
        this.pending = buf.slice(open)
        return out
      }
      out += '<'
      i = open + 1
    }
  }
}

import { KeyringError } from '../errors.js'
import type { KeyInfo, KeyProvider, KeyringFile, KeyringPurpose, KeyStatus } from '../types.js'

const subtle = globalThis.crypto.subtle
const FORMAT: Record<KeyringPurpose, number> = { aead: 0x01, deterministic: 0x02 }
const MATERIAL_BYTES: Record<KeyringPurpose, number> = { aead: 32, deterministic: 64 }
const HEADER_BYTES = 5
const IV_BYTES = 12
const TAG_BYTES = 16
const INSPECT = Symbol.for('nodejs.util.inspect.custom')

interface Entry {
  info: KeyInfo
  material: Uint8Array
  keys?: Promise<{ enc: CryptoKey; mac?: CryptoKey }>
}

function randomId(taken: Set<number>): number {
  for (;;) {
    const id = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!
    if (id !== 0 && !taken.has(id)) return id
  }
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/**
 * A set of keys on Tink's design: every key has a 32-bit id written into its ciphertexts, one
 * key is `primary` (encrypts), older keys stay `enabled` (decrypt only) until every ciphertext
 * under them is gone, `disabled` keys refuse both. Keyrings are immutable: `rotate()`,
 * `addKey()`, `promote()`, `disable()` return a new keyring.
 *
 * Rotation without downtime: `addKey()` and deploy (every replica can now decrypt under the new
 * key), then `promote(id)` and deploy (new ciphertexts use it), later `disable()`/`remove()` the
 * old key. `rotate()` does the first two steps at once for single-replica setups.
 *
 * Ciphertext: `format (1) ‖ key id (4, big-endian) ‖ IV (12) ‖ ciphertext ‖ tag (16)`, with
 * AES-256-GCM and `format ‖ key id ‖ associated data` authenticated. In `deterministic`
 * keyrings the IV is `HMAC-SHA256(macKey, len(aad) ‖ aad ‖ plaintext)[0..12]` (a synthetic IV):
 * equal plaintexts under equal associated data give equal ciphertexts, and nothing else is
 * revealed as long as fewer than about 2^32 distinct values are encrypted under one key.
 *
 * Key material never appears in `toJSON()`, `util.inspect` or error messages; export it only
 * with {@link serializeKeyring}.
 *
 * @example
 * ```ts
 * const ring = Keyring.generate('aead')
 * const ct = await ring.encrypt(new TextEncoder().encode('secret'), new TextEncoder().encode('tenant=acme'))
 * const next = ring.rotate()
 * await next.decrypt(ct, new TextEncoder().encode('tenant=acme')) // old key still decrypts
 * ```
 */
export class Keyring {
  readonly purpose: KeyringPurpose
  readonly #entries: Map<number, Entry>

  private constructor(purpose: KeyringPurpose, entries: Map<number, Entry>) {
    this.purpose = purpose
    this.#entries = entries
    const primaries = [...entries.values()].filter((e) => e.info.status === 'primary')
    if (primaries.length !== 1)
      throw new KeyringError('keyring_invalid', 'a keyring needs exactly one primary key')
  }

  /**
   * A new keyring with one fresh primary key.
   *
   * @example
   * ```ts
   * const ring = Keyring.generate('deterministic')
   * ```
   */
  static generate(purpose: KeyringPurpose, now: Date = new Date()): Keyring {
    if (purpose !== 'aead' && purpose !== 'deterministic')
      throw new TypeError('purpose must be "aead" or "deterministic"')
    const id = randomId(new Set())
    const material = globalThis.crypto.getRandomValues(new Uint8Array(MATERIAL_BYTES[purpose]))
    return new Keyring(
      purpose,
      new Map([[id, { info: { id, status: 'primary', createdAt: now.toISOString() }, material }]]),
    )
  }

  /** @internal Builds a keyring from checked entries. */
  static fromEntries(
    purpose: KeyringPurpose,
    keys: Array<KeyInfo & { material: Uint8Array }>,
  ): Keyring {
    if (purpose !== 'aead' && purpose !== 'deterministic')
      throw new KeyringError('keyring_invalid', 'unknown keyring purpose')
    const entries = new Map<number, Entry>()
    for (const k of keys) {
      if (!Number.isInteger(k.id) || k.id <= 0 || k.id > 0xffffffff || entries.has(k.id))
        throw new KeyringError('keyring_invalid', 'key ids must be unique 32-bit integers')
      if (!['primary', 'enabled', 'disabled'].includes(k.status))
        throw new KeyringError('keyring_invalid', `key ${k.id}: unknown status`)
      if (k.material.byteLength !== MATERIAL_BYTES[purpose])
        throw new KeyringError('keyring_invalid', `key ${k.id}: wrong key length`)
      entries.set(k.id, {
        info: { id: k.id, status: k.status, createdAt: k.createdAt },
        material: k.material,
      })
    }
    return new Keyring(purpose, entries)
  }

  /** Id of the primary key. */
  get primaryId(): number {
    for (const e of this.#entries.values()) if (e.info.status === 'primary') return e.info.id
    throw new KeyringError('keyring_invalid', 'no primary key')
  }

  /** Public facts about every key, oldest first. */
  list(): KeyInfo[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info }))
  }

  /** Adds a fresh key as `enabled` (decrypt only): the first step of a rotation. */
  addKey(now: Date = new Date()): Keyring {
    const id = randomId(new Set(this.#entries.keys()))
    const material = globalThis.crypto.getRandomValues(new Uint8Array(MATERIAL_BYTES[this.purpose]))
    const entries = this.#copy()
    entries.set(id, { info: { id, status: 'enabled', createdAt: now.toISOString() }, material })
    return new Keyring(this.purpose, entries)
  }

  /** Makes `id` the primary; the old primary becomes `enabled`. */
  promote(id: number): Keyring {
    return this.#restate(id, 'primary')
  }

  /** Makes a non-primary key `enabled` again. */
  enable(id: number): Keyring {
    return this.#restate(id, 'enabled')
  }

  /** Disables a non-primary key: it no longer decrypts. */
  disable(id: number): Keyring {
    return this.#restate(id, 'disabled')
  }

  /** Removes a disabled key for good. */
  remove(id: number): Keyring {
    const entry = this.#entries.get(id)
    if (!entry) throw new KeyringError('key_unknown', `no key ${id}`)
    if (entry.info.status !== 'disabled')
      throw new KeyringError('key_in_use', 'only disabled keys can be removed')
    const entries = this.#copy()
    entries.delete(id)
    return new Keyring(this.purpose, entries)
  }

  /** Adds a fresh key and makes it primary at once. */
  rotate(now: Date = new Date()): Keyring {
    const staged = this.addKey(now)
    const fresh = staged.list().find((k) => !this.#entries.has(k.id))!
    return staged.promote(fresh.id)
  }

  /** Encrypts under the primary key; `aad` is authenticated, not encrypted. */
  async encrypt(plaintext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const entry = this.#entries.get(this.primaryId)!
    const header = new Uint8Array(HEADER_BYTES)
    header[0] = FORMAT[this.purpose]
    new DataView(header.buffer).setUint32(1, entry.info.id)
    const keys = await this.#keys(entry)
    let iv: Uint8Array<ArrayBuffer>
    if (keys.mac) {
      const lengths = new Uint8Array(4)
      new DataView(lengths.buffer).setUint32(0, aad.byteLength)
      iv = new Uint8Array(
        await subtle.sign('HMAC', keys.mac, concat(lengths, aad, plaintext)),
      ).slice(0, IV_BYTES)
    } else {
      iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES))
    }
    const sealed = await subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: concat(header, aad) },
      keys.enc,
      concat(plaintext),
    )
    return concat(header, iv, new Uint8Array(sealed))
  }

  /** Decrypts a ciphertext of any `primary` or `enabled` key of this keyring. */
  async decrypt(ciphertext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    if (
      !(ciphertext instanceof Uint8Array) ||
      ciphertext.byteLength < HEADER_BYTES + IV_BYTES + TAG_BYTES
    ) {
      throw new KeyringError('ciphertext_invalid', 'ciphertext is too short')
    }
    if (ciphertext[0] !== FORMAT[this.purpose])
      throw new KeyringError(
        'ciphertext_invalid',
        'ciphertext is not from a keyring of this purpose',
      )
    const id = new DataView(ciphertext.buffer, ciphertext.byteOffset).getUint32(1)
    const entry = this.#entries.get(id)
    if (!entry) throw new KeyringError('key_unknown', `no key ${id} in this keyring`)
    if (entry.info.status === 'disabled')
      throw new KeyringError('key_disabled', `key ${id} is disabled`)
    const keys = await this.#keys(entry)
    const header = ciphertext.slice(0, HEADER_BYTES)
    const iv = ciphertext.slice(HEADER_BYTES, HEADER_BYTES + IV_BYTES)
    let plaintext: Uint8Array
    try {
      plaintext = new Uint8Array(
        await subtle.decrypt(
          { name: 'AES-GCM', iv, additionalData: concat(header, aad) },
          keys.enc,
          ciphertext.slice(HEADER_BYTES + IV_BYTES),
        ),
      )
    } catch {
      throw new KeyringError('decrypt_failed', 'ciphertext or associated data was altered')
    }
    return plaintext
  }

  /** Key facts only; never material. */
  toJSON(): { purpose: KeyringPurpose; keys: KeyInfo[] } {
    return { purpose: this.purpose, keys: this.list() }
  }

  [INSPECT](): string {
    return `Keyring(${this.purpose}, ${this.list()
      .map((k) => `${k.id}:${k.status}`)
      .join(', ')})`
  }

  /** @internal Material for serialisation. */
  static materialOf(ring: Keyring, id: number): Uint8Array {
    const entry = ring.#entries.get(id)
    if (!entry) throw new KeyringError('key_unknown', `no key ${id}`)
    return entry.material
  }

  #copy(): Map<number, Entry> {
    return new Map(
      [...this.#entries].map(([id, e]) => [id, { info: { ...e.info }, material: e.material }]),
    )
  }

  #restate(id: number, status: KeyStatus): Keyring {
    const entries = this.#copy()
    const entry = entries.get(id)
    if (!entry) throw new KeyringError('key_unknown', `no key ${id}`)
    if (status === 'primary') {
      if (entry.info.status === 'disabled')
        throw new KeyringError('key_disabled', 'enable a key before promoting it')
      for (const e of entries.values()) if (e.info.status === 'primary') e.info.status = 'enabled'
    } else if (entry.info.status === 'primary') {
      throw new KeyringError('key_in_use', 'promote another key first')
    }
    entry.info.status = status
    return new Keyring(this.purpose, entries)
  }

  #keys(entry: Entry): Promise<{ enc: CryptoKey; mac?: CryptoKey }> {
    entry.keys ??= (async () => {
      const m = entry.material
      if (this.purpose === 'aead') {
        return {
          enc: await subtle.importKey('raw', concat(m), 'AES-GCM', false, ['encrypt', 'decrypt']),
        }
      }
      return {
        mac: await subtle.importKey(
          'raw',
          concat(m.subarray(0, 32)),
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['sign'],
        ),
        enc: await subtle.importKey('raw', concat(m.subarray(32)), 'AES-GCM', false, [
          'encrypt',
          'decrypt',
        ]),
      }
    })()
    return entry.keys
  }
}

const b64url = {
  encode: (b: Uint8Array) =>
    btoa(String.fromCharCode(...b))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, ''),
  decode: (s: string) =>
    Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
}

function wrapAad(purpose: KeyringPurpose, id: number): Uint8Array {
  return new TextEncoder().encode(`modelgate-keyring/1:${purpose}:${id}`)
}

/**
 * The keyring as a {@link KeyringFile}. With a provider every key's material is wrapped by the
 * key-encryption key (envelope encryption); without one it is written in the clear, so protect
 * the file (mode 0600, a secret store).
 *
 * @example
 * ```ts
 * const file = await serializeKeyring(ring, localKeyProvider({ id: 'kek-1', key: kekBytes }))
 * await writeFile('keyring.json', JSON.stringify(file), { mode: 0o600 })
 * ```
 */
export async function serializeKeyring(
  ring: Keyring,
  provider?: KeyProvider,
): Promise<KeyringFile> {
  const keys: KeyringFile['keys'] = []
  for (const info of ring.list()) {
    const material = Keyring.materialOf(ring, info.id)
    if (provider)
      keys.push({
        ...info,
        wrapped: b64url.encode(await provider.wrap(material, wrapAad(ring.purpose, info.id))),
      })
    else keys.push({ ...info, material: b64url.encode(material) })
  }
  return { version: 1, purpose: ring.purpose, ...(provider ? { kek: provider.id } : {}), keys }
}

/**
 * Reads a {@link KeyringFile}; wrapped keys need the provider the file names in `kek`.
 *
 * @example
 * ```ts
 * const ring = await parseKeyring(JSON.parse(await readFile('keyring.json', 'utf8')), provider)
 * ```
 */
export async function parseKeyring(file: KeyringFile, provider?: KeyProvider): Promise<Keyring> {
  if (!file || file.version !== 1 || !Array.isArray(file.keys))
    throw new KeyringError('keyring_invalid', 'not a version 1 keyring file')
  if (file.kek !== undefined && provider?.id !== file.kek)
    throw new KeyringError(
      'kek_mismatch',
      `keyring is wrapped by "${String(file.kek).slice(0, 128)}", a different key provider`,
    )
  const keys: Array<KeyInfo & { material: Uint8Array }> = []
  for (const k of file.keys) {
    let material: Uint8Array
    if (typeof k.wrapped === 'string') {
      if (!provider) throw new KeyringError('kek_mismatch', 'wrapped keys need a key provider')
      try {
        material = await provider.unwrap(b64url.decode(k.wrapped), wrapAad(file.purpose, k.id))
      } catch {
        throw new KeyringError('unwrap_failed', `key ${k.id} could not be unwrapped`)
      }
    } else if (typeof k.material === 'string') {
      if (file.kek !== undefined)
        throw new KeyringError('keyring_invalid', 'a wrapped keyring must not hold plaintext keys')
      material = b64url.decode(k.material)
    } else throw new KeyringError('keyring_invalid', `key ${k.id} has no material`)
    keys.push({ id: k.id, status: k.status, createdAt: k.createdAt, material })
  }
  return Keyring.fromEntries(file.purpose, keys)
}

/**
 * A {@link KeyProvider} holding a 256-bit key-encryption key in memory (from a file, an
 * environment variable or a secret store), wrapping data keys with AES-256-GCM. For a KMS,
 * implement {@link KeyProvider} over its encrypt/decrypt calls.
 *
 * @example
 * ```ts
 * const provider = localKeyProvider({ id: 'kek-2024', key: process.env.MODELGATE_KEK! })
 * ```
 */
export function localKeyProvider(options: { id: string; key: Uint8Array | string }): KeyProvider {
  if (!options || typeof options.id !== 'string' || options.id === '')
    throw new TypeError('localKeyProvider: id is required')
  let raw: Uint8Array
  try {
    raw = typeof options.key === 'string' ? b64url.decode(options.key.trim()) : options.key
  } catch {
    throw new TypeError('localKeyProvider: key must be 32 bytes or their base64url')
  }
  if (!(raw instanceof Uint8Array) || raw.byteLength !== 32)
    throw new TypeError('localKeyProvider: key must be 32 bytes or their base64url')
  const kek = subtle.importKey('raw', concat(raw), 'AES-GCM', false, ['encrypt', 'decrypt'])
  return {
    id: options.id,
    async wrap(dataKey, aad) {
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES))
      return concat(
        iv,
        new Uint8Array(
          await subtle.encrypt(
            { name: 'AES-GCM', iv, additionalData: concat(aad) },
            await kek,
            concat(dataKey),
          ),
        ),
      )
    },
    async unwrap(wrapped, aad) {
      const iv = wrapped.slice(0, IV_BYTES)
      return new Uint8Array(
        await subtle.decrypt(
          { name: 'AES-GCM', iv, additionalData: concat(aad) },
          await kek,
          wrapped.slice(IV_BYTES),
        ),
      )
    },
  }
}

/** @internal */
export const base64url = b64url

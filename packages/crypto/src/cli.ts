import { MemoryStore } from '@modelgate/core'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { JweError } from './errors.js'
import { checkFreshness, createJwePolicy, openJwe } from './jwe/policy.js'
import { Keyring, parseKeyring, serializeKeyring } from './keyring/index.js'
import type {
  DecryptionKey,
  KeyManagementAlgorithm,
  KeyProvider,
  KeyringFile,
  KeyringPurpose,
  SignatureAlgorithm,
} from './types.js'

/**
 * Options of {@link decryptJweLines} (`modelgate jwe decrypt`).
 *
 * @example
 * ```ts
 * const o: DecryptLinesOptions = { keys: [gateJwk], now: 1718000000 }
 * ```
 */
export interface DecryptLinesOptions {
  /** Private keys, each with `kid` and `alg` (from `--key JWK_FILE`, repeatable). */
  keys: DecryptionKey[]
  /** Unix seconds used for the `iat` window (`--now`). Default the current time. */
  now?: number
  algorithms?: KeyManagementAlgorithm[]
  /** Default 1 MiB, as in the plugin. */
  maxBytes?: number
  /** `iat` window in seconds. Default 300, as in the plugin. */
  windowSeconds?: number
  /** Check `jti` + `iat` (a `jti` seen twice in one run counts as replayed). Default true. */
  freshness?: boolean
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/**
 * `modelgate jwe decrypt`: decrypts one compact JWE per line with the same policy as the
 * decrypt plugin and yields one JSON line (without newline) per non-blank input line:
 * `{"ok":true,"plaintext_b64":"…"}` or `{"ok":false,"code":"…","message":"…"}`. Bad options
 * throw a TypeError before any line is read.
 *
 * @example
 * ```ts
 * import { createInterface } from 'node:readline'
 * const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
 * for await (const out of decryptJweLines({ keys }, lines)) process.stdout.write(out + '\n')
 * ```
 */
export async function* decryptJweLines(
  options: DecryptLinesOptions,
  lines: Iterable<string> | AsyncIterable<string>,
): AsyncGenerator<string> {
  const policy = createJwePolicy(
    'decryptJweLines',
    options?.keys,
    options.algorithms,
    options.maxBytes,
  )
  const windowSeconds = options.windowSeconds ?? 300
  if (options.now !== undefined && !Number.isFinite(options.now))
    throw new TypeError('decryptJweLines: now must be unix seconds')
  const nowMs = options.now === undefined ? undefined : options.now * 1000
  const freshness = options.freshness ?? true
  const store = new MemoryStore()
  for await (const raw of lines) {
    const line = raw.trim()
    if (line === '') continue
    try {
      const opened = await openJwe(line, policy)
      if (freshness)
        await checkFreshness(opened.header, {
          store,
          windowSeconds,
          nowMs: nowMs ?? Date.now(),
          scope: opened.kid,
        })
      yield JSON.stringify({ ok: true, plaintext_b64: toBase64(opened.plaintext) })
    } catch (error) {
      const known = error instanceof JweError
      yield JSON.stringify({
        ok: false,
        code: known ? error.code : 'jwe_error',
        message: known ? error.message : 'the JWE could not be processed',
      })
    }
  }
}

/**
 * Algorithms {@link generateJwk} can make keys for.
 *
 * @example
 * ```ts
 * const alg: JwkAlgorithm = 'ES256'
 * ```
 */
export type JwkAlgorithm = KeyManagementAlgorithm | SignatureAlgorithm

/**
 * `modelgate keys generate --alg …`: a fresh JWK pair with `kid` (default: the RFC 7638
 * thumbprint) and `alg` set. `ECDH-ES+A256KW` uses P-256, `RSA-OAEP-256` 3072-bit RSA,
 * `dir` a 256-bit secret (its `publicJwk` is the secret too), `ES256` P-256, `EdDSA` Ed25519.
 *
 * @example
 * ```ts
 * const { privateJwk, publicJwk } = await generateJwk('ECDH-ES+A256KW', 'gate-2024-06')
 * ```
 */
export async function generateJwk(
  alg: JwkAlgorithm,
  kid?: string,
): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  let privateJwk: JWK
  let publicJwk: JWK
  if (alg === 'dir') {
    const k = btoa(String.fromCharCode(...globalThis.crypto.getRandomValues(new Uint8Array(32))))
    privateJwk = { kty: 'oct', k: k.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') }
    publicJwk = privateJwk
  } else if (
    alg === 'ECDH-ES+A256KW' ||
    alg === 'RSA-OAEP-256' ||
    alg === 'ES256' ||
    alg === 'EdDSA'
  ) {
    const options =
      alg === 'RSA-OAEP-256'
        ? { modulusLength: 3072, extractable: true }
        : alg === 'EdDSA'
          ? { crv: 'Ed25519', extractable: true }
          : { crv: 'P-256', extractable: true }
    const pair = await generateKeyPair(alg, options)
    privateJwk = await exportJWK(pair.privateKey)
    publicJwk = await exportJWK(pair.publicKey)
  } else {
    throw new TypeError(`generateJwk: unsupported alg "${String(alg)}"`)
  }
  const id = kid ?? (await calculateJwkThumbprint(publicJwk))
  const use = alg === 'ES256' || alg === 'EdDSA' ? 'sig' : 'enc'
  return {
    privateJwk: { ...privateJwk, kid: id, alg, use },
    publicJwk: { ...publicJwk, kid: id, alg, use },
  }
}

/**
 * `modelgate keys generate --keyring`: a new keyring file with one primary key, its material
 * wrapped by `provider` when given.
 *
 * @example
 * ```ts
 * const file = await generateKeyringFile('aead', localKeyProvider({ id: 'kek-1', key: kek }))
 * ```
 */
export async function generateKeyringFile(
  purpose: KeyringPurpose,
  provider?: KeyProvider,
): Promise<KeyringFile> {
  return serializeKeyring(Keyring.generate(purpose), provider)
}

/**
 * `modelgate keys rotate`: adds a fresh key to a keyring file and makes it primary (the old
 * primary stays enabled for decryption); with `stage: true` the new key is only added as
 * enabled, to be promoted once every replica has the file.
 *
 * @example
 * ```ts
 * const next = await rotateKeyringFile(JSON.parse(await readFile('ring.json', 'utf8')), { provider })
 * ```
 */
export async function rotateKeyringFile(
  file: KeyringFile,
  options: { provider?: KeyProvider; stage?: boolean; promote?: number } = {},
): Promise<KeyringFile> {
  const ring = await parseKeyring(file, options.provider)
  const next =
    options.promote !== undefined
      ? ring.promote(options.promote)
      : options.stage
        ? ring.addKey()
        : ring.rotate()
  return serializeKeyring(next, options.provider)
}

import { checkOptionKeys } from '@modelgate/core'
import { KeyringError } from '../errors.js'
import { base64url } from '../keyring/index.js'
import type { Keyring } from '../keyring/index.js'
import type { FieldCipherOptions, FieldSpec } from '../types.js'

const PREFIX = 'mgf1:'
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Encrypts and decrypts selected JSON fields of records. A value becomes the string
 * `mgf1:<base64url keyring ciphertext>`; the associated data binds tenant, model and field path,
 * so a ciphertext moved to another field, model or tenant fails to decrypt.
 *
 * @example
 * ```ts
 * const fields = createFieldCipher({ keyring, deterministicKeyring, tenant: 'acme', model: 'credit' })
 * const sealed = await fields.encrypt({ ssn: '078-05-1120', income: 52000 }, [{ path: 'ssn', mode: 'deterministic' }])
 * const opened = await fields.decrypt(sealed, [{ path: 'ssn', mode: 'deterministic' }])
 * ```
 */
export interface FieldCipher {
  /** A copy of `record` with the given fields encrypted; absent fields are skipped. */
  encrypt<T>(record: T, fields: FieldSpec[]): Promise<T>
  /** A copy with the given fields decrypted; a present field that is not a ciphertext fails. */
  decrypt<T>(record: T, fields: FieldSpec[]): Promise<T>
}

/**
 * Builds a {@link FieldCipher}. Paths are dot-separated keys; arrays met on the way are walked
 * element by element (`instances.ssn` reaches the `ssn` of every record).
 *
 * @example
 * ```ts
 * const fields = createFieldCipher({ keyring: Keyring.generate('aead'), tenant: 'acme', model: 'credit' })
 * ```
 */
export function createFieldCipher(options: FieldCipherOptions): FieldCipher {
  if (!options || typeof options.tenant !== 'string' || typeof options.model !== 'string') {
    throw new TypeError('createFieldCipher: tenant and model are required strings')
  }
  checkOptionKeys('createFieldCipher', options, {
    keyring: true,
    deterministicKeyring: true,
    tenant: true,
    model: true,
  })
  if (options.keyring && options.keyring.purpose !== 'aead')
    throw new TypeError('createFieldCipher: keyring must be an aead keyring')
  if (options.deterministicKeyring && options.deterministicKeyring.purpose !== 'deterministic') {
    throw new TypeError('createFieldCipher: deterministicKeyring must be a deterministic keyring')
  }
  if (!options.keyring && !options.deterministicKeyring)
    throw new TypeError('createFieldCipher: give keyring and/or deterministicKeyring')
  const { tenant, model } = options

  const ringFor = (spec: FieldSpec): Keyring => {
    const ring = spec.mode === 'deterministic' ? options.deterministicKeyring : options.keyring
    if (!ring)
      throw new KeyringError('keyring_missing', `no keyring for ${spec.mode ?? 'random'} mode`)
    return ring
  }
  const aadFor = (path: string) =>
    encoder.encode(JSON.stringify(['modelgate-field/1', tenant, model, path]))

  const transform = async <T>(
    record: T,
    fields: FieldSpec[],
    fn: (value: unknown, spec: FieldSpec) => Promise<unknown>,
  ): Promise<T> => {
    const copy = structuredClone(record)
    for (const spec of fields) {
      if (!spec || typeof spec.path !== 'string' || spec.path === '')
        throw new TypeError('field path must be a non-empty string')
      const keys = spec.path.split('.')
      if (keys.some((k) => k === '' || FORBIDDEN.has(k)))
        throw new TypeError(`invalid field path "${spec.path}"`)
      await walk(copy, keys, async (holder, key) => {
        holder[key] = await fn(holder[key], spec)
      })
    }
    return copy
  }

  return {
    encrypt: (record, fields) =>
      transform(record, fields, async (value, spec) => {
        const sealed = await ringFor(spec).encrypt(
          encoder.encode(JSON.stringify(value)),
          aadFor(spec.path),
        )
        return PREFIX + base64url.encode(sealed)
      }),
    decrypt: (record, fields) =>
      transform(record, fields, async (value, spec) => {
        if (typeof value !== 'string' || !value.startsWith(PREFIX))
          throw new KeyringError('field_not_encrypted', `field "${spec.path}" is not encrypted`)
        let bytes: Uint8Array
        try {
          bytes = base64url.decode(value.slice(PREFIX.length))
        } catch {
          throw new KeyringError(
            'ciphertext_invalid',
            `field "${spec.path}" is not a valid ciphertext`,
          )
        }
        const plaintext = await ringFor(spec).decrypt(bytes, aadFor(spec.path))
        return JSON.parse(decoder.decode(plaintext))
      }),
  }
}

async function walk(
  node: unknown,
  keys: string[],
  visit: (holder: Record<string, unknown>, key: string) => Promise<void>,
): Promise<void> {
  if (Array.isArray(node)) {
    for (const item of node) await walk(item, keys, visit)
    return
  }
  if (!node || typeof node !== 'object') return
  const holder = node as Record<string, unknown>
  const [key, ...rest] = keys as [string, ...string[]]
  if (!Object.hasOwn(holder, key)) return
  if (rest.length === 0) return visit(holder, key)
  return walk(holder[key], rest, visit)
}

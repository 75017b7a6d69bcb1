import { GateError } from '@modelgate/core'

/**
 * Stable codes of refused encrypted requests.
 *
 * @example
 * ```ts
 * const code: JweErrorCode = 'jwe_alg_not_allowed'
 * ```
 */
export type JweErrorCode =
  | 'jwe_required'
  | 'jwe_too_large'
  | 'jwe_malformed'
  | 'jwe_alg_not_allowed'
  | 'jwe_enc_not_allowed'
  | 'jwe_zip_not_allowed'
  | 'jwe_crit_not_allowed'
  | 'jwe_unknown_kid'
  | 'jwe_alg_mismatch'
  | 'jwe_decrypt_failed'
  | 'jwe_stale'
  | 'jwe_replayed'
  | 'jwe_content_type'
  | 'jwe_response_key'
  | 'jwe_unbound'
  | 'jwe_request_mismatch'

/**
 * A refused encrypted request. Messages name the rule that failed, never key material, and
 * `jwe_decrypt_failed` deliberately does not say which part was wrong.
 *
 * @example
 * ```ts
 * try { await open(jwe) } catch (e) { if (e instanceof JweError) console.log(e.code) }
 * ```
 */
export class JweError extends GateError {
  declare readonly code: JweErrorCode
  constructor(code: JweErrorCode, message: string, status = 400) {
    // A refused oversized upload closes the connection instead of reading the rest of it.
    super(code, status, message, status === 413 ? { connection: 'close' } : {})
  }
}

/**
 * A keyring, field-encryption or key-provider failure. The message never contains key material
 * or plaintext.
 *
 * @example
 * ```ts
 * throw new KeyringError('key_unknown', 'no key with the id of this ciphertext')
 * ```
 */
export class KeyringError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'KeyringError'
    this.code = code
  }
}

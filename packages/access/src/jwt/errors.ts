/**
 * Why a token was refused. `code` is stable and meant for operators (audit records, the
 * `modelgate token verify` output); clients only ever see a generic `invalid_token`.
 *
 * @example
 * ```ts
 * try {
 *   await verifier.verify(token)
 * } catch (e) {
 *   if (e instanceof TokenError) console.log(e.code) // 'expired', 'bad_signature', …
 * }
 * ```
 */
export class TokenError extends Error {
  readonly code: TokenErrorCode

  constructor(code: TokenErrorCode, message: string) {
    super(message)
    this.name = 'TokenError'
    this.code = code
  }
}

/**
 * Stable reasons a token is refused.
 *
 * @example
 * ```ts
 * const code: TokenErrorCode = 'expired'
 * ```
 */
export type TokenErrorCode =
  | 'malformed'
  | 'too_large'
  | 'duplicate_member'
  | 'alg_not_allowed'
  | 'key_in_header'
  | 'kid_missing'
  | 'kid_invalid'
  | 'kid_unknown'
  | 'crit_invalid'
  | 'crit_unsupported'
  | 'unsupported'
  | 'issuer_unknown'
  | 'audience_invalid'
  | 'claim_missing'
  | 'claim_invalid'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'too_old'
  | 'bad_signature'
  | 'signature_high_s'
  | 'typ_invalid'
  | 'revoked'
  | 'replayed'

/**
 * The keys needed to check a token could not be obtained (JWKS endpoint down, slow or serving
 * garbage, and no fresh keys cached). Requests fail closed with 503.
 *
 * @example
 * ```ts
 * if (e instanceof KeysUnavailableError) console.warn('identity provider unreachable')
 * ```
 */
export class KeysUnavailableError extends Error {
  readonly code = 'keys_unavailable'

  constructor(message = 'verification keys are unavailable') {
    super(message)
    this.name = 'KeysUnavailableError'
  }
}

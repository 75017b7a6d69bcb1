import type { JSONWebKeySet } from 'jose'
import { KeysUnavailableError, TokenError } from './jwt/errors.js'
import { createJwtVerifier } from './jwt/verifier.js'
import type { JwtAlgorithm } from './types.js'

/**
 * Options of {@link verifyTokenLines}, one to one with
 * `modelgate token verify --jwks FILE|URL --issuer ISS --audience AUD [--algorithms …]
 * [--clock-tolerance S] [--max-token-age S] [--now UNIX_SECONDS] [TOKEN]`.
 *
 * @example
 * ```ts
 * const options: VerifyTokenLinesOptions = { jwks: 'jwks.json', issuer: 'https://idp.example', audience: 'api' }
 * ```
 */
export interface VerifyTokenLinesOptions {
  /** A JWKS file path, an `https:` URL (`http:` on loopback), or the key set itself. May hold `oct` keys (HS*). */
  jwks: string | JSONWebKeySet
  issuer: string
  audience: string | string[]
  /** Default `['RS256', 'PS256', 'ES256', 'EdDSA']`; HMAC algorithms only when listed. */
  algorithms?: JwtAlgorithm[]
  /** Seconds, at most 60. Default 30. */
  clockToleranceSeconds?: number
  maxTokenAgeSeconds?: number
  /** Seconds since the epoch to verify at (reproducible checks of old tokens). */
  now?: number
  /** Default `['exp', 'iat', 'sub']`. */
  requiredClaims?: string[]
}

/**
 * Verifies tokens one per line with exactly the checks of the `authenticate` plugin (hardening,
 * jose, claim policy; no token cache) and yields one JSON line per token:
 * `{"valid":true,"claims":{…}}` or `{"valid":false,"code":"expired","message":"token expired"}`.
 * Blank lines are skipped. Bad options (unreadable JWKS file, unknown algorithm) throw before
 * the first line.
 *
 * @example
 * ```ts
 * // modelgate token verify --jwks jwks.json --issuer https://idp.example --audience api < tokens.txt
 * import { createInterface } from 'node:readline'
 * const lines = createInterface({ input: process.stdin })
 * for await (const out of verifyTokenLines({ jwks: 'jwks.json', issuer: 'https://idp.example', audience: 'api' }, lines)) {
 *   process.stdout.write(out + '\n')
 * }
 * ```
 */
export async function* verifyTokenLines(
  options: VerifyTokenLinesOptions,
  lines: Iterable<string> | AsyncIterable<string>,
): AsyncGenerator<string> {
  if (!options || typeof options !== 'object') throw new TypeError('verifyTokenLines needs options')
  let keys: { jwks: JSONWebKeySet } | { jwksUri: string }
  if (typeof options.jwks === 'string' && /^https?:\/\//i.test(options.jwks)) {
    keys = { jwksUri: options.jwks }
  } else if (typeof options.jwks === 'string') {
    const { readFile } = await import('node:fs/promises')
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(options.jwks, 'utf8'))
    } catch (error) {
      throw new TypeError(`cannot read a JWKS from ${options.jwks}: ${(error as Error).message}`)
    }
    keys = { jwks: parsed as JSONWebKeySet }
  } else {
    keys = { jwks: options.jwks }
  }
  if (options.now !== undefined && !Number.isFinite(options.now))
    throw new TypeError('now must be seconds since the epoch')
  const now = options.now
  const verifier = createJwtVerifier({
    issuers: [{ issuer: options.issuer, audience: options.audience, ...keys }],
    algorithms: options.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'],
    ...(options.clockToleranceSeconds !== undefined
      ? { clockToleranceSeconds: options.clockToleranceSeconds }
      : {}),
    ...(options.maxTokenAgeSeconds !== undefined
      ? { maxTokenAgeSeconds: options.maxTokenAgeSeconds }
      : {}),
    ...(options.requiredClaims !== undefined ? { requiredClaims: options.requiredClaims } : {}),
    ...(now !== undefined ? { clock: () => now * 1000 } : {}),
    tokenCache: false,
  })
  for await (const line of lines) {
    const token = line.trim()
    if (token === '') continue
    try {
      const { claims } = await verifier.verify(token)
      yield JSON.stringify({ valid: true, claims })
    } catch (error) {
      if (error instanceof TokenError || error instanceof KeysUnavailableError) {
        yield JSON.stringify({ valid: false, code: error.code, message: error.message })
      } else {
        yield JSON.stringify({ valid: false, code: 'error', message: 'verification failed' })
      }
    }
  }
}

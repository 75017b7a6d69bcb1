import { readFile } from 'node:fs/promises'
import type { JwtAlgorithm } from '@modelgate/access'
import type { JSONWebKeySet } from 'jose'
import { importPackage } from '../config/modules.js'

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
  /**
   * A JWKS file path (or a development key file from `token issue`, whose `jwks` member is
   * used), an `https:` URL (`http:` on loopback), or the key set itself. May hold `oct` keys.
   */
  jwks: string | { keys: unknown[] }
  issuer: string
  audience: string | string[]
  /** Default `['RS256', 'PS256', 'ES256', 'EdDSA']`; HMAC algorithms only when listed. */
  algorithms?: JwtAlgorithm[]
  /** Seconds, at most 60. Default 30. */
  clockToleranceSeconds?: number
  maxTokenAgeSeconds?: number
  /** Seconds since the epoch to verify at (reproducible checks of old tokens). */
  now?: number
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
 * for await (const out of verifyTokenLines({ jwks: 'jwks.json', issuer: 'https://idp.example', audience: 'api' }, lines)) {
 *   process.stdout.write(out + '\n')
 * }
 * ```
 */
export async function* verifyTokenLines(
  options: VerifyTokenLinesOptions,
  lines: Iterable<string> | AsyncIterable<string>,
): AsyncGenerator<string> {
  const { createJwtVerifier, KeysUnavailableError, TokenError } = await importPackage(
    () => import('@modelgate/access'),
    '@modelgate/access',
    'token verify',
  )
  let keys: { jwks: JSONWebKeySet } | { jwksUri: string }
  if (typeof options.jwks === 'string' && /^https?:\/\//i.test(options.jwks)) {
    keys = { jwksUri: options.jwks }
  } else if (typeof options.jwks === 'string') {
    let parsed: { keys?: unknown[]; jwks?: { keys?: unknown[] } }
    try {
      parsed = JSON.parse(await readFile(options.jwks, 'utf8'))
    } catch (error) {
      throw new TypeError(`cannot read a JWKS from ${options.jwks}: ${(error as Error).message}`)
    }
    // A development key file holds its public key set under "jwks".
    const set = Array.isArray(parsed?.keys) ? parsed : parsed?.jwks
    if (!Array.isArray(set?.keys)) throw new TypeError(`${options.jwks} holds no "keys" array`)
    keys = { jwks: set as JSONWebKeySet }
  } else {
    keys = { jwks: options.jwks as JSONWebKeySet }
  }
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

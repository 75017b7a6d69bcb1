import {
  BadRequestError,
  checkOptionKeys,
  PayloadTooLargeError,
  type GateContext,
  type Plugin,
} from '@modelgate/core'
import type { JWK } from 'jose'
import { JweError } from '../errors.js'
import { checkKeyShape, createJweDecryptor, DEFAULT_MAX_JWE_BYTES } from '../jwe/policy.js'
import type { DecryptedRequest, DecryptOptions } from '../types.js'

/**
 * `ctx.state` key under which {@link decrypt} leaves a {@link DecryptedRequest} (algorithm, kid,
 * jti, the client's response key) for the encrypt plugin.
 *
 * @example
 * ```ts
 * const info = ctx.state.get(DECRYPTED_REQUEST) as DecryptedRequest | undefined
 * ```
 */
export const DECRYPTED_REQUEST: unique symbol = Symbol.for(
  'modelgate.crypto.decryptedRequest',
) as never

/**
 * `ctx.state` key under which {@link decrypt} leaves the inner compact JWS of a nested JWT after
 * the configured verifier accepted it (for plugins that need the raw token).
 *
 * @example
 * ```ts
 * const jws = ctx.state.get(NESTED_JWT) as string | undefined
 * ```
 */
export const NESTED_JWT: unique symbol = Symbol.for('modelgate.crypto.nestedJwt') as never

const JSON_TYPES = new Set(['application/json', 'json'])
const encoder = new TextEncoder()
const OPTIONS = {
  keys: true,
  algorithms: true,
  maxBytes: true,
  replay: { store: true, windowSeconds: true },
  required: true,
  nestedJwt: { verifier: true, bodyClaim: true },
  requireBinding: true,
  clock: true,
} as const

/**
 * Decrypts request bodies sent as compact JWE (`Content-Type: application/jose`) before any
 * other plugin reads them. Size, allowlists (`alg`, `enc: A256GCM`, no `zip`, no `crit`, `kid`
 * bound to its key's `alg`) are checked before any cryptography; `jti` + `iat` are checked after
 * decryption (only authenticated headers count) against a replay store, and so is the request
 * the JWE was sealed for (`htm` and `htp` headers, as `@modelgate/client` sends them: a JWE made
 * for one model, version or route is refused on another). Plaintext bodies are refused on
 * `predict` and `explain` unless `required: false`.
 *
 * Every decrypted request must be answered sealed: `decrypt` demands it of the gate
 * (`ctx.requireSealed`), so a gate without {@link encrypt} refuses encrypted requests before
 * the model runs (500 `response_unsealed`), on every route, whatever the plugin order.
 *
 * A nested JWT (`cty: "JWT"`) is handed to `nestedJwt.verifier` — use `createJwtVerifier` from
 * `@modelgate/access` — which sets `ctx.principal`; the request body is then the `body` claim.
 * `authenticate`, placed after `decrypt`, keeps that principal.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { decrypt, encrypt, sign } from '@modelgate/crypto'
 *
 * const gate = createGate({
 *   models,
 *   plugins: [decrypt({ keys: [gateJwk] }), sign({ key: signingJwk }), authenticate(auth), encrypt()],
 * })
 * ```
 */
export const decrypt = (options: DecryptOptions): Plugin => {
  if (!options || typeof options !== 'object') throw new TypeError('decrypt: options are required')
  checkOptionKeys('decrypt', options, OPTIONS)
  const open = createJweDecryptor(
    {
      keys: options.keys,
      ...(options.algorithms !== undefined ? { algorithms: options.algorithms } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
      ...(options.replay !== undefined ? { replay: options.replay } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    },
    'decrypt',
  )
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JWE_BYTES
  const required = options.required ?? true
  const nested = options.nestedJwt
  if (nested !== undefined && typeof nested.verifier?.verify !== 'function') {
    throw new TypeError('decrypt: nestedJwt.verifier must have a verify(token) method')
  }
  const bodyClaim = nested?.bodyClaim ?? 'body'
  const requireBinding = options.requireBinding ?? false

  return async function decrypt(ctx, next) {
    if (ctx.mediaType() !== 'application/jose') {
      if (required && (ctx.operation === 'predict' || ctx.operation === 'explain')) {
        throw new JweError(
          'jwe_required',
          'this gate accepts only encrypted request bodies (application/jose)',
          415,
        )
      }
      return next()
    }
    const limit = Math.min(maxBytes, ctx.limits.maxBodyBytes)
    const declared = Number(ctx.requestHeaders.get('content-length') ?? 0)
    if (declared > limit) throw new JweError('jwe_too_large', `JWE exceeds ${limit} bytes`, 413)
    const bytes = await ctx.bodyBytes(limit).catch((error: unknown) => {
      throw error instanceof PayloadTooLargeError
        ? new JweError('jwe_too_large', `JWE exceeds ${limit} bytes`, 413)
        : error
    })
    // An outer plugin may have read the body under the gate's larger limit.
    if (bytes.byteLength > limit)
      throw new JweError('jwe_too_large', `JWE exceeds ${limit} bytes`, 413)
    const opened = await open(bytes, ({ header }) =>
      checkBinding(ctx, header as Record<string, unknown>, requireBinding),
    )
    // From here on, whatever happens, this request's answer leaves sealed or as an error.
    ctx.requireSealed('the request was encrypted')
    const info: DecryptedRequest = { kid: opened.kid, alg: opened.alg }
    const { jti, iat, rjwk, rkid, cty } = opened.header as Record<string, unknown>
    if (typeof jti === 'string') info.jti = jti
    if (typeof iat === 'number') info.iat = iat
    ctx.state.set(DECRYPTED_REQUEST, info)
    ctx.facts.encryption = {
      alg: opened.alg,
      kid: opened.kid,
      ...(info.jti ? { jti: info.jti } : {}),
    }
    if (rjwk !== undefined) info.responseKey = responseKeyOf(rjwk)
    if (rkid !== undefined) {
      if (typeof rkid !== 'string' || rkid === '' || rkid.length > 256)
        throw new JweError('jwe_response_key', 'rkid must be a key id')
      info.responseKeyId = rkid
    }
    const type = typeof cty === 'string' ? cty.toLowerCase() : 'application/json'
    if (type === 'jwt') await openNested(ctx, opened.plaintext)
    else if (JSON_TYPES.has(type)) ctx.replaceBody(opened.plaintext, 'application/json')
    else throw new JweError('jwe_content_type', 'cty must be application/json or JWT')
    await next()
  }

  async function openNested(ctx: GateContext, plaintext: Uint8Array): Promise<void> {
    if (!nested) throw new JweError('jwe_content_type', 'nested JWTs are not accepted by this gate')
    const token = new TextDecoder().decode(plaintext).trim()
    let verified
    try {
      verified = await nested.verifier.verify(token)
    } catch (error) {
      if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
        ctx.facts.authFailure = error.code
      }
      throw new JweError('jwe_decrypt_failed', 'the nested JWT was refused', 401)
    }
    const body = verified.claims[bodyClaim]
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestError(
        `nested JWT needs an object "${bodyClaim}" claim`,
        'jwe_content_type',
      )
    }
    ctx.principal = verified.principal
    ctx.facts.principal = verified.principal.id
    ctx.facts.authMethod = 'nested_jwt'
    ctx.state.set(NESTED_JWT, token)
    ctx.replaceBody(encoder.encode(JSON.stringify(body)), 'application/json')
  }
}

/** A sealed request must arrive at the method and path it was sealed for (`htm`, `htp`). */
function checkBinding(ctx: GateContext, header: Record<string, unknown>, required: boolean): void {
  const { htm, htp } = header
  if (htm === undefined && htp === undefined) {
    if (required)
      throw new JweError('jwe_unbound', 'the JWE must name its request (htm and htp headers)')
    return
  }
  if (htm !== ctx.method || htp !== ctx.url.pathname)
    throw new JweError('jwe_request_mismatch', 'the JWE was sealed for another request')
}

function responseKeyOf(value: unknown): JWK {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new JweError('jwe_response_key', 'rjwk must be a public JWK')
  const jwk = value as JWK
  const alg = jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW'
  try {
    checkKeyShape({ ...jwk, alg }, 'rjwk', false)
  } catch {
    throw new JweError(
      'jwe_response_key',
      'rjwk must be a public EC, X25519 or RSA (>= 2048 bit) key',
    )
  }
  return { ...jwk, alg }
}

import type { Plugin } from '@modelgate/core'
import {
  calculateJwkThumbprint,
  CompactEncrypt,
  importJWK,
  type CompactJWEHeaderParameters,
  type JWK,
} from 'jose'
import { DECRYPTED_REQUEST } from '../decrypt/index.js'
import { JweError } from '../errors.js'
import { checkKeyShape } from '../jwe/policy.js'
import type { DecryptedRequest, EncryptOptions, KeyManagementAlgorithm } from '../types.js'

/**
 * Encrypts the response of every encrypted request to the client's key, as a compact JWE
 * (`Content-Type: application/jose`, `A256GCM`; `ECDH-ES+A256KW` for EC/X25519 keys,
 * `RSA-OAEP-256` for RSA keys). The key is the one the request named in its protected header:
 * a registered key (`rkid`) or an ephemeral public key (`rjwk`). The response's protected header
 * binds it to its request: `rid` (the gate's request id), `rjti` (the request's `jti`), `iat`,
 * and `cty` (the plaintext's media type), so a response cannot be replayed for another request.
 *
 * Must run inside {@link decrypt} (later in the plugin list). Requests that came in plaintext
 * get plaintext responses; error responses (thrown errors) are never encrypted and carry only
 * the generic `{"error"}` JSON.
 *
 * @example
 * ```ts
 * const gate = createGate({ models, plugins: [decrypt({ keys: [gateJwk] }), sign({ key }), encrypt({ clientKeys: [partnerJwk] })] })
 * ```
 */
export const encrypt = (options: EncryptOptions = {}): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('encrypt: options must be an object')
  const allowEphemeral = options.allowEphemeral ?? true
  const required = options.required ?? true
  let lookup: ((kid: string) => Promise<JWK | undefined>) | undefined
  if (Array.isArray(options.clientKeys)) {
    const byKid = new Map<string, JWK>()
    options.clientKeys.forEach((jwk, i) => {
      const at = `encrypt: clientKeys[${i}]`
      if (!jwk || typeof jwk.kid !== 'string' || jwk.kid === '')
        throw new TypeError(`${at} needs a kid`)
      if (byKid.has(jwk.kid)) throw new TypeError(`${at}: duplicate kid "${jwk.kid}"`)
      byKid.set(jwk.kid, { ...jwk, alg: algorithmFor(jwk) })
      checkKeyShape(byKid.get(jwk.kid)!, at, false)
    })
    lookup = async (kid) => byKid.get(kid)
  } else if (typeof options.clientKeys === 'function') {
    lookup = options.clientKeys
  } else if (options.clientKeys !== undefined) {
    throw new TypeError('encrypt: clientKeys must be an array of JWKs or a function')
  }

  return async function encrypt(ctx, next) {
    const info = ctx.state.get(DECRYPTED_REQUEST) as DecryptedRequest | undefined
    if (!info) return next()
    let key: JWK | undefined
    if (info.responseKeyId !== undefined) {
      const found = lookup ? await lookup(info.responseKeyId) : undefined
      if (!found) throw new JweError('jwe_response_key', 'rkid names no registered client key')
      key = { ...found, alg: algorithmFor(found) }
    } else if (info.responseKey) {
      if (!allowEphemeral)
        throw new JweError('jwe_response_key', 'ephemeral response keys are not accepted')
      key = info.responseKey
    } else if (required) {
      throw new JweError(
        'jwe_response_key',
        'encrypted requests must name a response key (rjwk or rkid)',
      )
    }
    await next()
    if (!key) return
    const bytes = ctx.responseBytes()
    const cty = ctx.headers.get('content-type') ?? 'application/json'
    const alg = key.alg as KeyManagementAlgorithm
    const kid = key.kid ?? (await calculateJwkThumbprint(key))
    const header: CompactJWEHeaderParameters = {
      alg,
      enc: 'A256GCM',
      kid,
      cty,
      rid: ctx.requestId,
      iat: Math.floor(Date.now() / 1000),
    }
    if (info.jti !== undefined) header.rjti = info.jti
    const { key_ops: _ops, use: _use, ext: _ext, ...publicJwk } = key
    const jwe = await new CompactEncrypt(bytes)
      .setProtectedHeader(header)
      .encrypt(await importJWK(publicJwk, alg))
    ctx.body = jwe
    ctx.headers.set('content-type', 'application/jose')
    ctx.headers.set('cache-control', 'no-store')
    ctx.audit.responseEncryption = { alg, kid }
  }
}

function algorithmFor(jwk: JWK): KeyManagementAlgorithm {
  return jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW'
}

import { checkOptionKeys, type GateContext, type Plugin } from '@modelgate/core'
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

const OPTIONS = { clientKeys: true, allowEphemeral: true } as const
const encoder = new TextEncoder()

/** The key an answer is sealed to, imported and checked before the model runs. */
interface ResponseTarget {
  key: CryptoKey | Uint8Array
  alg: KeyManagementAlgorithm
  kid: string
}

/**
 * Seals the answer of every encrypted request to the client's key, as a compact JWE
 * (`Content-Type: application/jose`, `A256GCM`; `ECDH-ES+A256KW` for EC/X25519 keys,
 * `RSA-OAEP-256` for RSA keys), on every route: infer, V1, explain, routes plugins contribute
 * and `protect()`ed handlers. The key is the one the request named in its protected header: a
 * registered key (`rkid`) or an ephemeral public key (`rjwk`). The answer's protected header
 * binds it to its request: `rid` (the gate's request id, `x-request-id` of the answer), `rjti`
 * (the request's `jti`), `iat`, and `cty` (the plaintext's media type).
 *
 * The plugin's position does not matter: the response key is located and fully validated
 * (imported with Web Crypto, so an EC point off its curve is refused) after every plugin's way
 * in and before the model runs, so a request without a usable key gets 400 `jwe_response_key`
 * and never reaches the model; the answer is sealed after core encoded it, before any signature.
 * There is no way to answer an encrypted request in plaintext: error answers (4xx/5xx) carry only
 * the generic `{"error", "code"}` JSON and are not encrypted. Requests that came in plaintext
 * get plaintext answers.
 *
 * @example
 * ```ts
 * const gate = createGate({ models, plugins: [encrypt({ clientKeys: [partnerJwk] }), decrypt({ keys: [gateJwk] }), sign({ key })] })
 * ```
 */
export const encrypt = (options: EncryptOptions = {}): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('encrypt: options must be an object')
  checkOptionKeys('encrypt', options, OPTIONS)
  const allowEphemeral = options.allowEphemeral ?? true
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
  // Registered keys are imported once; their checks hold for every request that names them.
  const registered = new Map<string, Promise<ResponseTarget>>()
  let probe: Promise<CryptoKey> | undefined

  async function responseTarget(info: DecryptedRequest): Promise<ResponseTarget> {
    if (info.responseKeyId !== undefined) {
      const found = lookup ? await lookup(info.responseKeyId) : undefined
      if (!found) throw new JweError('jwe_response_key', 'rkid names no registered client key')
      if (typeof options.clientKeys === 'function') return usable(found)
      let target = registered.get(info.responseKeyId)
      if (!target) {
        target = usable(found)
        registered.set(info.responseKeyId, target)
        target.catch(() => registered.delete(info.responseKeyId!))
      }
      return target
    }
    if (info.responseKey) {
      if (!allowEphemeral)
        throw new JweError('jwe_response_key', 'ephemeral response keys are not accepted')
      return usable(info.responseKey)
    }
    throw new JweError(
      'jwe_response_key',
      'encrypted requests must name a response key (rjwk or rkid)',
    )
  }

  /** Imports a public key with Web Crypto, which refuses points off their curve. */
  async function usable(jwk: JWK): Promise<ResponseTarget> {
    const alg = algorithmFor(jwk)
    const refuse = () =>
      new JweError('jwe_response_key', 'the response key is not a usable public key')
    const { key_ops: _ops, use: _use, ext: _ext, ...publicJwk } = { ...jwk, alg }
    let key: CryptoKey | Uint8Array
    try {
      checkKeyShape(publicJwk, 'response key', false)
      key = await importJWK(publicJwk, alg)
    } catch {
      throw refuse()
    }
    // X25519 has no curve check at import; a small-order point only fails at key agreement.
    if (jwk.kty === 'OKP') {
      probe ??= globalThis.crypto.subtle
        .generateKey({ name: 'X25519' }, false, ['deriveBits'])
        .then((pair) => (pair as CryptoKeyPair).privateKey)
      try {
        await globalThis.crypto.subtle.deriveBits(
          { name: 'X25519', public: key as CryptoKey } as never,
          await probe,
          256,
        )
      } catch {
        throw refuse()
      }
    }
    return { key, alg, kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)) }
  }

  function arm(ctx: GateContext): void {
    let target: ResponseTarget | undefined
    ctx.addCheck(async () => {
      const info = ctx.state.get(DECRYPTED_REQUEST) as DecryptedRequest | undefined
      if (info) target = await responseTarget(info)
    })
    ctx.onAnswer('seal', async (answer) => {
      // Without a target, core refuses the unsealed answer of a decrypted request.
      if (!target) return
      const info = ctx.state.get(DECRYPTED_REQUEST) as DecryptedRequest
      const header: CompactJWEHeaderParameters = {
        alg: target.alg,
        enc: 'A256GCM',
        kid: target.kid,
        cty: answer.headers.get('content-type') ?? 'application/json',
        rid: ctx.requestId,
        iat: Math.floor(Date.now() / 1000),
      }
      if (info.jti !== undefined) header.rjti = info.jti
      const jwe = await new CompactEncrypt(await bytesOf(answer.body))
        .setProtectedHeader(header)
        .encrypt(target.key)
      answer.body = encoder.encode(jwe)
      answer.headers.set('content-type', 'application/jose')
      answer.headers.set('cache-control', 'no-store')
      answer.headers.delete('content-length')
      answer.sealed = true
      ctx.facts.responseEncryption = { alg: target.alg, kid: target.kid }
    })
  }

  // Armed for every request that arrives as a JWE before any plugin runs, so the position of
  // encrypt in the list (before or after decrypt) does not matter.
  return Object.assign(
    async function encrypt(_ctx: GateContext, next: () => Promise<void>) {
      await next()
    },
    {
      onRequest(ctx: GateContext) {
        if (ctx.mediaType() === 'application/jose') arm(ctx)
      },
    },
  )
}

function algorithmFor(jwk: JWK): KeyManagementAlgorithm {
  return jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW'
}

/** The answer's bytes; a streamed answer is read to its end and sealed as one JWE. */
async function bytesOf(body: Uint8Array | ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0)
  if (body instanceof Uint8Array) return body
  return new Uint8Array(await new Response(body).arrayBuffer())
}

import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import type { KeyManagementAlgorithm, SignatureAlgorithm } from './types.js'

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
 * A fresh JWK pair with `kid` (default: the RFC 7638
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

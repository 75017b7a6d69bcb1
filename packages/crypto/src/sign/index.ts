import { checkOptionKeys, type EncodedAnswer, type GateContext, type Plugin } from '@modelgate/core'
import { FlattenedSign, flattenedVerify, importJWK, type JWK } from 'jose'
import { publicPart } from '../jwe/policy.js'
import type { SignOptions, SignatureAlgorithm, VerifiedSignature } from '../types.js'

const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['ES256', 'EdDSA']
const OPTIONS = { key: true, header: true, clock: true } as const
const EMPTY = new Uint8Array(0)

/**
 * Signs every answer of the gate as a JWS with a detached, unencoded payload (RFC 7797,
 * `b64: false`) over the exact bytes sent. The compact form `<protected>..<signature>` goes into
 * the `x-modelgate-signature` header. The protected header carries `alg`, `kid`, `rid` (the
 * gate's request id, `x-request-id` of the answer), `crid` (the client's `x-request-id`, when it
 * sent a valid one), `sts` (HTTP status), `htm` and `htp` (method and path of the request, as
 * the gate saw it) and `iat`, so a signature also proves which request, route and status it
 * answered.
 *
 * Every route's answer is signed the same way, error answers included (refusals by core, by the
 * adapter or by any plugin, whatever its position), after sealing: the signature covers the JWE
 * that is sent and reveals nothing about the plaintext. Streamed bodies (a `ReadableStream`, as
 * server-sent events) are sent unsigned.
 *
 * @example
 * ```ts
 * const gate = createGate({ models, plugins: [sign({ key: { ...ed25519PrivateJwk, kid: 'sig-2024', alg: 'EdDSA' } })] })
 * ```
 */
export const sign = (options: SignOptions): Plugin => {
  if (!options || typeof options !== 'object' || !options.key)
    throw new TypeError('sign: options.key is required')
  checkOptionKeys('sign', options, OPTIONS)
  const { key } = options
  if (!SIGNATURE_ALGORITHMS.includes(key.alg))
    throw new TypeError('sign: key.alg must be ES256 or EdDSA')
  if (typeof key.kid !== 'string' || key.kid === '')
    throw new TypeError('sign: key.kid is required')
  if (typeof key.d !== 'string') throw new TypeError('sign: key must be a private JWK')
  if (key.alg === 'ES256' && (key.kty !== 'EC' || key.crv !== 'P-256'))
    throw new TypeError('sign: ES256 needs a P-256 key')
  if (key.alg === 'EdDSA' && (key.kty !== 'OKP' || key.crv !== 'Ed25519'))
    throw new TypeError('sign: EdDSA needs an Ed25519 key')
  const headerName = (options.header ?? 'x-modelgate-signature').toLowerCase()
  if (!/^[a-z0-9-]+$/.test(headerName)) throw new TypeError('sign: header must be a header name')
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000))
  const { key_ops: _ops, use: _use, ext: _ext, ...jwk } = key
  let imported: Promise<CryptoKey | Uint8Array> | undefined

  async function signAnswer(answer: EncodedAnswer, ctx: GateContext): Promise<void> {
    if (answer.body instanceof ReadableStream) return
    const empty = ctx.method === 'HEAD' || answer.status === 204 || answer.status === 304
    imported ??= importJWK(jwk, key.alg)
    const clientRequestId = ctx.facts.clientRequestId
    const jws = await new FlattenedSign(empty ? EMPTY : (answer.body ?? EMPTY))
      .setProtectedHeader({
        alg: key.alg,
        kid: key.kid,
        b64: false,
        crit: ['b64'],
        rid: ctx.requestId,
        ...(clientRequestId !== undefined ? { crid: clientRequestId } : {}),
        sts: answer.status,
        htm: ctx.method,
        htp: ctx.url.pathname,
        iat: clock(),
      })
      .sign(await imported)
    answer.headers.set(headerName, `${jws.protected}..${jws.signature}`)
  }

  // The signing stage is registered for every request before any plugin runs, so refusals by
  // plugins outside this one (or by core and the adapter) are signed as well.
  return Object.assign(
    async function sign(_ctx: GateContext, next: () => Promise<void>) {
      await next()
    },
    {
      onRequest(ctx: GateContext) {
        ctx.onAnswer('sign', signAnswer)
      },
    },
  )
}

/**
 * The public half of a signing key, for clients and auditors (publish it as a JWKS).
 *
 * @example
 * ```ts
 * const jwks = { keys: [signingPublicKey(signingJwk)] }
 * ```
 */
export function signingPublicKey(key: JWK): JWK {
  return publicPart(key)
}

/**
 * Verifies a response signature made by {@link sign} over the exact body bytes, against the
 * published public keys (chosen by `kid`; the key's `alg` must match). Optionally checks the
 * gate's request id, the client's request id, status, method and path it claims.
 *
 * @example
 * ```ts
 * const res = await fetch(url, { ...init, headers: { 'x-request-id': myId } })
 * const body = new Uint8Array(await res.arrayBuffer())
 * await verifyResponseSignature(body, res.headers.get('x-modelgate-signature')!, [publicJwk], {
 *   requestId: res.headers.get('x-request-id')!, clientRequestId: myId, status: res.status,
 * })
 * ```
 */
export async function verifyResponseSignature(
  body: Uint8Array,
  signature: string,
  keys: JWK[],
  expect: {
    requestId?: string
    clientRequestId?: string
    status?: number
    method?: string
    path?: string
  } = {},
): Promise<VerifiedSignature> {
  const parts = typeof signature === 'string' ? signature.split('.') : []
  if (parts.length !== 3 || parts[1] !== '' || parts[0]!.length > 4096)
    throw new Error('signature is not a compact detached JWS')
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<
      string,
      unknown
    >
  } catch {
    throw new Error('signature header is not JSON')
  }
  const alg = header.alg as SignatureAlgorithm
  if (!SIGNATURE_ALGORITHMS.includes(alg)) throw new Error('signature algorithm not allowed')
  const jwk = keys.find((k) => k.kid === header.kid)
  if (!jwk) throw new Error('no key for the signature kid')
  if (jwk.alg !== undefined && jwk.alg !== alg)
    throw new Error('signature algorithm does not match the key')
  if (header.b64 !== false) throw new Error('signature must use an unencoded detached payload')
  try {
    await flattenedVerify(
      { protected: parts[0]!, payload: body, signature: parts[2]! },
      await importJWK(publicPart(jwk), alg),
      {
        algorithms: [alg],
      },
    )
  } catch {
    throw new Error('signature does not verify')
  }
  if (
    (expect.requestId !== undefined && header.rid !== expect.requestId) ||
    (expect.clientRequestId !== undefined && header.crid !== expect.clientRequestId)
  )
    throw new Error('signature is for another request')
  if (expect.status !== undefined && header.sts !== expect.status)
    throw new Error('signature is for another status')
  if (
    (expect.method !== undefined && header.htm !== expect.method) ||
    (expect.path !== undefined && header.htp !== expect.path)
  )
    throw new Error('signature is for another route')
  return {
    kid: String(header.kid),
    alg,
    requestId: String(header.rid),
    ...(typeof header.crid === 'string' ? { clientRequestId: header.crid } : {}),
    status: Number(header.sts),
    issuedAt: Number(header.iat),
    method: String(header.htm),
    path: String(header.htp),
  }
}

function base64urlDecode(s: string): Uint8Array {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

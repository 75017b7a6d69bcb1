import {
  CompactEncrypt,
  compactDecrypt,
  exportJWK,
  flattenedVerify,
  generateKeyPair,
  importJWK,
  type CompactJWEHeaderParameters,
  type JWK,
} from 'jose'
import { checkOptionKeys } from '@modelgate/core'
import { ModelgateError } from './errors.js'
import type {
  CallOptions,
  ClientOptions,
  ClientResult,
  ExplainRecordsResponseBody,
  ExplainResponseBody,
  InferRequestBody,
  InferResponseBody,
  PredictResponseBody,
} from './types.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const GATE_ALGS = ['ECDH-ES+A256KW', 'RSA-OAEP-256'] as const
const SIGNATURE_ALGS = ['ES256', 'EdDSA']
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const OPTIONS = {
  baseUrl: true,
  token: true,
  headers: true,
  encryption: { gateKey: true, responseKey: true },
  signature: { keys: true, header: true, required: true },
  fetch: true,
  timeoutMs: true,
} as const

/**
 * A modelgate client.
 *
 * @example
 * ```ts
 * const res = await client.infer('credit', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })
 * ```
 */
export interface ModelgateClient {
  /** `POST /v2/models/{model}[/versions/{v}]/infer`. */
  infer(model: string, body: InferRequestBody, options?: CallOptions): Promise<InferResponseBody>
  /** `POST /v2/models/{model}/explain` (`parameters.explainer` picks the method). */
  explain(
    model: string,
    body: InferRequestBody,
    options?: CallOptions,
  ): Promise<ExplainResponseBody>
  /** `POST /v1/models/{model}:predict` with `instances`. */
  predict<P = unknown>(
    model: string,
    instances: unknown[],
    options?: CallOptions & { parameters?: Record<string, unknown> },
  ): Promise<PredictResponseBody<P>>
  /** `POST /v1/models/{model}:explain` with `instances`. */
  explainRecords<P = unknown>(
    model: string,
    instances: unknown[],
    options?: CallOptions & { parameters?: Record<string, unknown> },
  ): Promise<ExplainRecordsResponseBody<P>>
  /** Any route, with the same token, encryption and signature handling. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: CallOptions,
  ): Promise<ClientResult<T>>
}

/**
 * Creates a client for Node (>= 20) and browsers: `fetch` and WebCrypto only. It attaches the
 * bearer token and an `x-request-id`, encrypts request bodies as compact JWE to the gate's key
 * (with `jti`, `iat`, the method and path, and the response key in the protected header),
 * verifies the response signature over the exact bytes received (before decrypting; error
 * answers too) and that it names this request (`crid`: the id sent, `rid`: the gate's id in
 * `x-request-id`), decrypts the response and checks that its `rjti` is this request's `jti`.
 * A gate answers an encrypted request sealed on every route, or with an error; a plaintext
 * success is refused. Errors come back as {@link ModelgateError}.
 *
 * @example
 * ```ts
 * import { createClient } from '@modelgate/client'
 *
 * const client = createClient({
 *   baseUrl: 'https://gate.example',
 *   token: async () => (await auth.getToken()).access_token,
 *   encryption: { gateKey: gatePublicJwk },
 *   signature: { keys: gateSigningJwks.keys },
 * })
 * const { predictions } = await client.predict<{ default_probability: number }>('credit', [{ income: 52000, purpose: 'car' }])
 * ```
 */
export function createClient(options: ClientOptions): ModelgateClient {
  if (!options || typeof options.baseUrl !== 'string')
    throw new TypeError('createClient: baseUrl is required')
  checkOptionKeys('createClient', options, OPTIONS)
  let base: URL
  try {
    base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`)
  } catch {
    throw new TypeError('createClient: baseUrl must be an absolute URL')
  }
  const doFetch = options.fetch ?? globalThis.fetch?.bind(globalThis)
  if (typeof doFetch !== 'function') throw new TypeError('createClient: no fetch available')
  const timeoutMs = options.timeoutMs ?? 30_000
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError('createClient: timeoutMs must be positive')
  if (
    options.token !== undefined &&
    typeof options.token !== 'string' &&
    typeof options.token !== 'function'
  ) {
    throw new TypeError('createClient: token must be a string or a function')
  }
  const enc = options.encryption
  let gateKey: Promise<CryptoKey | Uint8Array> | undefined
  let gateAlg: (typeof GATE_ALGS)[number] | undefined
  let registered:
    | { kid: string; key: Promise<CryptoKey | Uint8Array>; alg: (typeof GATE_ALGS)[number] }
    | undefined
  if (enc) {
    const k = enc.gateKey
    if (!k || !GATE_ALGS.includes(k.alg as never) || typeof k.kid !== 'string') {
      throw new TypeError(
        'createClient: encryption.gateKey needs kid and alg ECDH-ES+A256KW or RSA-OAEP-256',
      )
    }
    if (PRIVATE_MEMBERS.some((m) => m in k))
      throw new TypeError('createClient: encryption.gateKey must be the public key')
    gateAlg = k.alg as (typeof GATE_ALGS)[number]
    gateKey = importJWK(strip(k), gateAlg)
    gateKey.catch(() => undefined)
    const rk = enc.responseKey ?? 'ephemeral'
    if (rk !== 'ephemeral') {
      if (typeof rk !== 'object' || typeof rk.kid !== 'string' || typeof rk.d !== 'string') {
        throw new TypeError(
          'createClient: encryption.responseKey must be "ephemeral" or a private JWK with kid',
        )
      }
      const alg = rk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW'
      registered = { kid: rk.kid, alg, key: importJWK(strip({ ...rk, alg }), alg) }
      registered.key.catch(() => undefined)
    }
  }
  const sig = options.signature
  const sigHeader = (sig?.header ?? 'x-modelgate-signature').toLowerCase()
  if (sig && (!Array.isArray(sig.keys) || sig.keys.length === 0))
    throw new TypeError("createClient: signature.keys must list the gate's public keys")
  if (sig?.keys.some((k) => PRIVATE_MEMBERS.some((m) => m in k) || typeof k.kid !== 'string')) {
    throw new TypeError('createClient: signature.keys must be public keys with kid')
  }
  const sigRequired = sig?.required ?? true

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    call: CallOptions = {},
  ): Promise<ClientResult<T>> {
    const url = new URL(path.replace(/^\//, ''), base)
    if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname))
      throw new TypeError(`request path ${JSON.stringify(path)} leaves the base URL`)
    // The path as the gate sees it, bound into the JWE and checked in the response signature.
    const routePath = url.pathname.slice(base.pathname.length - 1)
    const requestId = call.requestId ?? globalThis.crypto.randomUUID()
    const headers = new Headers(options.headers)
    headers.set('x-request-id', requestId)
    headers.set('accept', 'application/json, application/jose')
    if (options.token !== undefined) {
      const token = typeof options.token === 'function' ? await options.token() : options.token
      headers.set('authorization', `Bearer ${token}`)
    }
    let payload: Uint8Array | undefined
    let responseKey: Promise<CryptoKey | Uint8Array> | undefined
    let responseAlg: string | undefined
    let jti: string | undefined
    if (body !== undefined) {
      payload = body instanceof Uint8Array ? body : encoder.encode(JSON.stringify(body))
      headers.set('content-type', 'application/json')
      if (enc) {
        jti = globalThis.crypto.randomUUID()
        const header: CompactJWEHeaderParameters = {
          alg: gateAlg!,
          enc: 'A256GCM',
          kid: enc.gateKey.kid!,
          cty: 'application/json',
          jti,
          iat: Math.floor(Date.now() / 1000),
          htm: method,
          htp: routePath,
        }
        if (registered) {
          header.rkid = registered.kid
          responseKey = registered.key
          responseAlg = registered.alg
        } else {
          const pair = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })
          header.rjwk = strip(await exportJWK(pair.publicKey))
          responseKey = Promise.resolve(pair.privateKey)
          responseAlg = 'ECDH-ES+A256KW'
        }
        payload = encoder.encode(
          await new CompactEncrypt(payload).setProtectedHeader(header).encrypt(await gateKey!),
        )
        headers.set('content-type', 'application/jose')
      }
    }
    const signal = call.signal
      ? AbortSignal.any([call.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs)
    const res = await doFetch(url, {
      method,
      headers,
      ...(payload ? { body: payload as Uint8Array<ArrayBuffer> } : {}),
      signal,
    })
    const raw = new Uint8Array(await res.arrayBuffer())
    // The gate's own id of this request; the id sent here comes back as `crid` in the signature.
    const rid = res.headers.get('x-request-id') ?? undefined
    let signedBy: string | undefined
    const jws = res.headers.get(sigHeader)
    // Error answers are signed too: an unsigned or forged refusal is not taken for the gate's.
    if (sig && (jws !== null || sigRequired)) {
      if (jws === null)
        throw new ModelgateError(
          res.status,
          'client_signature_missing',
          res.ok
            ? 'the response is not signed'
            : `the error answer (HTTP ${res.status}) is not signed`,
          rid,
        )
      signedBy = await verifySignature(raw, jws, {
        rid,
        requestId,
        status: res.status,
        method,
        routePath,
      })
    }
    if (!res.ok) {
      let code = 'http_error'
      let message = `HTTP ${res.status}`
      try {
        const parsed = JSON.parse(decoder.decode(raw)) as { code?: unknown; error?: unknown }
        if (typeof parsed.code === 'string') code = parsed.code
        if (typeof parsed.error === 'string') message = parsed.error
      } catch {
        /* not JSON: keep the generic message */
      }
      throw new ModelgateError(res.status, code, message, rid)
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    let plaintext: Uint8Array = raw
    let encrypted = false
    if (type === 'application/jose') {
      if (!responseKey)
        throw new ModelgateError(
          res.status,
          'client_unexpected_jwe',
          'the response is encrypted but no response key was sent',
          rid,
        )
      let result
      try {
        result = await compactDecrypt(decoder.decode(raw).trim(), await responseKey, {
          keyManagementAlgorithms: [responseAlg as (typeof GATE_ALGS)[number]],
          contentEncryptionAlgorithms: ['A256GCM'],
        })
      } catch {
        throw new ModelgateError(
          res.status,
          'client_decrypt_failed',
          'the response could not be decrypted',
          rid,
        )
      }
      const h = result.protectedHeader as Record<string, unknown>
      if (h.rjti !== jti || rid === undefined || h.rid !== rid)
        throw new ModelgateError(
          res.status,
          'client_response_unbound',
          'the response belongs to another request',
          rid,
        )
      plaintext = result.plaintext
      encrypted = true
    } else if (enc && payload) {
      throw new ModelgateError(
        res.status,
        'client_response_not_encrypted',
        'an encrypted request got a plaintext response',
        rid,
      )
    }
    let parsed: unknown
    try {
      parsed = plaintext.byteLength === 0 ? undefined : JSON.parse(decoder.decode(plaintext))
    } catch {
      throw new ModelgateError(res.status, 'client_bad_response', 'the response is not JSON', rid)
    }
    return {
      body: parsed as T,
      status: res.status,
      requestId: rid ?? '',
      clientRequestId: requestId,
      encrypted,
      ...(signedBy ? { signedBy } : {}),
    }
  }

  async function verifySignature(
    body: Uint8Array,
    jws: string,
    sent: {
      rid: string | undefined
      requestId: string
      status: number
      method: string
      routePath: string
    },
  ): Promise<string> {
    const { rid, requestId, status } = sent
    const fail = (message: string) =>
      new ModelgateError(status, 'client_signature_invalid', message, rid)
    const parts = jws.split('.')
    if (parts.length !== 3 || parts[1] !== '' || parts[0]!.length > 4096)
      throw fail('the signature is not a compact detached JWS')
    let header: Record<string, unknown>
    try {
      header = JSON.parse(decoder.decode(b64urlDecode(parts[0]!))) as Record<string, unknown>
    } catch {
      throw fail('the signature header is not JSON')
    }
    const alg = String(header.alg)
    if (!SIGNATURE_ALGS.includes(alg) || header.b64 !== false)
      throw fail('the signature algorithm or encoding is not allowed')
    const jwk = sig!.keys.find((k) => k.kid === header.kid)
    if (!jwk || (jwk.alg !== undefined && jwk.alg !== alg))
      throw fail('no trusted key for the signature')
    try {
      await flattenedVerify(
        { protected: parts[0]!, payload: body, signature: parts[2]! },
        await importJWK(strip(jwk), alg),
        { algorithms: [alg] },
      )
    } catch {
      throw fail('the response signature does not verify')
    }
    if (
      rid === undefined ||
      header.rid !== rid ||
      header.crid !== requestId ||
      header.sts !== status
    )
      throw fail('the signature belongs to another request or status')
    if (header.htm !== sent.method || header.htp !== sent.routePath)
      throw fail('the signature is for another route')
    return String(header.kid)
  }

  const segment = (name: unknown, what: string) => {
    if (typeof name !== 'string' || name === '' || name === '.' || name === '..')
      throw new TypeError(`${what} must be a non-empty name other than "." and ".."`)
    return encodeURIComponent(name)
  }
  const modelPath = (model: string, version?: string) =>
    `v2/models/${segment(model, 'model')}${version === undefined ? '' : `/versions/${segment(version, 'version')}`}`
  const v1Path = (model: string, verb: 'predict' | 'explain') =>
    `v1/models/${segment(model, 'model')}:${verb}`

  return {
    request,
    async infer(model, body, call = {}) {
      return (
        await request<InferResponseBody>(
          'POST',
          `${modelPath(model, call.version)}/infer`,
          body,
          call,
        )
      ).body
    },
    async explain(model, body, call = {}) {
      return (
        await request<ExplainResponseBody>(
          'POST',
          `${modelPath(model, call.version)}/explain`,
          body,
          call,
        )
      ).body
    },
    async predict(model, instances, call = {}) {
      const body = { instances, ...(call.parameters ? { parameters: call.parameters } : {}) }
      return (
        await request<PredictResponseBody<never>>('POST', v1Path(model, 'predict'), body, call)
      ).body
    },
    async explainRecords(model, instances, call = {}) {
      const body = { instances, ...(call.parameters ? { parameters: call.parameters } : {}) }
      return (
        await request<ExplainRecordsResponseBody<never>>(
          'POST',
          v1Path(model, 'explain'),
          body,
          call,
        )
      ).body
    },
  }
}

function strip(jwk: JWK): JWK {
  const { key_ops: _ops, use: _use, ext: _ext, ...rest } = jwk
  return rest
}

function b64urlDecode(s: string): Uint8Array {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

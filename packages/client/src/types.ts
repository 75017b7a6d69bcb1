import type { Datatype, InferResponseJson, Parameters } from '@modelgate/core'
import type { JWK } from 'jose'

/**
 * One input tensor of an Open Inference Protocol (V2) request, as JSON.
 *
 * @example
 * ```ts
 * const x: InferInput = { name: 'features', datatype: 'FP32', shape: [1, 3], data: [0.1, 0.2, 0.3] }
 * ```
 */
export interface InferInput {
  name: string
  datatype: Datatype
  shape: number[]
  data: Array<number | string | boolean> | unknown[]
  parameters?: Parameters
}

/**
 * An OIP V2 infer (or explain) request body.
 *
 * @example
 * ```ts
 * const req: InferRequestBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }
 * ```
 */
export interface InferRequestBody {
  id?: string
  inputs: InferInput[]
  outputs?: Array<{ name: string; parameters?: Parameters }>
  parameters?: Parameters
}

/**
 * An OIP V2 infer response body.
 *
 * @example
 * ```ts
 * const probability = (res as InferResponseBody).outputs[0].data[0]
 * ```
 */
export type InferResponseBody = InferResponseJson

/**
 * One explanation per output, as the explain extension returns it.
 *
 * @example
 * ```ts
 * const shap = res.explanations[0].values[0]
 * ```
 */
export interface Explanation {
  output?: string
  base_value: number | number[]
  values: number[][] | number[][][]
  feature_names: string[]
  method: string
  [extra: string]: unknown
}

/**
 * The explain extension's V2 response: the infer response plus `explanations`.
 *
 * @example
 * ```ts
 * const top = res.explanations[0].feature_names[0]
 * ```
 */
export type ExplainResponseBody = InferResponseBody & { explanations: Explanation[] }

/**
 * A KServe V1 predict response.
 *
 * @example
 * ```ts
 * const { predictions } = await client.predict<{ approve: number }>('credit', [{ income: 52000 }])
 * ```
 */
export interface PredictResponseBody<P = unknown> {
  predictions: P[]
}

/**
 * A KServe V1 explain response: predictions plus explanations by feature name.
 *
 * @example
 * ```ts
 * const res: ExplainRecordsResponseBody = await client.explainRecords('credit', [{ income: 52000 }])
 * ```
 */
export interface ExplainRecordsResponseBody<P = unknown> extends PredictResponseBody<P> {
  explanations: Explanation[] | Record<string, unknown>
}

/**
 * How the client encrypts requests and receives encrypted responses.
 *
 * @example
 * ```ts
 * const e: ClientEncryption = { gateKey: { kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'gate-2024', alg: 'ECDH-ES+A256KW' } }
 * ```
 */
export interface ClientEncryption {
  /** The gate's public key (`ECDH-ES+A256KW` or `RSA-OAEP-256`), with `kid` and `alg`. */
  gateKey: JWK
  /**
   * The key the gate answers to: `'ephemeral'` (default; a fresh P-256 key pair per request,
   * the public half sent in the protected `rjwk` header), or a registered private key whose
   * `kid` the gate knows (sent as `rkid`).
   */
  responseKey?: 'ephemeral' | JWK
}

/**
 * Which keys response signatures must verify against.
 *
 * @example
 * ```ts
 * const s: ClientSignature = { keys: gateJwks.keys }
 * ```
 */
export interface ClientSignature {
  /** The gate's public signing keys (`ES256` / `EdDSA`), found by `kid`. */
  keys: JWK[]
  /** Header holding the detached JWS. Default `x-modelgate-signature`. */
  header?: string
  /** Refuse answers without a signature, error answers included. Default true. */
  required?: boolean
}

/**
 * Options of {@link createClient}.
 *
 * @example
 * ```ts
 * const client = createClient({ baseUrl: 'https://gate.example', token: () => getAccessToken() })
 * ```
 */
export interface ClientOptions {
  /** Base URL of the gate (path prefix kept). */
  baseUrl: string
  /** A bearer token, or a function returning one per request (refresh it there). */
  token?: string | (() => string | Promise<string>)
  /** Extra headers on every request (not sent for tokens: use `token`). */
  headers?: Record<string, string>
  encryption?: ClientEncryption
  signature?: ClientSignature
  /** A fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch
  /** Milliseconds per request before it is aborted. Default 30,000. */
  timeoutMs?: number
}

/**
 * Per-call options.
 *
 * @example
 * ```ts
 * await client.infer('credit', body, { version: '2', signal: AbortSignal.timeout(1000) })
 * ```
 */
export interface CallOptions {
  version?: string
  signal?: AbortSignal
  /**
   * Sent as `x-request-id` (default a random UUID): the gate records it beside its own id and
   * signs it back (`crid`), which the client checks.
   */
  requestId?: string
}

/**
 * What a call returns besides the body: the gate's request id and, when checked, who signed.
 *
 * @example
 * ```ts
 * const { body, requestId, signedBy } = await client.request('POST', '/v2/models/m/infer', body)
 * ```
 */
export interface ClientResult<T> {
  body: T
  status: number
  /** The gate's id of the request (`x-request-id` of the answer), as in its audit records. */
  requestId: string
  /** The `x-request-id` the client sent. */
  clientRequestId: string
  /** `kid` of the verified response signature, when there was one. */
  signedBy?: string
  /** True when the response arrived encrypted and was decrypted. */
  encrypted: boolean
}

import type { ModelMetadata } from '@modelgate/core'

/**
 * Wire protocol of the remote model server.
 *
 * - `v2`: Open Inference Protocol (Triton, KServe V2, MLServer, another modelgate).
 * - `v1`: KServe V1 (`:predict` with `instances` / `predictions`).
 * - `tfserving`: TensorFlow Serving REST API.
 *
 * @example
 * ```ts
 * const protocol: RemoteProtocol = 'v2'
 * ```
 */
export type RemoteProtocol = 'v2' | 'v1' | 'tfserving'

/**
 * Options of {@link createRemoteBackend}. Checked once, at factory time; a bad option throws a
 * `TypeError` naming it.
 *
 * @example
 * ```ts
 * const options: RemoteBackendOptions = {
 *   url: 'http://triton:8000',
 *   protocol: 'v2',
 *   model: 'credit',
 *   timeoutMs: 2000,
 *   headers: { authorization: `Bearer ${process.env.TRITON_TOKEN}` },
 * }
 * ```
 */
export interface RemoteBackendOptions {
  /** Base URL of the model server (`http(s)://host:port[/prefix]`). Credentials in it become a Basic `authorization` header. */
  url: string
  protocol: RemoteProtocol
  /** Model name on the remote server. */
  model: string
  /** Model version on the remote server (`v2` and `tfserving`); the server's default when absent. */
  version?: string
  /** Time limit of one attempt, from sending the request to the last byte of the answer. Default 10,000. */
  timeoutMs?: number
  /** Extra attempts after a retryable failure. Default 2. */
  retries?: number
  /** First backoff delay; doubles per attempt, with jitter. Default 100. */
  retryBaseDelayMs?: number
  /** Upper bound of one backoff delay. Default 2,000. */
  retryMaxDelayMs?: number
  /** Upstream statuses that are retried (5xx only). Default `[502, 503, 504]`. */
  retryStatuses?: number[]
  /**
   * Also retry an inference call that timed out. Off by default: the upstream may still be
   * computing the timed-out call, so a retry doubles the load at the worst moment and repeats any
   * side effect of the model. Turn on for models that are idempotent and cheap.
   */
  retryTimeouts?: boolean
  /** Sent with every upstream request (for example the upstream's own authorization). */
  headers?: Record<string, string>
  /**
   * The model's metadata. Required for `v1`. For `tfserving` it is derived from the signature
   * when absent; for `v2` it is read from the server when absent.
   */
  metadata?: ModelMetadata
  /** TF Serving signature to call. Default: the server's default (`serving_default`). */
  signatureName?: string
  /**
   * How long a successful exchange with the upstream counts as proof of readiness, sparing a
   * readiness probe per request. `0` probes on every `ready()`. Default 1,000.
   */
  readyCacheMs?: number
  /** Largest upstream answer read, in bytes. Default 64 MiB. */
  maxResponseBytes?: number
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch
}

import type { ModelBackend, Parameters, Tensor } from '@modelgate/core'
import type { RemoteBackendOptions } from '@modelgate/backend-remote'
import type { ClientEncryption, ClientSignature } from '@modelgate/client'

/**
 * State of a {@link CircuitBreaker}: `closed` lets calls through, `open` refuses them until the
 * cool-down has passed, `half-open` lets one probe through whose outcome closes or reopens it.
 *
 * @example
 * ```ts
 * if (hybrid.status().breaker === 'open') console.warn('cloud unreachable: the edge answers alone')
 * ```
 */
export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Options of {@link createCircuitBreaker}.
 *
 * @example
 * ```ts
 * const options: CircuitBreakerOptions = { failureThreshold: 3, cooldownMs: 5000 }
 * ```
 */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 3. */
  failureThreshold?: number
  /** How long the breaker stays open before one probe may go through. Default 5,000 ms. */
  cooldownMs?: number
  /** Called on every state change. */
  onStateChange?: (state: BreakerState, previous: BreakerState) => void
}

/**
 * A circuit breaker guarding calls to the cloud. One breaker may be shared by a hybrid backend and
 * a {@link forwardExplain} plugin so that both see the same outage.
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({ failureThreshold: 2 })
 * if (breaker.allow()) {
 *   try {
 *     await callCloud()
 *     breaker.success()
 *   } catch {
 *     breaker.failure()
 *   }
 * }
 * ```
 */
export interface CircuitBreaker {
  readonly state: BreakerState
  /** Consecutive failures counted so far. */
  readonly failures: number
  /**
   * Whether a call may go now. In `half-open` only one caller gets `true` until it reports back;
   * a caller that got `true` must report `success()`, `failure()` or `release()`.
   */
  allow(): boolean
  success(): void
  failure(): void
  /** Gives back a permit without an outcome (the caller went away); a half-open probe is freed. */
  release(): void
}

/**
 * When a row is not confident enough for the edge. For a one-column output (a probability), a
 * row whose value lies within `band` of `center` is escalated; for a wider output (class
 * probabilities), a row whose largest value is below `minTop` is.
 *
 * @example
 * ```ts
 * const confidence: ConfidencePolicy = { output: 'default_probability', band: 0.15 }
 * ```
 */
export interface ConfidencePolicy {
  /** Output tensor read for the decision. */
  output: string
  /** Half-width of the uncertain band for one-column outputs. Default 0.1. */
  band?: number
  /** Centre of the band. Default 0.5. */
  center?: number
  /** For multi-column outputs: escalate when the top value is below this. Default 0.8. */
  minTop?: number
}

/**
 * How a hybrid backend splits work between the edge model and the cloud gate.
 *
 * @example
 * ```ts
 * const policy: RoutingPolicy = {
 *   confidence: { output: 'default_probability', band: 0.15 },
 *   latencyBudgetMs: 250,
 *   cloudAboveBytes: 256 * 1024,
 * }
 * ```
 */
export interface RoutingPolicy {
  /** Rows the edge model is unsure about go to the cloud (only those rows). Off when absent. */
  confidence?: ConfidencePolicy
  /**
   * Wall-clock budget of one call. The cloud gets what is left of it after the edge model ran;
   * a cloud that has not answered by then is abandoned and the edge answer is returned, marked
   * degraded. Default 1,000 ms.
   */
  latencyBudgetMs?: number
  /**
   * Requests whose input tensors are larger than this (bytes) are heavy, non-real-time work and go
   * to the cloud whole, without waiting for the latency budget (the caller's own deadline and
   * the remote's `timeoutMs` still apply); the edge answers them only when the cloud fails. Off
   * when absent.
   */
  cloudAboveBytes?: number
  /**
   * Never send more than this many bytes of inputs to the cloud for escalated rows; such requests
   * stay at the edge (not degraded: by choice). Off when absent.
   */
  maxEscalationBytes?: number
}

/**
 * What leaves the edge, handed to a {@link OutboundTransform} first: the decoded model inputs (the
 * escalated rows of an inference call, or the inputs of a forwarded explanation) with the
 * request's `parameters`. Records never leave: a V1 request goes as the tensors its feature
 * schema made, so fields that are not model inputs (names, e-mails, notes) stay at the edge.
 *
 * @example
 * ```ts
 * const payload: OutboundPayload = { kind: 'tensors', inputs, parameters: {} }
 * ```
 */
export interface OutboundPayload {
  kind: 'tensors'
  inputs: Tensor[]
  parameters?: Parameters
}

/**
 * The edge's last word on outbound data: dropping parameters, generalising or noising values. It
 * returns the payload to send; throwing refuses the escalation (the edge answers alone) or the
 * forwarded explanation (answered as the cloud being unavailable).
 *
 * @example
 * ```ts
 * const dropParameters: OutboundTransform = (payload) => ({ ...payload, parameters: {} })
 * ```
 */
export type OutboundTransform = (
  payload: OutboundPayload,
) => OutboundPayload | Promise<OutboundPayload>

/**
 * Where a call was answered, reported to `onRoute` and on every output tensor's `parameters`
 * (`route`, `degraded`, `cloud_rows`).
 *
 * - `edge`: the edge model alone, by policy.
 * - `cloud`: every row by the cloud.
 * - `mixed`: the edge model, with some rows replaced by the cloud's answers.
 *
 * @example
 * ```ts
 * const route: HybridRoute = 'mixed'
 * ```
 */
export type HybridRoute = 'edge' | 'cloud' | 'mixed'

/**
 * Why the cloud was wanted and not used.
 *
 * @example
 * ```ts
 * const reason: DegradedReason = 'breaker_open'
 * ```
 */
export type DegradedReason =
  | 'breaker_open'
  | 'budget_exhausted'
  | 'cloud_timeout'
  | 'cloud_error'
  | 'cloud_rejected'
  | 'outbound_refused'

/**
 * One routed call, reported to `onRoute` (for logs and metrics).
 *
 * @example
 * ```ts
 * const onRoute = (e: RouteEvent) => metrics.increment(`hybrid.${e.route}`, { degraded: e.degraded })
 * ```
 */
export interface RouteEvent {
  route: HybridRoute
  degraded: boolean
  reason?: DegradedReason
  rows: number
  /** Indices of the rows answered by the cloud. */
  cloudRows: number[]
  /** Indices of the rows the policy wanted in the cloud. */
  escalatedRows: number[]
  elapsedMs: number
  breaker: BreakerState
}

/**
 * Options of {@link createHybridBackend}.
 *
 * @example
 * ```ts
 * const options: HybridBackendOptions = {
 *   local: createTfjsBackend({ path: 'edge-model/model.json' }),
 *   remote: { url: 'https://cloud.example:8443', protocol: 'v2', model: 'credit' },
 *   policy: { confidence: { output: 'default_probability', band: 0.15 }, latencyBudgetMs: 250 },
 * }
 * ```
 */
export interface HybridBackendOptions {
  /** The edge model. Its metadata is the hybrid's metadata. */
  local: ModelBackend
  /**
   * The cloud: a backend (usually `createRemoteBackend` pointing at the cloud gate) or the options
   * of one. From options, the remote backend gets `retries: 0` unless given (the breaker and the
   * budget decide instead; a retry could answer one request twice upstream) and the edge model's
   * metadata. Put an encrypting client or an mTLS-capable `fetch` into `fetch`.
   */
  remote: ModelBackend | RemoteBackendOptions
  policy?: RoutingPolicy
  /** A breaker instance (to share) or options for a new one. */
  breaker?: CircuitBreaker | CircuitBreakerOptions
  /** Applied to everything sent to the cloud. */
  transformOutbound?: OutboundTransform
  onRoute?: (event: RouteEvent) => void
}

/**
 * Counters and state of a hybrid backend.
 *
 * @example
 * ```ts
 * const { breaker, calls } = hybrid.status()
 * ```
 */
export interface HybridStatus {
  breaker: BreakerState
  calls: { edge: number; cloud: number; mixed: number; degraded: number }
}

/**
 * A hybrid backend: a {@link ModelBackend} plus its breaker and counters.
 *
 * @example
 * ```ts
 * const hybrid: HybridBackend = createHybridBackend(options)
 * hybrid.status().breaker // 'closed'
 * ```
 */
export interface HybridBackend extends ModelBackend {
  readonly breaker: CircuitBreaker
  status(): HybridStatus
}

/**
 * Options of {@link forwardExplain}.
 *
 * @example
 * ```ts
 * const options: ForwardExplainOptions = { url: 'https://cloud.example:8443', timeoutMs: 30_000 }
 * ```
 */
export interface ForwardExplainOptions {
  /** Base URL of the cloud gate. */
  url: string
  /** Model name on the cloud gate. Default: the model the request names. */
  model?: string
  /** Time limit of the cloud call. Default 30,000 ms. */
  timeoutMs?: number
  /** Sent with every cloud request (the cloud gate's credentials, for example). */
  headers?: Record<string, string>
  /** The `fetch` to use (an encrypting client, an mTLS agent). Default: the global one. */
  fetch?: typeof fetch
  /** Applied to the inputs before they leave. */
  transformOutbound?: OutboundTransform
  /** Shared with the hybrid backend to see the same outage. Default: a breaker of its own. */
  breaker?: CircuitBreaker | CircuitBreakerOptions
  /**
   * When the cloud cannot answer: `error` answers 503 `cloud_unavailable`; `next` hands the request
   * to the next explainer (a local `explain` plugin inside this one; 503 when there is none).
   * Default `error`.
   */
  fallback?: 'error' | 'next'
  /** Largest cloud answer read, in bytes. Default 16 MiB. */
  maxResponseBytes?: number
}

/**
 * Options of {@link createSealedFetch}.
 *
 * @example
 * ```ts
 * const options: SealedFetchOptions = {
 *   gateKey: cloudPublicJwk,
 *   fetch: createMtlsFetch({ cert, key, ca }),
 * }
 * ```
 */
export interface SealedFetchOptions {
  /** The cloud gate's public JWE key (`ECDH-ES+A256KW` or `RSA-OAEP-256`) with `kid` and `alg`. */
  gateKey: ClientEncryption['gateKey']
  /** The key the cloud answers to. Default `'ephemeral'`: a fresh P-256 key pair per request. */
  responseKey?: ClientEncryption['responseKey']
  /** The cloud's response-signing keys: answers must carry a valid signature. Default: not checked. */
  signature?: ClientSignature
  /** The transport, e.g. an mTLS `fetch` ({@link createMtlsFetch}). Default: the global `fetch`. */
  fetch?: typeof fetch
  /** Longest time one call may take; the caller's signal applies too. Default 30,000 ms. */
  timeoutMs?: number
}

/**
 * Options of {@link createMtlsFetch} (`@modelgate/hybrid/node`): PEM text, as `modelgate ca` writes
 * it.
 *
 * @example
 * ```ts
 * const options: MtlsFetchOptions = { cert: edge.certPem, key: edge.keyPem, ca: ca.certPem }
 * ```
 */
export interface MtlsFetchOptions {
  /** The edge gate's client certificate (chain). */
  cert: string
  /** Its private key. */
  key: string
  /** The CA (or CAs) that the cloud gate's server certificate must chain to. */
  ca: string
  /** Host name checked against the server certificate when it differs from the URL's. */
  servername?: string
  /** Reuse connections. Default true. */
  keepAlive?: boolean
}

/**
 * A `fetch` over mutual TLS; `close()` ends its pooled connections.
 *
 * @example
 * ```ts
 * const mtls: MtlsFetch = createMtlsFetch({ cert, key, ca })
 * mtls.close()
 * ```
 */
export type MtlsFetch = typeof fetch & { close(): void }

/**
 * Where a hybrid gate answered a request, as the `hybridRoute` fact for the audit record: set by
 * {@link routeHeaders} from the hybrid backend's marks, and by {@link forwardExplain}.
 *
 * @example
 * ```ts
 * const fact: HybridRouteFact = { route: 'edge', degraded: true, reason: 'breaker_open' }
 * ```
 */
export interface HybridRouteFact {
  route: HybridRoute
  degraded: boolean
  reason?: DegradedReason
}

/**
 * Where {@link privacyRouting} sent a large-model request, as the `llmRoute` fact: `local` for a
 * prompt holding a never-leave entity type (`never_leave`) or one the gate could not scan
 * (`not_scanned`), `cloud` otherwise (`allowed`); `degraded` says why when the cloud was
 * unavailable and the local server answered instead (`breaker_open`, `cloud_error`,
 * `cloud_timeout`, `cloud_rejected`), or why the local server failed a never-leave request
 * (`breaker_open`, `local_error`, `local_timeout`, `local_rejected`).
 *
 * @example
 * ```ts
 * const fact: LlmRouteFact = { route: 'local', reason: 'allowed', degraded: 'breaker_open' }
 * ```
 */
export interface LlmRouteFact {
  route: 'local' | 'cloud'
  reason: 'never_leave' | 'not_scanned' | 'allowed'
  degraded?: DegradedReason | 'local_error' | 'local_timeout' | 'local_rejected'
}

/**
 * A routing decision of {@link privacyRouting}, for logs and metrics.
 *
 * @example
 * ```ts
 * const onRoute = (e: LlmRouteEvent) => console.log(e.tenant, e.model, e.route, e.reason)
 * ```
 */
export interface LlmRouteEvent extends LlmRouteFact {
  tenant: string
  model: string
}

/**
 * Options of {@link privacyRouting}.
 *
 * @example
 * ```ts
 * const options: PrivacyRoutingOptions = {
 *   local: createUpstream({ type: 'openai', url: 'http://10.0.0.5:8000/v1' }, 'chat'),
 *   neverLeave: { '*': ['US_SSN'], acme: ['US_SSN', 'PERSON'] },
 * }
 * ```
 */
export interface PrivacyRoutingOptions {
  /** The model server inside the trust boundary (at the edge, on premises). */
  local: import('@modelgate/llm').LlmUpstream
  /** The cloud model server. Default the model's own upstream. */
  cloud?: import('@modelgate/llm').LlmUpstream
  /** Entity types that never leave, by tenant; `*` applies to tenants not listed. */
  neverLeave: Record<string, string[]>
  /** Send never-leave prompts to the local server as they came instead of masked. Default false. */
  unmaskedLocal?: boolean
  /** The local server's breaker, or its options. */
  localBreaker?: CircuitBreaker | CircuitBreakerOptions
  /** The cloud server's breaker, or its options; share one with other cloud clients. */
  cloudBreaker?: CircuitBreaker | CircuitBreakerOptions
  /** Answer from the local server when the cloud is unavailable. Default true. */
  fallback?: boolean
  /** Called on every routing decision and fallback. */
  onRoute?: (event: LlmRouteEvent) => void
}

declare module '@modelgate/core' {
  interface GateFacts {
    /** Where a hybrid gate answered (edge, cloud or both), and why the cloud was skipped. */
    hybridRoute?: HybridRouteFact
    /** Where privacy routing sent a large-model request, and why. */
    llmRoute?: LlmRouteFact
  }
}

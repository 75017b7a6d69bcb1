import type { GateContext, RateLimitStore } from '@modelgate/core'
import type { PromptExplainLimits } from './attribution/explain.js'
import type { AttributionMethod } from './attribution/methods.js'
import type { ScoreName } from './attribution/scores.js'
import type { SegmentUnit } from './attribution/segments.js'
import type { WordLists } from './masking.js'

/**
 * The wire protocol an upstream speaks: OpenAI's (chat completions, completions, embeddings) or
 * Anthropic's Messages API.
 *
 * @example
 * ```ts
 * const protocol: LlmProtocol = 'anthropic'
 * ```
 */
export type LlmProtocol = 'openai' | 'anthropic'

/**
 * An upstream as a config describes it. `url` is the base URL: for OpenAI-compatible servers the
 * one their clients use (`http://127.0.0.1:8000/v1`, `https://api.openai.com/v1`, Azure's
 * `https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21`: a query stays at the
 * end of every call's URL), for Anthropic `https://api.anthropic.com` (with or without `/v1`).
 *
 * @example
 * ```ts
 * const upstream: UpstreamConfig = {
 *   type: 'openai',
 *   url: 'https://api.openai.com/v1',
 *   model: 'gpt-4o-mini',
 *   apiKeyEnv: 'OPENAI_API_KEY',
 * }
 * ```
 */
export interface UpstreamConfig {
  type: LlmProtocol
  url: string
  /** The upstream's name for the model; default the gate's model name. */
  model?: string
  /** The upstream API key, or a function that finds it (a keyring, a secret manager). */
  apiKey?:
    string | ((ctx: GateContext | undefined) => string | undefined | Promise<string | undefined>)
  /** Environment variable holding the key: the runtime's bindings at the edge, `process.env` in Node. */
  apiKeyEnv?: string
  /** Header carrying the key; default `authorization` (as `Bearer …`), `x-api-key` for Anthropic. Azure uses `api-key`. */
  apiKeyHeader?: string
  /** Extra headers sent with every call (never a credential: use `apiKey`). */
  headers?: Record<string, string>
  /** Milliseconds until the answer's headers arrive. Default 600,000. */
  timeoutMs?: number
  /** Milliseconds a stream may go without a read (the upstream silent, or the client taking nothing) before the call is abandoned. Default 120,000. */
  idleTimeoutMs?: number
  /** Retries when the upstream certainly did not run the call (connect failure, 408, 429, 502-504). Default 2. */
  retries?: number
  /** First backoff in milliseconds, doubled per retry, with jitter. Default 250. */
  retryBaseDelayMs?: number
  /** Longest wait between two attempts, `retry-after` included. Default 8,000. */
  retryMaxDelayMs?: number
  /** The fetch to use (a service binding at the edge); default the global one. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
  /** `anthropic-version` sent when the client sent none. Default `2023-06-01`. */
  anthropicVersion?: string
  /**
   * Ask OpenAI-compatible servers for the token usage of streamed chat and completions
   * (`stream_options.include_usage`, the usage chunk dropped again when the client did not ask
   * for it), so that it reaches the audit record and the budgets. Default true; turn it off for a
   * server that refuses `stream_options`.
   */
  streamUsage?: boolean
}

/**
 * One call to an upstream: the path under its base URL, the JSON body (already masked; the
 * upstream sets `model`), and whether the answer is a stream.
 *
 * @example
 * ```ts
 * const call: UpstreamCall = { path: '/chat/completions', body: { messages }, stream: false, signal: ctx.signal, ctx }
 * ```
 */
export interface UpstreamCall {
  path: string
  body: Record<string, unknown>
  stream: boolean
  signal: AbortSignal
  /** The request this call serves, for keys looked up per request and forwarded headers. */
  ctx?: GateContext
  /** Runtime bindings for `apiKeyEnv` when there is no context. */
  env?: unknown
}

/**
 * An upstream's answer once its headers arrived: the `Response` (its body not read yet), how
 * many attempts it took, and how to end the call (`abort`) or release it after reading (`done`).
 *
 * @example
 * ```ts
 * const { response, done } = await upstream.send(call)
 * const json = await response.json()
 * done()
 * ```
 */
export interface UpstreamResult {
  response: Response
  attempts: number
  /** How long the body may stay silent. */
  idleTimeoutMs: number
  abort(reason?: unknown): void
  done(): void
}

/**
 * A model server the LLM routes forward to. {@link createUpstream} makes one from a config;
 * anything with this shape works (a router choosing between an edge and a cloud server per
 * call, a test double), since a route only calls `send` with a masked body.
 *
 * @example
 * ```ts
 * const upstream: LlmUpstream = createUpstream({ type: 'openai', url: 'http://127.0.0.1:8000/v1' }, 'chat')
 * ```
 */
export interface LlmUpstream {
  readonly protocol: LlmProtocol
  /** The upstream's name for the model. */
  readonly model: string
  /** Whether streamed OpenAI answers may be asked for their usage (`stream_options`). Default true. */
  readonly streamUsage?: boolean
  send(call: UpstreamCall): Promise<UpstreamResult>
}

/**
 * A large model the gate serves, by the name clients use (`"model": "chat"`).
 *
 * @example
 * ```ts
 * const model: LlmModel = { name: 'chat', upstream: { type: 'openai', url: 'http://127.0.0.1:8000/v1' } }
 * ```
 */
export interface LlmModel {
  name: string
  upstream: UpstreamConfig | LlmUpstream
  /** Facts policies may read (owner, data classification, …), as for tensor models. */
  labels?: Record<string, string>
}

/**
 * A token budget: a bucket of `tokens` per key that refills over `perSeconds`, charged with the
 * estimated prompt tokens before the call and with the rest of the actual usage after it.
 *
 * @example
 * ```ts
 * const perTenant: TokenBudgetRule = { by: 'tenant', tokens: 1_000_000, perSeconds: 86_400 }
 * ```
 */
export interface TokenBudgetRule {
  by:
    | 'principal'
    | 'tenant'
    | 'model'
    | 'global'
    | ((ctx: GateContext, model: string) => string | undefined)
  tokens: number
  perSeconds: number
  /** Names the bucket in keys and in the `rateLimited` fact; default `by`. */
  name?: string
}

/**
 * What one tenant may do: the models it may use, the entity types that may leave unmasked, and
 * those whose presence refuses the request (422).
 *
 * @example
 * ```ts
 * const acme: TenantPolicy = { models: ['chat'], leave: ['URL'], refuse: ['US_SSN'] }
 * ```
 */
export interface TenantPolicy {
  models?: string[]
  leave?: string[]
  refuse?: string[]
}

/**
 * What a routing hook knows when it picks the upstream of one request: the model, the
 * operation, the tenant, and the entity types found in the prompt before masking (counts only).
 *
 * @example
 * ```ts
 * const select = (s: UpstreamSelection) => (s.entities.US_SSN ? onPremises : s.upstream)
 * ```
 */
export interface UpstreamSelection {
  ctx: GateContext
  model: string
  operation: 'chat' | 'embed'
  tenant: string
  entities: Readonly<Record<string, number>>
  /**
   * Whether the prompt was scanned for entities (the gate has the `mask` plugin). When it was
   * not, `entities` is empty whatever the prompt holds.
   */
  scanned: boolean
  /** The model's configured upstream. */
  upstream: LlmUpstream
}

/**
 * A routing hook's choice: the upstream, and whether it gets the prompt unmasked (only for
 * upstreams inside the trust boundary; the answer is then passed on as it is).
 *
 * @example
 * ```ts
 * const select = (s: UpstreamSelection): UpstreamChoice =>
 *   s.entities.US_SSN ? { upstream: onPremises, unmasked: true } : { upstream: s.upstream }
 * ```
 */
export interface UpstreamChoice {
  upstream: LlmUpstream
  unmasked?: boolean
}

/**
 * Options of {@link llm} and {@link llmRoutes}.
 *
 * @example
 * ```ts
 * const options: LlmOptions = {
 *   models: [{ name: 'chat', upstream: { type: 'openai', url: 'http://127.0.0.1:8000/v1' } }],
 *   budgets: [{ by: 'tenant', tokens: 100_000, perSeconds: 3600 }],
 *   tenants: { acme: { models: ['chat'], leave: ['URL'] } },
 * }
 * ```
 */
export interface LlmOptions {
  models: LlmModel[]
  /** Token budgets; none by default. */
  budgets?: TokenBudgetRule[]
  /** Where budgets are counted; default in-process. A shared store makes them hold across replicas. */
  budgetStore?: RateLimitStore
  /** Policies by tenant (`principal.tenant`, or the mask plugin's tenant); `*` applies to the rest. */
  tenants?: Record<string, TenantPolicy>
  /** Words never masked (added to {@link TECHNICAL_WORDS}) and words always masked. */
  words?: WordLists
  /** Embedding inputs: entities become keyed tokens (`tokens`, default) or refuse the request. */
  embeddings?: 'tokens' | 'refuse'
  /**
   * Whose placeholders an answer restores: the caller's own (`caller`, default), or only entity
   * types the access decision grants (`granted`: `unmask:<TYPE>` or `unmask:*`).
   */
  restore?: 'caller' | 'granted'
  /** Header carrying the conversation id. Default `x-modelgate-conversation`. */
  conversationHeader?: string
  /** How long a conversation's placeholders are kept. Default 24 hours. */
  conversationTtlMs?: number
  /**
   * Picks the upstream of each request (privacy routing); default the model's own. It may answer
   * `{ upstream, unmasked: true }` for an upstream inside the trust boundary (on premises, at the
   * edge), which then gets the prompt as the client sent it.
   */
  select?: (
    selection: UpstreamSelection,
  ) => LlmUpstream | UpstreamChoice | Promise<LlmUpstream | UpstreamChoice>
  /** Largest non-streamed upstream answer read, in bytes. Default 32 MiB. */
  maxAnswerBytes?: number
  /** Limits of prompt attributions (`POST /v1/explain/…`): calls per explanation, concurrency. */
  explain?: PromptExplainLimits
}

/**
 * Facts the LLM routes record for audit and metrics: model, route, token usage and how the call
 * went, never prompt text or values (entity counts are the mask plugin's `masking` fact). Usage
 * of a streamed answer is added when the stream ends.
 *
 * @example
 * ```ts
 * const f: LlmFacts = { model: 'chat', route: 'llm-chat', protocol: 'openai', stream: true, estimatedTokens: 412 }
 * ```
 */
export interface LlmFacts {
  model: string
  route: string
  protocol: LlmProtocol
  stream: boolean
  upstreamModel?: string
  /** Prompt tokens estimated with o200k before the call. */
  estimatedTokens?: number
  promptTokens?: number
  completionTokens?: number
  /** Upstream attempts (1 without retries). */
  attempts?: number
  upstreamStatus?: number
  /** Placeholders the answer could restore. */
  placeholders?: number
  /** `issued` when the gate started a conversation, `resumed` when the client sent one back. */
  conversation?: 'issued' | 'resumed'
  /** True when a routing hook sent the prompt unmasked to an upstream inside the trust boundary. */
  unmasked?: boolean
  /** The token budget that refused the request. */
  budget?: string
  /** How a stream ended: `done`, `client_closed`, `upstream_error`, `placeholder_incomplete`. */
  end?: string
  /** A prompt attribution: how it was made and the upstream calls it took (the answer's included). */
  explain?: {
    method: AttributionMethod
    unit: SegmentUnit
    score: ScoreName
    segments: number
    calls: number
  }
}

declare module '@modelgate/core' {
  interface OperationMap {
    /** Chat, completion and message generation by a large model. */
    chat: true
    /** Embeddings. */
    embed: true
  }
  interface RouteKindMap {
    'llm-chat': true
    'llm-completions': true
    'llm-responses': true
    'llm-embeddings': true
    'llm-messages': true
    'llm-count-tokens': true
    'llm-models': true
    'llm-model': true
    'llm-explain-chat': true
    'llm-explain-completions': true
    'llm-explain-messages': true
  }
  interface GateFacts {
    llm?: LlmFacts
  }
}

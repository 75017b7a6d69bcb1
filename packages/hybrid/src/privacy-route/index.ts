import { checkOptionKeys, GateError, NotReadyError } from '@modelgate/core'
import type { GateContext } from '@modelgate/core'
import type {
  LlmUpstream,
  UpstreamCall,
  UpstreamChoice,
  UpstreamResult,
  UpstreamSelection,
} from '@modelgate/llm'
import { breakerFrom } from '../breaker.js'
import type { CircuitBreaker, LlmRouteFact, PrivacyRoutingOptions } from '../types.js'

type Failure = NonNullable<LlmRouteFact['degraded']>

const OPTIONS = {
  local: true,
  cloud: true,
  neverLeave: { '*': true },
  unmaskedLocal: true,
  localBreaker: true,
  cloudBreaker: true,
  fallback: true,
  onRoute: true,
} as const

const isUpstream = (u: unknown): u is LlmUpstream =>
  typeof u === 'object' &&
  u !== null &&
  typeof (u as LlmUpstream).send === 'function' &&
  ((u as LlmUpstream).protocol === 'openai' || (u as LlmUpstream).protocol === 'anthropic')

/** Why a call to one side failed, for the breaker and the facts; undefined when it did not. */
function failureOf(
  side: 'local' | 'cloud',
  result: UpstreamResult | undefined,
  error: unknown,
): Failure | undefined {
  if (error !== undefined)
    return error instanceof GateError && error.status === 504 ? `${side}_timeout` : `${side}_error`
  const status = result!.response.status
  if (status === 429) return `${side}_rejected`
  return status >= 500 ? `${side}_error` : undefined
}

const clientGone = (error: unknown) => error instanceof GateError && error.code === 'client_closed'

/**
 * One call through a breaker: refused at once while it is open, its outcome reported (a call the
 * client abandoned reports none).
 */
async function guarded(
  side: 'local' | 'cloud',
  upstream: LlmUpstream,
  breaker: CircuitBreaker,
  call: UpstreamCall,
): Promise<{ result?: UpstreamResult; failed?: Failure; error?: unknown }> {
  if (!breaker.allow()) return { failed: 'breaker_open' }
  let result: UpstreamResult
  try {
    result = await upstream.send(call)
  } catch (error) {
    if (clientGone(error)) {
      breaker.release()
      throw error
    }
    breaker.failure()
    return { failed: failureOf(side, undefined, error), error }
  }
  const failed = failureOf(side, result, undefined)
  if (failed) breaker.failure()
  else breaker.success()
  return { result, ...(failed ? { failed } : {}) }
}

function record(ctx: GateContext | undefined, fact: LlmRouteFact): void {
  if (ctx) ctx.facts.llmRoute = fact
}

/**
 * Privacy routing between an edge (or on-premises) model server and the cloud, for the `llm`
 * plugin's `select` hook: a request whose prompt holds an entity type the tenant marks "never
 * leaves" (`neverLeave`, by tenant, `*` for the rest) goes to the `local` server, and every
 * other request to the cloud one (the model's own upstream, or `cloud`), masked. A prompt the
 * gate could not scan (no `mask` plugin) counts as holding them.
 *
 * Each side has a circuit breaker (`createCircuitBreaker`, or its options). When the cloud's is
 * open, or a cloud call fails (unreachable, timed out, 5xx or 429 after the upstream's own
 * retries), the request falls back to the local server (`fallback`, default true), masked as it
 * was. A never-leave request is never sent to the cloud: when the local server is down or its
 * breaker open it is refused (503 `local_unavailable`). Where a request went is the
 * `llmRoute` fact (`{ route, reason, degraded? }`) and `onRoute`'s event.
 *
 * @example
 * ```ts
 * import { llm } from '@modelgate/llm'
 * import { createUpstream } from '@modelgate/llm'
 * import { createCircuitBreaker, privacyRouting } from '@modelgate/hybrid'
 *
 * const local = createUpstream({ type: 'openai', url: 'http://10.0.0.5:8000/v1', model: 'llama-3.1-8b' }, 'chat')
 * const plugin = llm({
 *   models: [{ name: 'chat', upstream: { type: 'openai', url: 'https://api.openai.com/v1', model: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY' } }],
 *   select: privacyRouting({
 *     local,
 *     neverLeave: { '*': ['US_SSN', 'CREDIT_CARD'], acme: ['US_SSN', 'CREDIT_CARD', 'PERSON'] },
 *     cloudBreaker: createCircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000 }),
 *   }),
 * })
 * ```
 */
export function privacyRouting(
  options: PrivacyRoutingOptions,
): (selection: UpstreamSelection) => UpstreamChoice {
  if (!options || typeof options !== 'object') throw new TypeError('privacyRouting needs options')
  checkOptionKeys('privacyRouting', options, OPTIONS)
  if (!isUpstream(options.local))
    throw new TypeError('privacyRouting: "local" must be an LLM upstream (createUpstream)')
  if (options.cloud !== undefined && !isUpstream(options.cloud))
    throw new TypeError('privacyRouting: "cloud" must be an LLM upstream (createUpstream)')
  const neverLeave = new Map<string, Set<string>>()
  if (!options.neverLeave || typeof options.neverLeave !== 'object')
    throw new TypeError('privacyRouting: "neverLeave" must map tenants to entity types')
  for (const [tenant, types] of Object.entries(options.neverLeave)) {
    if (!Array.isArray(types) || !types.every((t) => typeof t === 'string'))
      throw new TypeError(`privacyRouting: neverLeave.${tenant} must be an array of entity types`)
    neverLeave.set(tenant, new Set(types))
  }
  for (const k of ['unmaskedLocal', 'fallback'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'boolean')
      throw new TypeError(`privacyRouting: "${k}" must be a boolean`)
  const local = options.local
  const localBreaker = breakerFrom(options.localBreaker)
  const cloudBreaker = breakerFrom(options.cloudBreaker)
  const fallback = options.fallback ?? true
  const onRoute = options.onRoute

  const route = (
    ctx: GateContext | undefined,
    fact: LlmRouteFact,
    tenant: string,
    model: string,
  ) => {
    record(ctx, fact)
    onRoute?.({ ...fact, tenant, model })
  }

  /** The local server, never anything else. */
  const toLocal = (tenant: string, model: string, fact: LlmRouteFact): LlmUpstream => ({
    protocol: local.protocol,
    model: local.model,
    async send(call) {
      const { result, failed, error } = await guarded('local', local, localBreaker, call)
      if (result) return result
      route(call.ctx, { ...fact, degraded: failed! }, tenant, model)
      throw new NotReadyError(
        failed === 'breaker_open'
          ? 'the local model server is unavailable (circuit open) and this request may not leave'
          : `the local model server failed (${error instanceof Error ? error.message : 'unreachable'}) and this request may not leave`,
        'local_unavailable',
        { 'retry-after': '1' },
      )
    },
  })

  /** The cloud server, falling back to the local one when it is unavailable. */
  const toCloud = (cloud: LlmUpstream, tenant: string, model: string): LlmUpstream => ({
    protocol: cloud.protocol,
    model: cloud.model,
    async send(call) {
      const { result, failed, error } = await guarded('cloud', cloud, cloudBreaker, call)
      if (result && !failed) return result
      if (!fallback) {
        if (result) return result
        route(call.ctx, { route: 'cloud', reason: 'allowed', degraded: failed! }, tenant, model)
        if (error instanceof GateError) throw error
        throw new NotReadyError('the cloud model server is unavailable', 'cloud_unavailable')
      }
      await result?.response.body?.cancel().catch(() => undefined)
      result?.done()
      const fact: LlmRouteFact = { route: 'local', reason: 'allowed', degraded: failed! }
      route(call.ctx, fact, tenant, model)
      return toLocal(tenant, model, fact).send(call)
    },
  })

  return function privacyRoute(s: UpstreamSelection): UpstreamChoice {
    const cloud = options.cloud ?? s.upstream
    if (local.protocol !== s.upstream.protocol || cloud.protocol !== s.upstream.protocol)
      throw new GateError(
        'privacy_routing_misconfigured',
        500,
        `model "${s.model}" speaks ${s.upstream.protocol}: its local and cloud servers must too`,
      )
    const never = neverLeave.get(s.tenant) ?? neverLeave.get('*') ?? new Set<string>()
    const held = Object.entries(s.entities).some(([type, n]) => n > 0 && never.has(type))
    if (held || !s.scanned) {
      const fact: LlmRouteFact = { route: 'local', reason: held ? 'never_leave' : 'not_scanned' }
      route(s.ctx, fact, s.tenant, s.model)
      return {
        upstream: toLocal(s.tenant, s.model, fact),
        ...(options.unmaskedLocal ? { unmasked: true } : {}),
      }
    }
    route(s.ctx, { route: 'cloud', reason: 'allowed' }, s.tenant, s.model)
    return { upstream: toCloud(cloud, s.tenant, s.model) }
  }
}

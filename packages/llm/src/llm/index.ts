import {
  BadGatewayError,
  BadRequestError,
  checkOptionKeys,
  ForbiddenError,
  GateError,
  MemoryStore,
  NotFoundError,
  RateLimitedError,
  readBodyLimited,
  type GateContext,
  type KeyValueStore,
  type Plugin,
  type RouteDefinition,
  type RouteKind,
} from '@modelgate/core'
import { textMaskingOf, type TextMasking } from '@modelgate/mask'
import { anthropicHandler, maskMessagesBody, restoreMessagesAnswer } from '../anthropic.js'
import { llmBackend } from '../backend.js'
import { estimatePromptTokens, tokenCounter, TokenBudgets, type BudgetCharge } from '../budget.js'
import { RequestMasker, type TextPolicy } from '../masking.js'
import {
  isObject,
  maskChatBody,
  maskCompletionBody,
  maskEmbeddingBody,
  openAiHandler,
  restoreOpenAiAnswer,
  type Json,
} from '../openai.js'
import { PlaceholderVault, type PlaceholderSession } from '../placeholders.js'
import { relay, type StreamSummary } from '../relay.js'
import { maskResponsesBody, responsesHandler, restoreResponsesAnswer } from '../responses.js'
import type {
  LlmFacts,
  LlmModel,
  LlmOptions,
  LlmProtocol,
  LlmUpstream,
  TenantPolicy,
  UpstreamResult,
} from '../types.js'
import { createUpstream } from '../upstream.js'
import {
  checkExplainLimits,
  explainPrompt,
  planExplanation,
  type PromptExplainLimits,
} from '../attribution/explain.js'
import { answerText } from '../attribution/scores.js'
import type { PromptKind } from '../attribution/segments.js'

const OPTIONS = {
  models: { name: true, upstream: true, labels: true },
  budgets: { by: true, tokens: true, perSeconds: true, name: true },
  budgetStore: true,
  tenants: { '*': { models: true, leave: true, refuse: true } },
  words: { allow: true, deny: { type: true, values: true } },
  embeddings: true,
  restore: true,
  conversationHeader: true,
  conversationTtlMs: true,
  select: true,
  maxAnswerBytes: true,
  explain: { calls: true, maxCalls: true, concurrency: true, maxSegments: true },
} as const
const CONVERSATION = /^[A-Za-z0-9._:-]{1,128}$/
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

type GenerateKind =
  | 'llm-chat'
  | 'llm-completions'
  | 'llm-responses'
  | 'llm-embeddings'
  | 'llm-messages'
  | 'llm-count-tokens'

interface Endpoint {
  kind: GenerateKind
  path: string
  upstreamPath: string
  protocol: LlmProtocol
  operation: 'chat' | 'embed'
}

const ENDPOINTS: Endpoint[] = [
  {
    kind: 'llm-chat',
    path: '/v1/chat/completions',
    upstreamPath: '/chat/completions',
    protocol: 'openai',
    operation: 'chat',
  },
  {
    kind: 'llm-completions',
    path: '/v1/completions',
    upstreamPath: '/completions',
    protocol: 'openai',
    operation: 'chat',
  },
  {
    kind: 'llm-responses',
    path: '/v1/responses',
    upstreamPath: '/responses',
    protocol: 'openai',
    operation: 'chat',
  },
  {
    kind: 'llm-embeddings',
    path: '/v1/embeddings',
    upstreamPath: '/embeddings',
    protocol: 'openai',
    operation: 'embed',
  },
  {
    kind: 'llm-messages',
    path: '/v1/messages',
    upstreamPath: '/messages',
    protocol: 'anthropic',
    operation: 'chat',
  },
  {
    kind: 'llm-count-tokens',
    path: '/v1/messages/count_tokens',
    upstreamPath: '/messages/count_tokens',
    protocol: 'anthropic',
    operation: 'chat',
  },
]
type ExplainKind = 'llm-explain-chat' | 'llm-explain-completions' | 'llm-explain-messages'

interface ExplainEndpoint {
  kind: ExplainKind
  path: string
  prompt: PromptKind
  endpoint: Endpoint
}

const endpointOf = (kind: GenerateKind) => ENDPOINTS.find((e) => e.kind === kind)!
const EXPLAIN_ENDPOINTS: ExplainEndpoint[] = [
  {
    kind: 'llm-explain-chat',
    path: '/v1/explain/chat/completions',
    prompt: 'chat',
    endpoint: endpointOf('llm-chat'),
  },
  {
    kind: 'llm-explain-completions',
    path: '/v1/explain/completions',
    prompt: 'completions',
    endpoint: endpointOf('llm-completions'),
  },
  {
    kind: 'llm-explain-messages',
    path: '/v1/explain/messages',
    prompt: 'messages',
    endpoint: endpointOf('llm-messages'),
  },
]
/** Routes whose body names the model, for the plugin to bind it. */
const BY_KIND = new Set<RouteKind>([
  ...ENDPOINTS.map((e) => e.kind),
  ...EXPLAIN_ENDPOINTS.map((e) => e.kind),
])
const MASK: Record<GenerateKind, (body: Json, m: RequestMasker) => Promise<Json>> = {
  'llm-chat': maskChatBody,
  'llm-completions': maskCompletionBody,
  'llm-responses': maskResponsesBody,
  'llm-embeddings': maskEmbeddingBody,
  'llm-messages': maskMessagesBody,
  'llm-count-tokens': maskMessagesBody,
}
const RESTORE: Record<GenerateKind, (answer: unknown, s: PlaceholderSession) => unknown> = {
  'llm-chat': restoreOpenAiAnswer,
  'llm-completions': restoreOpenAiAnswer,
  'llm-responses': restoreResponsesAnswer,
  'llm-embeddings': (answer) => answer,
  'llm-messages': restoreMessagesAnswer,
  'llm-count-tokens': (answer) => answer,
}

interface Served {
  name: string
  upstream: LlmUpstream
  labels: Record<string, string> | undefined
}

/**
 * The state behind the LLM routes: the models and their upstreams, budgets, policies and the
 * placeholder vault. One per {@link llm} / {@link llmRoutes} call.
 */
class LlmService {
  readonly models = new Map<string, Served>()
  readonly budgets: TokenBudgets
  readonly created = Math.floor(Date.now() / 1000)
  readonly explainLimits: Required<PromptExplainLimits>
  private readonly vaults = new Map<KeyValueStore | undefined, Promise<PlaceholderVault>>()
  private readonly tenants: Record<string, TenantPolicy>
  private readonly header: string
  private readonly maxAnswerBytes: number

  constructor(readonly options: LlmOptions) {
    if (!options || typeof options !== 'object')
      throw new TypeError('llm: options must be an object')
    checkOptionKeys('llm', options, OPTIONS)
    if (!Array.isArray(options.models) || options.models.length === 0)
      throw new TypeError('llm: models must be a non-empty array')
    for (const [i, m] of options.models.entries()) this.add(m, i)
    this.budgets = new TokenBudgets(options.budgets ?? [], options.budgetStore)
    this.tenants = options.tenants ?? {}
    for (const [t, p] of Object.entries(this.tenants)) {
      if (!isObject(p)) throw new TypeError(`llm: tenants.${t} must be an object`)
      for (const k of ['models', 'leave', 'refuse'] as const) {
        const v = p[k]
        if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string')))
          throw new TypeError(`llm: tenants.${t}.${k} must be an array of strings`)
      }
    }
    if (
      options.embeddings !== undefined &&
      options.embeddings !== 'tokens' &&
      options.embeddings !== 'refuse'
    )
      throw new TypeError('llm: embeddings must be "tokens" or "refuse"')
    if (
      options.restore !== undefined &&
      options.restore !== 'caller' &&
      options.restore !== 'granted'
    )
      throw new TypeError('llm: restore must be "caller" or "granted"')
    if (options.select !== undefined && typeof options.select !== 'function')
      throw new TypeError('llm: select must be a function')
    this.header = (options.conversationHeader ?? 'x-modelgate-conversation').toLowerCase()
    if (!/^[a-z0-9-]{1,64}$/.test(this.header))
      throw new TypeError('llm: conversationHeader must be a header name')
    this.maxAnswerBytes = options.maxAnswerBytes ?? 32 * 1024 * 1024
    if (!Number.isSafeInteger(this.maxAnswerBytes) || this.maxAnswerBytes <= 0)
      throw new TypeError('llm: maxAnswerBytes must be a positive integer')
    this.explainLimits = checkExplainLimits(options.explain)
  }

  private add(m: LlmModel, i: number): void {
    if (!isObject(m) || typeof m.name !== 'string' || !NAME.test(m.name))
      throw new TypeError(`llm: models[${i}].name must match ${NAME}`)
    if (this.models.has(m.name)) throw new TypeError(`llm: model "${m.name}" is listed twice`)
    const u = m.upstream
    const upstream =
      isObject(u) && typeof (u as unknown as LlmUpstream).send === 'function'
        ? (u as LlmUpstream)
        : createUpstream(u as LlmModel['upstream'] & { type: LlmProtocol; url: string }, m.name)
    this.models.set(m.name, { name: m.name, upstream, labels: m.labels })
  }

  policy(tenant: string): TenantPolicy {
    return this.tenants[tenant] ?? this.tenants['*'] ?? {}
  }

  /** The models a tenant may use. */
  visible(tenant: string): Served[] {
    const allowed = this.policy(tenant).models
    return [...this.models.values()].filter((m) => !allowed || allowed.includes(m.name))
  }

  /** The served model a request names, or 404/403. */
  resolve(name: unknown, tenant: string): Served {
    if (typeof name !== 'string' || name === '')
      throw new BadRequestError('"model" must name a model of this gate', 'invalid_request')
    const served = this.models.get(name)
    if (!served) throw new NotFoundError(`unknown model "${name.slice(0, 128)}"`, 'model_not_found')
    const allowed = this.policy(tenant).models
    if (allowed && !allowed.includes(name))
      throw new ForbiddenError(
        `model "${name}" is not available to this tenant`,
        {},
        'model_not_allowed',
      )
    return served
  }

  /** The placeholder vault for the mask plugin's store and key. */
  vault(masking: TextMasking): Promise<PlaceholderVault> {
    let vault = this.vaults.get(masking.store)
    if (!vault) {
      vault = (async () => {
        const key = await masking.deriveKey('llm-placeholders')
        const store = masking.store
        if (!key && store && !(store instanceof MemoryStore)) {
          throw new GateError(
            'mask_key_required',
            500,
            'the mask plugin keeps its vault in a shared store: give it a key so that replicas share placeholders',
          )
        }
        return new PlaceholderVault({
          ...(key ? { key } : {}),
          ...(store ? { store } : {}),
          ...(this.options.conversationTtlMs !== undefined
            ? { ttlMs: this.options.conversationTtlMs }
            : {}),
        })
      })()
      vault.catch(() => this.vaults.delete(masking.store))
      this.vaults.set(masking.store, vault)
    }
    return vault
  }

  /**
   * The scope of a request's placeholders: principal, tenant and conversation when authenticated
   * (any conversation id the client names, or one default conversation); without authentication,
   * a conversation id the gate issued and the client sent back, or a new one.
   */
  async scope(
    ctx: GateContext,
    vault: PlaceholderVault,
    tenant: string,
    facts: LlmFacts,
  ): Promise<string> {
    const sent = ctx.requestHeaders.get(this.header)
    const p = ctx.principal
    let conversation: string
    if (p) {
      if (sent !== null && !CONVERSATION.test(sent))
        throw new BadRequestError(
          `${this.header} must be 1-128 of A-Z a-z 0-9 . _ : -`,
          'invalid_conversation',
        )
      conversation = sent ?? 'default'
      if (sent !== null) facts.conversation = 'resumed'
    } else if (sent !== null) {
      if (!(await vault.verifyConversation(sent)))
        throw new BadRequestError(
          `${this.header} is not a conversation this gate issued`,
          'invalid_conversation',
        )
      conversation = sent
      facts.conversation = 'resumed'
    } else {
      conversation = await vault.issueConversation()
      facts.conversation = 'issued'
    }
    if (sent !== null || !p) ctx.headers.set(this.header, conversation)
    return vault.scope({ tenant, ...(p ? { principal: `${p.kind}:${p.id}` } : {}), conversation })
  }

  textPolicy(tenant: string, embeddings: boolean): TextPolicy {
    const p = this.policy(tenant)
    return {
      leave: new Set(p.leave ?? []),
      refuse: embeddings && this.options.embeddings === 'refuse' ? 'all' : new Set(p.refuse ?? []),
      lists: this.options.words ?? {},
    }
  }

  async readAnswer(result: UpstreamResult): Promise<unknown> {
    try {
      const bytes = await readBodyLimited(result.response, this.maxAnswerBytes)
      return JSON.parse(new TextDecoder().decode(bytes))
    } catch (error) {
      if (error instanceof GateError && error.status === 413)
        throw new BadGatewayError(`the model server's answer exceeds ${this.maxAnswerBytes} bytes`)
      throw new BadGatewayError('the model server sent an answer that is not JSON')
    } finally {
      result.done()
    }
  }
}

const tenantOf = (ctx: GateContext, masking: TextMasking | undefined): string =>
  masking?.tenant ?? ctx.principal?.tenant ?? 'default'

/** Maps an upstream's refusal or failure to the gate's error, never passing its credentials' problems on. */
async function upstreamFailure(result: UpstreamResult): Promise<GateError> {
  const { response } = result
  let message = `the model server answered ${response.status}`
  try {
    const bytes = await readBodyLimited(response, 64 * 1024)
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes))
    const e = isObject(parsed) ? parsed.error : undefined
    const text = isObject(e) ? e.message : typeof e === 'string' ? e : undefined
    if (typeof text === 'string' && text !== '') message = text.slice(0, 1000)
  } catch {
    // an empty or non-JSON error body keeps the generic message
  } finally {
    result.done()
  }
  const s = response.status
  if (s === 401 || s === 403 || s === 407)
    return new BadGatewayError('the model server refused the gate’s credentials', 'upstream_auth')
  if (s === 429) {
    const after = Number(response.headers.get('retry-after'))
    return new RateLimitedError(
      Number.isFinite(after) && after > 0 ? after : 1,
      `the model server is rate limited: ${message}`,
    )
  }
  if (s >= 400 && s < 500 && s !== 404 && s !== 408)
    return new GateError('upstream_rejected', s, message)
  return new BadGatewayError(message, 'upstream_error')
}

/**
 * Masks a request's texts with the mask plugin's detector: placeholders of the request's
 * conversation (restorable), or keyed tokens for embeddings.
 */
async function maskRequest(
  service: LlmService,
  endpoint: Endpoint,
  ctx: GateContext,
  body: Json,
  masking: TextMasking,
  tenant: string,
  facts: LlmFacts,
): Promise<{
  masked: Json
  session: PlaceholderSession | undefined
  entities: Record<string, number>
}> {
  const vault = await service.vault(masking)
  if (endpoint.kind === 'llm-embeddings') {
    const tokens = {
      placeholder: (type: string, value: string) => vault.token(tenant, type, value),
      adopt: async () => {},
    }
    const m = new RequestMasker(masking, tokens, service.textPolicy(tenant, true))
    return { masked: await maskEmbeddingBody(body, m), session: undefined, entities: m.counts }
  }
  const session = vault.session(await service.scope(ctx, vault, tenant, facts))
  const m = new RequestMasker(masking, session, service.textPolicy(tenant, false))
  const masked = await MASK[endpoint.kind](body, m)
  if (service.options.restore === 'granted') {
    const grants = new Set(ctx.decision?.unmask ?? [])
    session.restrict((type) => grants.has('*') || (type !== undefined && grants.has(type)))
  }
  facts.placeholders = session.size
  return { masked, session, entities: m.counts }
}

/** A request checked, masked and routed: what a route sends upstream and restores with. */
interface Prepared {
  served: Served
  facts: LlmFacts
  /**
   * The request as it goes upstream: masked, or as sent when the routing hook chose an upstream
   * inside the trust boundary.
   */
  masked: Json
  /** The request masked, whatever the routing hook chose. */
  alwaysMasked: Json
  session: PlaceholderSession | undefined
  upstream: LlmUpstream
}

/**
 * Reads a request to a generating route, resolves its model, masks it and picks its upstream
 * (the routing hook), recording the facts. `kind` names the route in the facts.
 */
async function prepare(
  service: LlmService,
  endpoint: Endpoint,
  ctx: GateContext,
  kind: RouteKind,
  without?: string,
): Promise<Prepared> {
  const raw = await ctx.json()
  if (!isObject(raw)) throw new BadRequestError('the body must be a JSON object', 'invalid_request')
  const body = without === undefined ? raw : { ...raw }
  if (without !== undefined) delete body[without]
  const masking = textMaskingOf(ctx)
  const tenant = tenantOf(ctx, masking)
  const served = service.resolve(body.model, tenant)
  if (!ctx.model) ctx.route.model ??= served.name
  const generates = endpoint.kind !== 'llm-embeddings' && endpoint.kind !== 'llm-count-tokens'
  const stream = generates && body.stream === true
  const facts: LlmFacts = {
    model: served.name,
    route: kind,
    protocol: endpoint.protocol,
    stream,
  }
  ctx.facts.llm = facts
  if (served.upstream.protocol !== endpoint.protocol) {
    const other = ENDPOINTS.find((e) => e.protocol === served.upstream.protocol)!
    throw new BadRequestError(
      `model "${served.name}" speaks the ${served.upstream.protocol} protocol: use ${other.path}`,
      'protocol_mismatch',
    )
  }

  const request = masking
    ? await maskRequest(service, endpoint, ctx, body, masking, tenant, facts)
    : { masked: body, session: undefined, entities: {} }
  const selected = service.options.select
    ? await service.options.select({
        ctx,
        model: served.name,
        operation: endpoint.operation,
        tenant,
        entities: request.entities,
        scanned: masking !== undefined,
        upstream: served.upstream,
      })
    : served.upstream
  const upstream = 'send' in selected ? selected : selected.upstream
  // An upstream inside the trust boundary (on premises, at the edge) may get the prompt as sent.
  const unmasked = !('send' in selected) && selected.unmasked === true
  if (unmasked) facts.unmasked = true
  facts.upstreamModel = upstream.model
  return {
    served,
    facts,
    masked: unmasked ? body : request.masked,
    alwaysMasked: request.masked,
    session: request.session,
    upstream,
  }
}

async function generate(service: LlmService, endpoint: Endpoint, ctx: GateContext): Promise<void> {
  const { served, facts, masked, session, upstream } = await prepare(
    service,
    endpoint,
    ctx,
    endpoint.kind,
  )
  const { stream } = facts

  let charge: BudgetCharge | undefined
  if (service.budgets.active && endpoint.kind !== 'llm-count-tokens') {
    facts.estimatedTokens = await estimatePromptTokens(masked)
    charge = await service.budgets.reserve(ctx, served.name, facts.estimatedTokens)
  }
  const { model: _model, ...forward } = masked
  let stripUsage = false
  // Usage of a stream is asked for so that it reaches the audit record and the budgets.
  const streamsUsage = endpoint.kind === 'llm-chat' || endpoint.kind === 'llm-completions'
  if (stream && streamsUsage && (charge || upstream.streamUsage !== false)) {
    const so = isObject(forward.stream_options) ? forward.stream_options : {}
    stripUsage = so.include_usage !== true
    forward.stream_options = { ...so, include_usage: true }
  }

  const result = await upstream.send({
    path: endpoint.upstreamPath,
    body: forward,
    stream,
    signal: ctx.signal,
    ctx,
  })
  facts.attempts = result.attempts
  facts.upstreamStatus = result.response.status
  if (!result.response.ok) throw await upstreamFailure(result)

  const settle = (prompt: number | undefined, completion: number | undefined, text: string) => {
    if (prompt !== undefined) facts.promptTokens = prompt
    if (completion !== undefined) facts.completionTokens = completion
    if (!charge) return
    const c = charge
    ctx.waitUntil(
      (async () => {
        const out = completion ?? (await tokenCounter())(text)
        await service.budgets.settle(c, (prompt ?? facts.estimatedTokens ?? 0) + out)
      })(),
    )
  }

  const type = result.response.headers.get('content-type') ?? ''
  if (stream && type.includes('text/event-stream')) {
    const countText = charge !== undefined
    const handler =
      endpoint.kind === 'llm-messages'
        ? anthropicHandler(session, countText)
        : endpoint.kind === 'llm-responses'
          ? responsesHandler(session, countText)
          : openAiHandler(session, { stripUsage, countText })
    ctx.headers.set('content-type', 'text/event-stream; charset=utf-8')
    ctx.headers.set('cache-control', 'no-cache')
    ctx.headers.set('x-accel-buffering', 'no')
    ctx.body = relay(result, handler, (summary: StreamSummary) => {
      facts.end = summary.end
      settle(summary.usage.promptTokens, summary.usage.completionTokens, summary.text)
    })
    return
  }
  const answer = await service.readAnswer(result)
  const usage = isObject(answer) && isObject(answer.usage) ? answer.usage : {}
  const prompt = numberOf(usage.prompt_tokens ?? usage.input_tokens)
  const completion =
    numberOf(usage.completion_tokens ?? usage.output_tokens) ??
    (endpoint.kind === 'llm-embeddings' ? 0 : undefined)
  settle(
    prompt,
    completion,
    JSON.stringify(isObject(answer) ? (answer.choices ?? answer.content ?? '') : ''),
  )
  ctx.body = session ? RESTORE[endpoint.kind](answer, session) : answer
}

/**
 * A prompt attribution: the request's answer, then perturbed copies of its masked prompt scored
 * against it (each call charged to the budgets like any other), the answer restored with the
 * explanation beside it.
 */
async function explainRoute(
  service: LlmService,
  e: ExplainEndpoint,
  ctx: GateContext,
): Promise<void> {
  const raw = await ctx.json()
  if (!isObject(raw)) throw new BadRequestError('the body must be a JSON object', 'invalid_request')
  const plan = planExplanation(raw.explain, service.explainLimits)
  if (raw.stream === true)
    throw new BadRequestError(
      'explanations are answered whole: leave out "stream"',
      'explain_stream',
    )
  const p = await prepare(service, e.endpoint, ctx, e.kind, 'explain')
  const { facts, session } = p
  const { model: _model, ...masked } = p.alwaysMasked
  let attempts = 0
  let promptTokens = 0
  let completionTokens = 0
  const call = async (body: Json): Promise<unknown> => {
    let charge: BudgetCharge | undefined
    let estimate = 0
    if (service.budgets.active) {
      estimate = await estimatePromptTokens(body)
      charge = await service.budgets.reserve(ctx, p.served.name, estimate)
    }
    const result = await p.upstream.send({
      path: e.endpoint.upstreamPath,
      body,
      stream: false,
      signal: ctx.signal,
      ctx,
    })
    attempts += result.attempts
    facts.upstreamStatus = result.response.status
    if (!result.response.ok) throw await upstreamFailure(result)
    const answer = await service.readAnswer(result)
    const usage = isObject(answer) && isObject(answer.usage) ? answer.usage : {}
    const prompt = numberOf(usage.prompt_tokens ?? usage.input_tokens) ?? estimate
    const completion =
      numberOf(usage.completion_tokens ?? usage.output_tokens) ??
      (await tokenCounter())(answerText(e.prompt, answer))
    promptTokens += prompt
    completionTokens += completion
    if (charge) await service.budgets.settle(charge, prompt + completion)
    return answer
  }
  try {
    const { answer, explanation } = await explainPrompt(
      e.prompt,
      masked,
      plan,
      service.explainLimits,
      call,
    )
    facts.explain = {
      method: explanation.method,
      unit: explanation.unit,
      score: explanation.score,
      segments: explanation.segments.length,
      calls: explanation.calls,
    }
    ctx.facts.explanation = { method: explanation.method, rows: 1, cached: false }
    // Log-probabilities the gate asked for to score the answer are not the client's.
    if (
      e.prompt === 'chat' &&
      raw.logprobs !== true &&
      isObject(answer) &&
      Array.isArray(answer.choices)
    )
      for (const c of answer.choices) if (isObject(c)) c.logprobs = null
    const restored = session ? RESTORE[e.endpoint.kind](answer, session) : answer
    if (session) for (const s of explanation.segments) s.text = session.restore(s.text)
    ctx.body = { ...(isObject(restored) ? restored : {}), explanation }
  } finally {
    facts.attempts = attempts
    facts.promptTokens = promptTokens
    facts.completionTokens = completionTokens
  }
}

const numberOf = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined

function modelObject(service: LlmService, name: string): Json {
  return {
    id: name,
    object: 'model',
    created: service.created,
    owned_by: 'modelgate',
    type: 'model',
    display_name: name,
    created_at: new Date(service.created * 1000).toISOString(),
  }
}

function routesOf(service: LlmService): RouteDefinition[] {
  const routes: RouteDefinition[] = ENDPOINTS.map((endpoint) => ({
    name: endpoint.kind,
    kind: endpoint.kind,
    methods: ['POST'],
    path: endpoint.path,
    operation: endpoint.operation,
    terminal: (ctx) => generate(service, endpoint, ctx),
  }))
  for (const e of EXPLAIN_ENDPOINTS)
    routes.push({
      name: e.kind,
      kind: e.kind,
      methods: ['POST'],
      path: e.path,
      operation: 'explain',
      terminal: (ctx) => explainRoute(service, e, ctx),
    })
  routes.push({
    name: 'llm-models',
    kind: 'llm-models',
    methods: ['GET'],
    path: '/v1/models',
    operation: 'metadata',
    async terminal(ctx) {
      const visible = service.visible(tenantOf(ctx, textMaskingOf(ctx)))
      const data = visible.map((m) => modelObject(service, m.name))
      ctx.body = {
        object: 'list',
        data,
        has_more: false,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        models: visible.map((m) => m.name),
      }
    },
  })
  routes.push({
    name: 'llm-model',
    kind: 'llm-model',
    methods: ['GET'],
    path: '/v1/models/{model}',
    operation: 'metadata',
    async terminal(ctx) {
      const name = ctx.route.model!
      const tenant = tenantOf(ctx, textMaskingOf(ctx))
      if (service.models.has(name) && service.visible(tenant).some((m) => m.name === name)) {
        ctx.body = { ...modelObject(service, name), name, ready: true }
        return
      }
      const model = ctx.requireModel()
      const ready = await model.isReady()
      ctx.status = ready ? 200 : 503
      ctx.body = {
        name: model.name,
        ready,
        ...(ready ? {} : { error: 'not ready' }),
        ...modelObject(service, model.name),
      }
    },
  })
  return routes
}

/**
 * The LLM routes, for `createGate({ routes })`: OpenAI-compatible `POST /v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings`, Anthropic `POST /v1/messages`, and `GET /v1/models` and
 * `GET /v1/models/{m}` answering OpenAI, Anthropic and KServe V1 clients in one JSON. The
 * whole plugin onion runs around each. With the `mask` plugin on the gate, prompts are masked
 * with placeholders and answers restored (see the package README). Policies that need the model
 * a request names (`authorize` per model) need the {@link llm} plugin form instead, which binds
 * it to the route before they run.
 *
 * @example
 * ```ts
 * const gate = createGate({
 *   models: [],
 *   plugins: [mask()],
 *   routes: llmRoutes({ models: [{ name: 'chat', upstream: { type: 'openai', url: 'http://127.0.0.1:8000/v1' } }] }),
 * })
 * ```
 */
export function llmRoutes(options: LlmOptions): RouteDefinition[] {
  return routesOf(new LlmService(options))
}

/**
 * The LLM plugin: serves the {@link llmRoutes}, registers each model in the gate's model registry
 * (as an {@link llmBackend}, so `GET /v2/models/{m}`, policies and audit know it) and, on its way
 * in, reads the model a request names from its JSON body and binds it (`ctx.bindModel`), so that
 * plugins placed after it (`authorize` per model and its labels, rate limits by model) see it as
 * if the path had named it. Place it after `decrypt` and `authenticate`, before `authorize`.
 *
 * @example
 * ```ts
 * const gate = createGate({
 *   models: [],
 *   plugins: [
 *     authenticate({ jwt }),
 *     llm({ models: [{ name: 'chat', upstream: { type: 'openai', url: 'https://api.openai.com/v1', model: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY' } }] }),
 *     authorize({ policy }),
 *     mask(),
 *   ],
 * })
 * ```
 */
export const llm = (options: LlmOptions): Plugin => {
  const service = new LlmService(options)
  const plugin: Plugin = async function llm(ctx, next) {
    if (BY_KIND.has(ctx.route.kind) && ctx.route.model === undefined) {
      try {
        const body = await ctx.json()
        if (isObject(body) && typeof body.model === 'string' && service.models.has(body.model))
          ctx.bindModel(body.model)
      } catch {
        // An unreadable body (still sealed, not JSON) is the terminal's to refuse.
      }
    }
    await next()
  }
  plugin.routes = routesOf(service)
  plugin.models = [...service.models.values()].map((m) => ({
    name: m.name,
    backend: llmBackend(m.upstream),
    ...(m.labels ? { labels: m.labels } : {}),
  }))
  return plugin
}

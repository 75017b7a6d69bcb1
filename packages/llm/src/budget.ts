import {
  MemoryStore,
  RateLimitedError,
  type GateContext,
  type RateLimitStore,
} from '@modelgate/core'
import type { TokenBudgetRule } from './types.js'

type Counter = (text: string) => number
let counter: Promise<Counter> | undefined

/**
 * Counts tokens with OpenAI's o200k encoding (`gpt-tokenizer`), loaded on first use. Other
 * models' tokenizers differ by some percent; budgets are reconciled with the upstream's `usage`.
 *
 * @example
 * ```ts
 * const count = await tokenCounter()
 * count('Hello world') // 2
 * ```
 */
export function tokenCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (m) => (text: string) => (text === '' ? 0 : m.countTokens(text)),
  )
  return counter
}

/** Every string of a JSON value, keys of objects included (tool schemas count whole). */
function strings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const v of value) strings(v, out)
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'type' || k === 'role') continue
      out.push(k)
      strings(v, out)
    }
  }
}

/**
 * Prompt tokens of a request body before the call: the text of its messages, prompt or input,
 * tools and system prompt, plus the per-message overhead of chat formats (about 4 tokens).
 *
 * @example
 * ```ts
 * await estimatePromptTokens({ messages: [{ role: 'user', content: 'Hello' }] }) // 8
 * ```
 */
export async function estimatePromptTokens(body: Record<string, unknown>): Promise<number> {
  const count = await tokenCounter()
  let total = 0
  const texts: string[] = []
  if (Array.isArray(body.messages)) {
    total += 3 + 4 * body.messages.length
    strings(body.messages, texts)
  }
  for (const field of [
    'prompt',
    'input',
    'instructions',
    'system',
    'tools',
    'functions',
    'suffix',
  ]) {
    if (body[field] !== undefined) strings(body[field], texts)
  }
  for (const t of texts) total += count(t)
  return total
}

interface CompiledRule {
  name: string
  key: (ctx: GateContext, model: string) => string | undefined
  bucket: { capacity: number; refillPerSecond: number }
}

const KEYS: Record<string, CompiledRule['key']> = {
  principal: (ctx) => (ctx.principal ? `${ctx.principal.kind}:${ctx.principal.id}` : undefined),
  tenant: (ctx) => ctx.principal?.tenant,
  model: (_ctx, model) => model,
  global: () => '*',
}

/**
 * The tokens charged for one request, so the rest of the actual usage can be charged after it.
 *
 * @example
 * ```ts
 * const charge = await budgets.reserve(ctx, 'chat', 412)
 * await budgets.settle(charge, 530)
 * ```
 */
export interface BudgetCharge {
  keys: Array<{ key: string; rule: CompiledRule }>
  charged: number
}

/**
 * Token budgets per principal, tenant, model (or keys of your own) over a `RateLimitStore`: a
 * request is refused with 429 and `Retry-After` when a bucket cannot cover its estimated prompt
 * tokens, and the difference to the actual usage is charged once the answer is complete. A
 * shared store (Redis) makes the budgets hold across replicas. Over-estimates are not refunded:
 * the store interface has no refund, and the estimate counts the masked prompt.
 *
 * @example
 * ```ts
 * const budgets = new TokenBudgets([{ by: 'tenant', tokens: 100_000, perSeconds: 3600 }])
 * ```
 */
export class TokenBudgets {
  private readonly rules: CompiledRule[]
  readonly store: RateLimitStore

  constructor(rules: TokenBudgetRule[], store?: RateLimitStore) {
    if (!Array.isArray(rules)) throw new TypeError('llm: budgets must be an array')
    this.store = store ?? new MemoryStore()
    if (typeof this.store.take !== 'function')
      throw new TypeError('llm: budgetStore must implement take()')
    this.rules = rules.map((r, i) => {
      const where = `llm: budgets[${i}]`
      if (!r || typeof r !== 'object') throw new TypeError(`${where} must be an object`)
      const key = typeof r.by === 'function' ? r.by : KEYS[r.by as string]
      if (!key)
        throw new TypeError(`${where}.by must be principal, tenant, model, global or a function`)
      if (!(Number.isFinite(r.tokens) && r.tokens > 0))
        throw new TypeError(`${where}.tokens must be positive`)
      if (!(Number.isFinite(r.perSeconds) && r.perSeconds > 0))
        throw new TypeError(`${where}.perSeconds must be positive`)
      const name = r.name ?? (typeof r.by === 'string' ? r.by : `custom${i}`)
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
        throw new TypeError(`${where}.name must be a short word`)
      return { name, key, bucket: { capacity: r.tokens, refillPerSecond: r.tokens / r.perSeconds } }
    })
  }

  /** Whether any budget is configured. */
  get active(): boolean {
    return this.rules.length > 0
  }

  /** Charges the estimate to every matching bucket; 429 (and no charge to later ones) when one is short. */
  async reserve(ctx: GateContext, model: string, estimate: number): Promise<BudgetCharge> {
    const charge: BudgetCharge = { keys: [], charged: estimate }
    for (const rule of this.rules) {
      const id = rule.key(ctx, model)
      if (id === undefined) continue
      const key = `llm:tok:${rule.name}:${id}`
      const result = await this.store.take(key, rule.bucket, Math.max(estimate, 0))
      if (!result.allowed) {
        if (ctx.facts.llm) ctx.facts.llm.budget = rule.name
        throw new RateLimitedError(
          Number.isFinite(result.retryAfterMs) ? Math.max(1, result.retryAfterMs / 1000) : 3600,
        )
      }
      ctx.headers.set(`x-ratelimit-remaining-tokens`, String(result.remaining))
      charge.keys.push({ key, rule })
    }
    return charge
  }

  /**
   * Charges what the request used beyond its estimate. A bucket that cannot cover all of it is
   * emptied, so the next request of that key waits.
   */
  async settle(charge: BudgetCharge, actual: number): Promise<void> {
    const extra = actual - charge.charged
    if (!(extra > 0)) return
    for (const { key, rule } of charge.keys) {
      const cost = Math.min(extra, rule.bucket.capacity)
      const result = await this.store.take(key, rule.bucket, cost)
      if (!result.allowed && result.remaining > 0)
        await this.store.take(key, rule.bucket, result.remaining)
    }
  }
}

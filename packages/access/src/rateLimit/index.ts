import {
  checkOptionKeys,
  MemoryStore,
  RateLimitedError,
  type GateContext,
  type Plugin,
} from '@modelgate/core'
import type { RateLimitOptions, RateLimitRule } from '../types.js'

interface CompiledRule {
  prefix: string
  key: (ctx: GateContext) => string | undefined
  bucket: { capacity: number; refillPerSecond: number }
  cost: (ctx: GateContext) => number | Promise<number>
}

/** Request costs measured on the request itself. */
const COSTS: Record<'bytes' | 'records', (ctx: GateContext) => Promise<number>> = {
  bytes: async (ctx) => Math.max(1, Math.ceil((await ctx.bodyBytes()).byteLength / 1024)),
  records: async (ctx) => {
    if (ctx.route.kind === 'v1-predict' || ctx.route.kind === 'v1-explain')
      return (await ctx.records()).length
    if (ctx.route.kind === 'v2-infer' || ctx.route.kind === 'v2-explain')
      return (await ctx.inferRequest()).inputs[0]?.shape[0] ?? 1
    return 1
  },
}

const KEYS: Record<
  Exclude<RateLimitRule['by'], (ctx: GateContext) => string | undefined>,
  (ctx: GateContext) => string | undefined
> = {
  principal: (ctx) => (ctx.principal ? `${ctx.principal.kind}:${ctx.principal.id}` : undefined),
  tenant: (ctx) => ctx.principal?.tenant,
  // Only registered models: a name from the URL alone would let anyone create buckets at will.
  model: (ctx) => ctx.model?.name,
  global: () => '*',
}
const OPTIONS = {
  rules: { by: true, capacity: true, refillPerSecond: true, cost: true, name: true },
  store: true,
  exemptOperations: true,
} as const

/**
 * Rate-limit plugin: one token bucket per rule and key (principal, tenant, model, everything, or
 * a key of your own), over core's `RateLimitStore` (in-process `MemoryStore` by default; a shared
 * store makes the limits hold across replicas). A request takes from every matching bucket in
 * order; the first empty one answers 429 with `Retry-After`, and the model never runs. Place it
 * after `authenticate` so that principal and tenant are known.
 *
 * @example
 * ```ts
 * rateLimit({
 *   rules: [
 *     { by: 'principal', capacity: 20, refillPerSecond: 5 },
 *     { by: 'tenant', capacity: 200, refillPerSecond: 50 },
 *     { by: 'model', capacity: 1000, refillPerSecond: 500, cost: (ctx) => (ctx.operation === 'explain' ? 10 : 1) },
 *   ],
 * })
 * ```
 */
export const rateLimit = (options: RateLimitOptions): Plugin => {
  if (!options || !Array.isArray(options.rules) || options.rules.length === 0) {
    throw new TypeError('rateLimit needs at least one rule')
  }
  checkOptionKeys('rateLimit', options, OPTIONS)
  const store = options.store ?? new MemoryStore()
  if (typeof store.take !== 'function')
    throw new TypeError('rateLimit: store must implement take()')
  const exempt = new Set(options.exemptOperations ?? ['health'])
  const rules: CompiledRule[] = options.rules.map((rule, i) => {
    const where = `rateLimit.rules[${i}]`
    if (!rule || typeof rule !== 'object') throw new TypeError(`${where} must be an object`)
    const key = typeof rule.by === 'function' ? rule.by : KEYS[rule.by]
    if (!key)
      throw new TypeError(`${where}.by must be principal, tenant, model, global or a function`)
    if (!(Number.isFinite(rule.capacity) && rule.capacity > 0))
      throw new TypeError(`${where}.capacity must be positive`)
    if (!(Number.isFinite(rule.refillPerSecond) && rule.refillPerSecond >= 0)) {
      throw new TypeError(`${where}.refillPerSecond must be ≥ 0`)
    }
    const cost = rule.cost ?? 1
    if (typeof cost === 'number' && !(Number.isFinite(cost) && cost > 0 && cost <= rule.capacity)) {
      throw new TypeError(`${where}.cost must be positive and at most the capacity`)
    }
    if (typeof cost === 'string' && !(cost in COSTS))
      throw new TypeError(`${where}.cost must be a number, "bytes", "records" or a function`)
    const name = rule.name ?? (typeof rule.by === 'string' ? rule.by : `custom${i}`)
    return {
      prefix: `rl:${name}:`,
      key,
      bucket: { capacity: rule.capacity, refillPerSecond: rule.refillPerSecond },
      cost: typeof cost === 'number' ? () => cost : typeof cost === 'string' ? COSTS[cost] : cost,
    }
  })

  // Rules keyed on who is calling wait for authentication, wherever it sits in the chain.
  const needsPrincipal = options.rules.some((r) => r.by !== 'model' && r.by !== 'global')

  async function take(ctx: GateContext): Promise<void> {
    for (const rule of rules) {
      const key = rule.key(ctx)
      if (key === undefined) continue
      const cost = await rule.cost(ctx)
      if (!(Number.isFinite(cost) && cost > 0)) continue
      const result = await store.take(
        rule.prefix + key,
        rule.bucket,
        Math.min(cost, rule.bucket.capacity),
      )
      if (!result.allowed) {
        ctx.facts.rateLimited = rule.prefix.slice(3, -1)
        throw new RateLimitedError(
          Number.isFinite(result.retryAfterMs) ? result.retryAfterMs / 1000 : 3600,
        )
      }
      ctx.headers.set('ratelimit-remaining', String(result.remaining))
    }
  }

  return async function rateLimit(ctx, next) {
    if (exempt.has(ctx.operation)) return next()
    // Without a principal yet (authentication later in the chain) the buckets are taken once
    // every plugin has run its way in, right before the model: limits hold in any plugin order.
    if (ctx.principal || !needsPrincipal) await take(ctx)
    else ctx.addCheck(() => take(ctx))
    await next()
  }
}

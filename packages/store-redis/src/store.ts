import { createHash } from 'node:crypto'
import {
  checkOptionKeys,
  NotReadyError,
  type KeyValueStore,
  type RateLimitStore,
  type TakeResult,
  type TokenBucket,
} from '@modelgate/core'
import type { RedisLike, RedisStoreOptions, RedisStores } from './types.js'

/**
 * Token bucket, atomic in Redis: refill by elapsed server time (`TIME`, one clock for every
 * replica), take `cost` when there is enough, expire the key once it would be full again.
 * Returns {allowed, tokens as a string (Lua numbers would be truncated to integers)}.
 */
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
if rate > 0 then
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
end
return {allowed, tostring(tokens)}
`
const TAKE_SHA = createHash('sha1').update(TAKE).digest('hex')
const OPTIONS = { prefix: true, timeoutMs: true, onError: true, report: true } as const

/**
 * Redis implementation of the core store interfaces, so that N gate replicas share rate-limit
 * buckets, replay caches, revocations, the token vault and caches. Keys get a prefix; TTLs are
 * Redis TTLs (`SET … PX`); `setIfAbsent` is `SET NX PX` (the atomic step of replay checks);
 * `take` is one Lua script. Connection errors and timeouts become a 503 `store_unavailable`
 * (fail closed) unless `onError: 'open'`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { RedisStore } from '@modelgate/store-redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 })
 * const replay = new RedisStore(redis, { prefix: 'mg:replay:' })
 * if (!(await replay.setIfAbsent(`jti:${jti}`, '1', 300_000))) throw new UnauthorizedError('replayed')
 * ```
 */
export class RedisStore implements KeyValueStore, RateLimitStore {
  readonly prefix: string
  private readonly redis: RedisLike
  private readonly timeoutMs: number
  private readonly failOpen: boolean
  private readonly report: (error: unknown) => void

  constructor(redis: RedisLike, options: RedisStoreOptions = {}) {
    if (!redis || typeof redis.evalsha !== 'function' || typeof redis.set !== 'function') {
      throw new TypeError('RedisStore needs an ioredis client (Redis or Cluster)')
    }
    if (!options || typeof options !== 'object')
      throw new TypeError('RedisStore: options must be an object')
    checkOptionKeys('RedisStore', options, OPTIONS)
    const prefix = options.prefix ?? 'modelgate:'
    if (typeof prefix !== 'string') throw new TypeError('RedisStore: prefix must be a string')
    const timeoutMs = options.timeoutMs ?? 1000
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new TypeError('RedisStore: timeoutMs must be > 0')
    if (
      options.onError !== undefined &&
      options.onError !== 'closed' &&
      options.onError !== 'open'
    ) {
      throw new TypeError('RedisStore: onError must be "closed" or "open"')
    }
    this.redis = redis
    this.prefix = prefix
    this.timeoutMs = timeoutMs
    this.failOpen = options.onError === 'open'
    if (options.report !== undefined && typeof options.report !== 'function')
      throw new TypeError('RedisStore: report must be a function (error) => void')
    this.report = options.report ?? (() => undefined)
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.call(() => this.redis.get(this.prefix + key), null)
    return value ?? undefined
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ms = ttlOf(ttlMs)
    await this.call(
      () =>
        ms === undefined
          ? this.redis.set(this.prefix + key, value)
          : this.redis.set(this.prefix + key, value, 'PX', ms),
      null,
    )
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const ms = ttlOf(ttlMs)
    const reply = await this.call(
      () =>
        ms === undefined
          ? this.redis.set(this.prefix + key, value, 'NX')
          : this.redis.set(this.prefix + key, value, 'PX', ms, 'NX'),
      null,
    )
    return reply === 'OK'
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.redis.del(this.prefix + key), 0)
  }

  async take(key: string, bucket: TokenBucket, cost = 1): Promise<TakeResult> {
    if (!(bucket.capacity > 0) || !(bucket.refillPerSecond >= 0) || !(cost >= 0)) {
      throw new TypeError('take: capacity must be > 0, refillPerSecond and cost >= 0')
    }
    const args = [this.prefix + key, bucket.capacity, bucket.refillPerSecond, cost] as const
    const reply = (await this.call(async () => {
      try {
        return await this.redis.evalsha(TAKE_SHA, 1, ...args)
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
        return this.redis.eval(TAKE, 1, ...args)
      }
    }, [1, String(bucket.capacity)])) as [number, string]
    const allowed = reply[0] === 1
    const tokens = Number(reply[1])
    const missing = cost - tokens
    const retryAfterMs = allowed
      ? 0
      : bucket.refillPerSecond > 0
        ? Math.ceil((missing / bucket.refillPerSecond) * 1000)
        : Infinity
    return { allowed, remaining: Math.floor(tokens), retryAfterMs }
  }

  private async call<T>(command: () => Promise<T>, fallback: T): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([
        command(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`redis command timed out after ${this.timeoutMs} ms`)),
            this.timeoutMs,
          )
        }),
      ])
    } catch (error) {
      this.report(error)
      if (this.failOpen) return fallback
      throw new NotReadyError('shared store unavailable', 'store_unavailable', {
        'retry-after': '1',
      })
    } finally {
      clearTimeout(timer)
    }
  }
}

function ttlOf(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('ttlMs must be a positive number')
  return Math.ceil(ttlMs)
}

/**
 * The stores a gate uses, over one client, each under `<prefix><purpose>:` and with the failure
 * mode its purpose needs: security state fails closed (503), the explanation cache fails open.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const stores = createRedisStores(new Redis(process.env.REDIS_URL!), { prefix: 'mg:prod:' })
 * await stores.replay.setIfAbsent('jti:abc', '1', 300_000)
 * ```
 */
export function createRedisStores(
  redis: RedisLike,
  options: Omit<RedisStoreOptions, 'onError'> & { onError?: never } = {},
): RedisStores {
  if (!options || typeof options !== 'object')
    throw new TypeError('createRedisStores: options must be an object')
  checkOptionKeys('createRedisStores', options, OPTIONS)
  if (options.onError !== undefined) {
    throw new TypeError(
      'createRedisStores: onError is set per store (security state fails closed, caches fail open); use new RedisStore() for another choice',
    )
  }
  const base = options.prefix ?? 'modelgate:'
  const make = (purpose: string, onError: 'closed' | 'open' = 'closed') =>
    new RedisStore(redis, { ...options, prefix: `${base}${purpose}:`, onError })
  return {
    rateLimits: make('rl'),
    replay: make('replay'),
    revocations: make('revoked'),
    vault: make('vault'),
    explanations: make('explain', 'open'),
    audit: make('audit'),
  }
}

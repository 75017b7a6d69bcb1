/**
 * Shared key-value state (replay caches, revocations, token vaults, explanation caches). Values
 * are strings; `ttlMs` bounds how long a key lives. Implementations: {@link MemoryStore} here,
 * Redis in `@modelgate/store-redis`.
 *
 * @example
 * ```ts
 * const fresh = await store.setIfAbsent(`jti:${issuer}:${jti}`, '1', 300_000)
 * if (!fresh) throw new UnauthorizedError('replayed token')
 * ```
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlMs?: number): Promise<void>
  /** Sets the key only when absent; true when it was set (the atomic step of replay checks). */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>
  delete(key: string): Promise<void>
}

/**
 * Token-bucket state for rate limits.
 *
 * @example
 * ```ts
 * const r = await store.take('tenant:acme', { capacity: 100, refillPerSecond: 10 })
 * if (!r.allowed) throw new RateLimitedError(r.retryAfterMs / 1000)
 * ```
 */
export interface RateLimitStore {
  take(key: string, bucket: TokenBucket, cost?: number): Promise<TakeResult>
}

/** Bucket size and refill rate. */
export interface TokenBucket {
  capacity: number
  refillPerSecond: number
}

/** Outcome of {@link RateLimitStore.take}. */
export interface TakeResult {
  allowed: boolean
  remaining: number
  /** How long until `cost` tokens are available; 0 when allowed. */
  retryAfterMs: number
}

/**
 * In-process store for one replica: TTLs, a size cap with oldest-first eviction, token buckets.
 * Use `@modelgate/store-redis` to share state between replicas.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ maxEntries: 100_000 })
 * await store.set('k', 'v', 1000)
 * ```
 */
export class MemoryStore implements KeyValueStore, RateLimitStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>()
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 1_000_000
    this.now = options.now ?? Date.now
  }

  async get(key: string): Promise<string | undefined> {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return e.value
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.put(key, value, ttlMs)
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    // Check and set without an await in between: concurrent callers must not both see "absent".
    const e = this.entries.get(key)
    if (e && e.expiresAt > this.now()) return false
    this.put(key, value, ttlMs)
    return true
  }

  private put(key: string, value: string, ttlMs: number | undefined): void {
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : this.now() + ttlMs })
    this.evict(this.entries)
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key)
  }

  async take(key: string, bucket: TokenBucket, cost = 1): Promise<TakeResult> {
    const now = this.now()
    const state = this.buckets.get(key) ?? { tokens: bucket.capacity, updatedAt: now }
    const elapsed = Math.max(0, now - state.updatedAt) / 1000
    state.tokens = Math.min(bucket.capacity, state.tokens + elapsed * bucket.refillPerSecond)
    state.updatedAt = now
    this.buckets.delete(key)
    this.buckets.set(key, state)
    this.evict(this.buckets)
    if (state.tokens >= cost) {
      state.tokens -= cost
      return { allowed: true, remaining: Math.floor(state.tokens), retryAfterMs: 0 }
    }
    const missing = cost - state.tokens
    const retryAfterMs =
      bucket.refillPerSecond > 0 ? Math.ceil((missing / bucket.refillPerSecond) * 1000) : Infinity
    return { allowed: false, remaining: Math.floor(state.tokens), retryAfterMs }
  }

  private evict(map: Map<string, unknown>): void {
    while (map.size > this.maxEntries) {
      const oldest = map.keys().next().value as string
      map.delete(oldest)
    }
  }
}

import type { KeyValueStore } from '@modelgate/core'

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the stores use.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const client: RedisLike = new Redis(process.env.REDIS_URL!)
 * ```
 */
export interface RedisLike {
  get(key: string): Promise<string | null>
  // One signature per call the stores make, as ioredis declares them (so its clients fit).
  set(key: string, value: string): Promise<unknown>
  set(key: string, value: string, nx: 'NX'): Promise<unknown>
  set(key: string, value: string, px: 'PX', milliseconds: number): Promise<unknown>
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>
  del(...keys: string[]): Promise<number>
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
}

/**
 * Options of {@link RedisStore}.
 *
 * @example
 * ```ts
 * new RedisStore(redis, { prefix: 'mg:prod:replay:', timeoutMs: 500 })
 * ```
 */
export interface RedisStoreOptions {
  /** Prepended to every key. Default `modelgate:`. */
  prefix?: string
  /** A command that has not answered after this long fails (503). Default 1000 ms. */
  timeoutMs?: number
  /**
   * What a failing Redis means. `closed` (default, for security state: replay caches, rate
   * limits, revocations, vaults) turns every error into a 503 `store_unavailable`. `open` (for
   * caches) makes `get` miss and writes no-ops instead.
   */
  onError?: 'closed' | 'open'
  /** Called with every Redis error before it is mapped. */
  report?: (error: unknown) => void
}

/**
 * The stores one gate needs, each under its own key prefix, over one Redis client.
 *
 * @example
 * ```ts
 * const stores: RedisStores = createRedisStores(redis, { prefix: 'mg:' })
 * rateLimit({ store: stores.rateLimits, ... })
 * ```
 */
export interface RedisStores {
  /** Token buckets (`<prefix>rl:`), fail closed. */
  rateLimits: import('./store.js').RedisStore
  /** Replay caches for JWT/JWE `jti` (`<prefix>replay:`), fail closed. */
  replay: KeyValueStore
  /** Token revocations (`<prefix>revoked:`), fail closed. */
  revocations: KeyValueStore
  /** Pseudonym token vault (`<prefix>vault:`), fail closed. */
  vault: KeyValueStore
  /** Explanation cache (`<prefix>explain:`), fail open: a Redis outage only costs recomputation. */
  explanations: KeyValueStore
  /** Audit checkpoints (`<prefix>audit:`), fail closed. */
  audit: KeyValueStore
}

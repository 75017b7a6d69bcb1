import type { BatchingOptions, FeatureSchemaDefinition, GateLimits } from '@modelgate/core'

/**
 * Which adapter serves the gate: `cloud` is the Express app, `edge` the Web fetch handler on
 * Node's HTTP server.
 *
 * @example
 * ```ts
 * const runtime: Runtime = 'edge'
 * ```
 */
export type Runtime = 'cloud' | 'edge'

/**
 * A model's backend in a config: a registered `type` and that type's options.
 *
 * @example
 * ```ts
 * const backend: BackendConfig = { type: 'onnx', path: 'models/credit.onnx' }
 * ```
 */
export interface BackendConfig {
  type: string
  [option: string]: unknown
}

/**
 * One model of a config, mirroring `ModelEntry` with a backend description instead of an instance.
 *
 * @example
 * ```ts
 * const model: ModelConfig = {
 *   name: 'credit',
 *   version: '2',
 *   backend: { type: 'onnx', path: 'credit.onnx' },
 *   batching: { maxBatchSize: 32, maxDelayMs: 2 },
 * }
 * ```
 */
export interface ModelConfig {
  name: string
  version?: string
  backend: BackendConfig
  schema?: FeatureSchemaDefinition
  batching?: BatchingOptions
  labels?: Record<string, string>
}

/**
 * A plugin of a config: the factory name and its options.
 *
 * @example
 * ```ts
 * const plugin: PluginConfig = { use: 'rateLimit', requestsPerMinute: 600 }
 * ```
 */
export interface PluginConfig {
  use: string
  [option: string]: unknown
}

/**
 * Where `modelgate serve` listens. Command-line flags override these.
 *
 * @example
 * ```ts
 * const server: ServerConfig = { host: '0.0.0.0', port: 8080, runtime: 'cloud' }
 * ```
 */
export interface ServerConfig {
  host?: string
  port?: number
  runtime?: Runtime
}

/**
 * Shared state for every plugin of a gate: without it each plugin keeps its own in-memory store.
 * `redis` puts rate limits, replay caches, revocations, the token vault, the explanation cache and
 * audit checkpoints into one Redis (`@modelgate/store-redis`, needs `ioredis` installed), so
 * replicas behind a load balancer share them.
 *
 * @example
 * ```ts
 * const stores: StoresConfig = { redis: { url: 'redis://127.0.0.1:6379', prefix: 'mg:prod:' } }
 * ```
 */
export interface StoresConfig {
  redis?: { url: string; prefix?: string; timeoutMs?: number }
}

/**
 * A validated gate config file.
 *
 * @example
 * ```ts
 * const config: GateConfig = { models: [{ name: 'm', backend: { type: 'onnx', path: 'm.onnx' } }] }
 * ```
 */
export interface GateConfig {
  /** Server name reported by `GET /v2`. */
  name?: string
  models: ModelConfig[]
  /** Outermost first. */
  plugins?: PluginConfig[]
  limits?: GateLimits
  stores?: StoresConfig
  server?: ServerConfig
}

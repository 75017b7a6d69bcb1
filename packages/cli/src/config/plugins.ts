import type { KeyValueStore, Plugin, RateLimitStore } from '@modelgate/core'
import {
  prepareAudit,
  prepareAuthenticate,
  prepareDecrypt,
  prepareEncrypt,
  prepareExplain,
  prepareLlm,
  prepareMask,
  prepareRateLimit,
} from './plugin-options.js'

/**
 * Shared state stores a config's plugins receive: present when the config has a top-level
 * `stores` entry (`stores: { redis: { url } }`); absent means every plugin keeps its own
 * in-memory default.
 *
 * @example
 * ```ts
 * const stores: GateStores = createRedisStores(redis, { prefix: 'mg:' })
 * ```
 */
export interface GateStores {
  rateLimits: RateLimitStore
  replay: KeyValueStore
  revocations: KeyValueStore
  vault: KeyValueStore
  explanations: KeyValueStore
  audit: KeyValueStore
}

/**
 * What a plugin entry's `prepare` step gets besides the options.
 *
 * @example
 * ```ts
 * const context: PluginContext = { baseDir: '/srv/gate', field: 'plugins[2]', onClose: () => {} }
 * ```
 */
export interface PluginContext {
  /** Directory of the config file. */
  baseDir: string
  /** Field path of the plugin entry, for error messages. */
  field: string
  /** Shared stores from the config's `stores` section, when it has one. */
  stores?: GateStores
  /** Registers work to run when the gate closes (flush an audit log, quit a client). */
  onClose(close: () => Promise<void> | void): void
}

/**
 * Where a plugin factory named in a config (`{"use": "<name>", ...options}`) comes from: the
 * package (or file URL) to import, its export, and how JSON options become the factory's options.
 *
 * Key paths name option values: `key`, `nested.key`, `list[]` (each element), `map.*` (each
 * value), combined freely, such as `jwt.issuers[].jwks`.
 *
 * @example
 * ```ts
 * const ref: PluginFactoryRef = {
 *   package: '@modelgate/access',
 *   export: 'authorize',
 *   jsonFiles: ['policy'],
 * }
 * ```
 */
export interface PluginFactoryRef {
  package: string
  export: string
  /** Key paths holding file paths (keys, certificates, logs): resolved against the config directory. */
  files?: readonly string[]
  /**
   * Key paths where a string names a JSON file (a JWKS, a JWK, a policy): resolved against the
   * config directory, read, and replaced by its parsed content. Other values pass unchanged.
   */
  jsonFiles?: readonly string[]
  /**
   * Turns the options (after `files` and `jsonFiles`) into the factory's options: builds objects
   * JSON cannot hold (audit trails, stores). Whatever it throws is reported against the entry.
   */
  prepare?: (
    options: Record<string, unknown>,
    context: PluginContext,
  ) => Promise<Record<string, unknown>>
}

/**
 * A map from the `use` name of a plugin entry to its factory.
 *
 * @example
 * ```ts
 * const registry: PluginRegistry = {
 *   ...pluginFactories,
 *   tenant: { package: pathToFileURL('./tenant.js').href, export: 'tenant' },
 * }
 * ```
 */
export type PluginRegistry = Readonly<Record<string, PluginFactoryRef>>

/**
 * The signature every plugin factory has: options in, middleware out; throws on bad options.
 *
 * @example
 * ```ts
 * const requireHeader: PluginFactory = (options) => {
 *   if (typeof options.name !== 'string') throw new TypeError('"name" must be a string')
 *   return async function requireHeader(ctx, next) { await next() }
 * }
 * ```
 */
export type PluginFactory = (options: Record<string, unknown>) => Plugin

/**
 * The plugin factories a config may name: `authenticate`, `authorize`, `rateLimit`
 * (`@modelgate/access`), `decrypt`, `encrypt`, `sign` (`@modelgate/crypto`), `mask`
 * (`@modelgate/mask`), `explain` (`@modelgate/explain/node`: large jobs on worker threads), `audit`
 * and `tracing` (OpenTelemetry spans) from `@modelgate/audit`, `metrics` (Prometheus on the
 * route `GET /metrics`) from `@modelgate/audit/node`, and `llm` (`@modelgate/llm`: the OpenAI and
 * Anthropic routes of the config's `openai` and `anthropic` models, with token budgets and tenant
 * policies; added before `authorize` when the config has such models and no `llm` entry).
 *
 * @example
 * ```ts
 * Object.keys(pluginFactories) // names usable as `"use"` in a config
 * ```
 */
export const pluginFactories: PluginRegistry = Object.freeze({
  audit: {
    package: '@modelgate/audit',
    export: 'audit',
    files: ['path', 'checkpoint.key'],
    prepare: prepareAudit,
  },
  metrics: { package: '@modelgate/audit/node', export: 'metrics' },
  tracing: { package: '@modelgate/audit', export: 'tracing' },
  decrypt: {
    package: '@modelgate/crypto',
    export: 'decrypt',
    jsonFiles: ['keys', 'keys[]'],
    prepare: prepareDecrypt,
  },
  authenticate: {
    package: '@modelgate/access',
    export: 'authenticate',
    jsonFiles: ['jwt.issuers[].jwks', 'apiKeys.records'],
    prepare: prepareAuthenticate,
  },
  authorize: { package: '@modelgate/access', export: 'authorize', jsonFiles: ['policy'] },
  rateLimit: { package: '@modelgate/access', export: 'rateLimit', prepare: prepareRateLimit },
  mask: {
    package: '@modelgate/mask',
    export: 'mask',
    files: ['keyFile'],
    jsonFiles: ['policy', 'detector'],
    prepare: prepareMask,
  },
  explain: {
    package: '@modelgate/explain/node',
    export: 'explain',
    files: ['defaults.background', 'models.*.background'],
    prepare: prepareExplain,
  },
  sign: { package: '@modelgate/crypto', export: 'sign', jsonFiles: ['key'] },
  encrypt: {
    package: '@modelgate/crypto',
    export: 'encrypt',
    jsonFiles: ['clientKeys', 'clientKeys[]'],
    prepare: prepareEncrypt,
  },
  llm: { package: '@modelgate/llm', export: 'llm', prepare: prepareLlm },
})

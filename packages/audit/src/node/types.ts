import type { Plugin } from '@modelgate/core'
import type { DestinationStream, Logger, LoggerOptions } from 'pino'
import type { Registry } from 'prom-client'
import type { AuditVerifyOptions } from '../types.js'

/**
 * Options of {@link jsonlSink}.
 *
 * @example
 * ```ts
 * const options: JsonlSinkOptions = { path: 'audit.jsonl', fsync: 'always' }
 * ```
 */
export interface JsonlSinkOptions {
  path: string
  /**
   * When records reach the disk:
   * - `always`: each write is synced (`fdatasync`) before it is acknowledged;
   * - `batch` (default): acknowledged once written to the OS, synced every `fsyncIntervalMs`;
   * - `never`: the OS decides.
   *
   * Every mode survives a killed process; only `always` also survives a power loss.
   */
  fsync?: 'always' | 'batch' | 'never'
  /** Sync period of `fsync: 'batch'`, in ms. Default 200. */
  fsyncIntervalMs?: number
  /** File mode when the file is created. Default `0o640`. */
  mode?: number
}

/**
 * Options of {@link sqliteSink}.
 *
 * @example
 * ```ts
 * const options: SqliteSinkOptions = { path: 'audit.db', synchronous: 'full' }
 * ```
 */
export interface SqliteSinkOptions {
  path: string
  /** Table name. Default `audit_log`. */
  table?: string
  /** SQLite `synchronous` pragma (WAL mode): `full` (default) syncs every commit. */
  synchronous?: 'full' | 'normal' | 'off'
}

/**
 * Options of {@link verifyAuditFile}.
 *
 * @example
 * ```ts
 * await verifyAuditFile('audit.db', { key: publicPem, table: 'audit_log' })
 * ```
 */
export interface AuditFileVerifyOptions extends AuditVerifyOptions {
  /** Table of a SQLite log. Default `audit_log`. */
  table?: string
}

/**
 * Options of the {@link metrics} plugin.
 *
 * @example
 * ```ts
 * metrics({ trails: [trail], path: '/metrics' })
 * ```
 */
export interface MetricsOptions {
  /** Registry to register into. Default: a new one (see `plugin.registry`). */
  registry?: Registry
  /**
   * Path of the `GET` route the plugin contributes (operation `metrics`), or `false` to serve no
   * route and mount `plugin.handler` on a separate (internal) port. Default `/metrics`.
   */
  path?: string | false
  /**
   * Answer the route only to an authenticated caller (`ctx.principal` set by an authentication
   * plugin), 401 otherwise. Default true. With false, the route answers whoever the gate's
   * plugins let through (authentication and authorization policies decide, as on any route).
   */
  requirePrincipal?: boolean
  /** Metric name prefix. Default `modelgate_`. */
  prefix?: string
  /** Audit trails whose sink health is exported. */
  trails?: import('../trail.js').AuditTrail[]
  /** Request latency buckets, seconds. */
  buckets?: number[]
}

/**
 * The {@link metrics} plugin, with its registry and a fetch handler serving the exposition text.
 *
 * @example
 * ```ts
 * const m = metrics({ path: false })
 * serveNode({ fetch: m.handler }, { port: 9464, host: '10.0.0.5' })
 * ```
 */
export interface MetricsPlugin extends Plugin {
  readonly registry: Registry
  /** The exposition text as a `Response`, for a server of your own (a separate port). */
  handler(request?: Request): Promise<Response>
}

/**
 * Options of {@link createLogger}.
 *
 * @example
 * ```ts
 * import { maskText } from '@modelgate/mask'
 * createLogger({ mask: (text) => maskText(text), level: 'info' })
 * ```
 */
export interface LoggerFactoryOptions {
  /**
   * Applied to every string in every log line (message, fields, error messages and stacks;
   * keys and numbers are kept, so the line stays valid JSON) before it is written, e.g.
   * `maskText` of `@modelgate/mask`. A mask that throws or returns a non-string drops the line
   * and writes a short error line instead, never the original.
   */
  mask?: (text: string) => string
  /** Default `info`. */
  level?: string
  /** Where lines go. Default: stdout. */
  destination?: DestinationStream
  /** Passed to pino (`base`, `redact`, `formatters`, …). */
  pino?: Omit<LoggerOptions, 'level'>
}

/**
 * Options of {@link requestLog}.
 *
 * @example
 * ```ts
 * requestLog({ logger: createLogger({ mask }) })
 * ```
 */
export interface RequestLogOptions {
  logger: Logger
  /** Level of successful requests. Default `info`; 4xx log at `warn`, 5xx at `error`. */
  level?: 'trace' | 'debug' | 'info'
}

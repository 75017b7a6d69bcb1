import type { GateContext, KeyValueStore, Plugin } from '@modelgate/core'
import type { Tracer } from '@opentelemetry/api'
import type { DestinationStream, Logger, LoggerOptions } from 'pino'
import type { Registry } from 'prom-client'
import type { JWK } from 'jose'
import type { KeyObject } from 'node:crypto'

/**
 * One audit record: one request, as it left the gate. Field order is fixed (it is part of the
 * hashed bytes); absent facts are `null`. Holds identifiers and counts, never payloads, tokens
 * or masked values.
 *
 * @example
 * ```ts
 * const r: AuditRecord = {
 *   seq: 0, time: '2025-01-01T00:00:00.000Z', requestId: 'r1', principal: 'user-42', tenant: null,
 *   model: 'credit', modelVersion: '1', action: 'predict', route: 'v2-infer',
 *   decision: { allow: true, reasons: ['rule underwriters'] }, masking: { EMAIL_ADDRESS: 1 },
 *   explanation: null, status: 200, error: null, latencyMs: 3.2, prev: '0'.repeat(64), hash: '…',
 * }
 * ```
 */
export interface AuditRecord {
  /** Position in the chain, from 0 without gaps. */
  seq: number
  /** When the gate received the request (ISO 8601, UTC). */
  time: string
  requestId: string
  /** Principal id set by authentication; never a credential. */
  principal: string | null
  tenant: string | null
  model: string | null
  modelVersion: string | null
  /** The operation (`predict`, `explain`, `metadata`, …). */
  action: string
  /** The protocol route kind (`v2-infer`, `v1-predict`, …). */
  route: string
  decision: { allow: boolean; reasons: string[] } | null
  /** Masked entity counts by type. */
  masking: Record<string, number> | null
  /** Explanation method, when one was computed. */
  explanation: string | null
  /** HTTP status sent to the client. */
  status: number
  /** Stable error code for failed requests (`invalid_token`, `rate_limited`, …). */
  error: string | null
  /** Time spent inside the gate, in milliseconds. */
  latencyMs: number
  /** SHA-256 (hex) of the previous record; 64 zeros for the first. */
  prev: string
  /** SHA-256 (hex) of this record's line up to the `hash` field. */
  hash: string
}

/**
 * The facts of one request before the trail chains them (no `seq`, `prev`, `hash`).
 *
 * @example
 * ```ts
 * await trail.append({ ...facts, status: 200 } satisfies AuditFields)
 * ```
 */
export type AuditFields = Omit<AuditRecord, 'seq' | 'prev' | 'hash'>

/**
 * A signed checkpoint: a compact JWS whose payload names the last record it covers.
 *
 * @example
 * ```ts
 * const cp: AuditCheckpoint = { seq: 999, hash: '…', time: '2025-01-01T00:00:00.000Z', jws: 'eyJ…' }
 * ```
 */
export interface AuditCheckpoint {
  seq: number
  hash: string
  time: string
  jws: string
}

/**
 * What a sink stores: one line per entry, records and checkpoints interleaved in chain order.
 *
 * @example
 * ```ts
 * for (const e of entries) if (e.type === 'record') console.log(e.record.seq, e.line)
 * ```
 */
export type AuditEntry =
  | { type: 'record'; line: string; record: AuditRecord }
  | { type: 'checkpoint'; line: string; checkpoint: AuditCheckpoint }

/**
 * The last intact record a sink holds, so a restarted writer continues the chain.
 *
 * @example
 * ```ts
 * const head: AuditHead = { seq: 41, hash: 'ab…', checkpointed: false }
 * ```
 */
export interface AuditHead {
  seq: number
  hash: string
  /** True when a checkpoint already covers this record. */
  checkpointed: boolean
}

/**
 * Where audit entries go. `write` is all-or-nothing and resolves only once the entries are as
 * durable as the sink promises; a rejection means none of them is stored.
 *
 * @example
 * ```ts
 * const lines: string[] = []
 * const memorySink: AuditSink = {
 *   kind: 'memory',
 *   async open() { return undefined },
 *   async write(entries) { for (const e of entries) lines.push(e.line) },
 *   async close() {},
 * }
 * ```
 */
export interface AuditSink {
  /** Short label for metrics (`jsonl`, `sqlite`, …). */
  readonly kind: string
  /**
   * Whether a resolved `write` means the records reached stable storage. When `false` (JSONL with
   * `fsync: 'batch'` or `'never'`), a fail-open `audit` plugin queues the record and answers
   * without waiting for the write; failures still show in health and `onError`. Default `true`.
   */
  readonly durable?: boolean
  /** Prepares storage, repairs a torn tail, and returns the last intact record, if any. */
  open(): Promise<AuditHead | undefined>
  write(entries: AuditEntry[]): Promise<void>
  close(): Promise<void>
}

/**
 * A private key for signing checkpoints, or a public key for verifying them: a Node
 * `KeyObject`, a WebCrypto `CryptoKey`, a JWK, or (public keys only) an SPKI PEM string.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ed25519')
 * ```
 */
export type AuditKey = KeyObject | CryptoKey | JWK

/**
 * Checkpoint signing settings.
 *
 * @example
 * ```ts
 * const checkpoint: CheckpointOptions = { key: privateKey, alg: 'EdDSA', kid: 'audit-2025', every: 1000 }
 * ```
 */
export interface CheckpointOptions {
  /** Private key (ES256: P-256; EdDSA: Ed25519). */
  key: AuditKey
  alg: 'ES256' | 'EdDSA'
  /** Key id written into each checkpoint's protected header. */
  kid?: string
  /** Sign after this many records. Default 1000. */
  every?: number
  /** Sign at least this often while records arrive, in ms. Default 60,000. */
  intervalMs?: number
  /** Also keep the latest checkpoint here (for example a Redis store), to detect truncation. */
  store?: KeyValueStore
  /** Key in `store`. Default `audit:checkpoint:<trail name>`. */
  storeKey?: string
}

/**
 * Options of {@link createAuditTrail}.
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sink: jsonlSink({ path: 'audit.jsonl' }), checkpoint: { key, alg: 'EdDSA' } })
 * ```
 */
export interface AuditTrailOptions {
  sink: AuditSink
  /** Without it the chain is still hashed, but nothing is signed. */
  checkpoint?: CheckpointOptions
  /** Name for metrics and the checkpoint store key. Default `audit`. */
  name?: string
  /** Records waiting for the sink, at most; past it appends fail. Default 10,000. */
  maxQueue?: number
  /** Called with sink and signing failures (they also show in {@link AuditHealth}). */
  onError?: (error: unknown) => void
}

/**
 * The state of a trail, for readiness checks and metrics.
 *
 * @example
 * ```ts
 * if (!trail.health().ok) console.warn(trail.health().lastError)
 * ```
 */
export interface AuditHealth {
  /** False after a failed write until the next successful one. */
  ok: boolean
  name: string
  sink: string
  /** Records acknowledged by the sink since start. */
  written: number
  /** Records that could not be stored (write failures and a full queue). */
  failed: number
  /** Records waiting for the sink. */
  pending: number
  checkpoints: number
  /** Seq of the last stored record, -1 when the log is empty. */
  lastSeq: number
  lastError: string | undefined
}

/**
 * Options of the {@link audit} plugin.
 *
 * @example
 * ```ts
 * audit({ trail, failClosed: true })
 * ```
 */
export interface AuditOptions {
  trail: import('./trail.js').AuditTrail
  /**
   * Answer 503 when the record cannot be stored, refuse requests while the sink is failing,
   * and report `GET /v2/health/ready` as not ready then. Default false (the request is served,
   * the failure counted).
   */
  failClosed?: boolean
  /** Which requests get a record. Default: every request except health checks. */
  include?: (ctx: GateContext) => boolean
}

/**
 * What {@link verifyAuditFile} found wrong first.
 *
 * - `missing`: a record was deleted (or the log cut at a line boundary; see `checkpoint`).
 * - `reordered`: records are out of order.
 * - `altered`: a record's bytes changed.
 * - `forged`: a checkpoint's signature is invalid, or records were inserted.
 * - `truncated`: the last line is cut short.
 * - `unsigned`: records follow the last valid checkpoint.
 *
 * @example
 * ```ts
 * if (result.problem?.kind === 'altered') console.log(`record ${result.problem.seq} was edited`)
 * ```
 */
export interface AuditProblem {
  kind: 'missing' | 'reordered' | 'altered' | 'forged' | 'truncated' | 'unsigned'
  /** The record named, when one can be. */
  seq: number | null
  /** 1-based line (JSONL) or row position (SQLite) where it shows. */
  line: number
  message: string
}

/**
 * Outcome of {@link verifyAuditFile}.
 *
 * @example
 * ```ts
 * const result = await verifyAuditFile('audit.jsonl', { key: publicKey })
 * process.exitCode = result.ok ? 0 : 1
 * ```
 */
export interface AuditVerifyResult {
  ok: boolean
  /** Intact records read before the first problem. */
  records: number
  /** Checkpoints whose signature (when a key was given) and link verified. */
  checkpoints: number
  /** Seq of the last intact record, -1 when none. */
  lastSeq: number
  /** True when checkpoint signatures were checked against a key. */
  signaturesChecked: boolean
  problem?: AuditProblem
}

/**
 * Options of {@link verifyAuditFile}.
 *
 * @example
 * ```ts
 * await verifyAuditFile('audit.jsonl', { key: publicPem, checkpoint: await redisStore.get('audit:checkpoint:audit') })
 * ```
 */
export interface AuditVerifyOptions {
  /** Public key(s) for checkpoints; PEM (SPKI) strings are accepted. Without one, only the chain is checked. */
  key?: AuditKey | string | Array<AuditKey | string>
  /** The latest checkpoint kept outside the log; the log must reach the record it signs. */
  checkpoint?: string
  /** Accept records after the last checkpoint (a log still being written). Default false. */
  allowUnsignedTail?: boolean
  /** Table of a SQLite log. Default `audit_log`. */
  table?: string
}

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
 * One stored line for {@link verifyAuditLines}; `partial` when the file ended without its newline.
 *
 * @example
 * ```ts
 * const line: AuditLine = { text: '{"seq":0,…}' }
 * ```
 */
export interface AuditLine {
  text: string
  partial?: boolean
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
  /** Route served for `GET`, or `false` to mount `plugin.handler` yourself. Default `/metrics`. */
  path?: string | false
  /** Metric name prefix. Default `modelgate_`. */
  prefix?: string
  /** Audit trails whose sink health is exported. */
  trails?: import('./trail.js').AuditTrail[]
  /** Request latency buckets, seconds. */
  buckets?: number[]
}

/**
 * The {@link metrics} plugin, with its registry and a fetch handler serving the exposition text.
 *
 * @example
 * ```ts
 * const m = metrics({ path: false })
 * adminServer.get('/metrics', async (req, res) => res.type(m.registry.contentType).send(await m.registry.metrics()))
 * ```
 */
export interface MetricsPlugin extends Plugin {
  readonly registry: Registry
  handler(request?: Request): Promise<Response>
}

/**
 * Options of {@link tracing}, {@link traced} and {@link tracedBackend}.
 *
 * @example
 * ```ts
 * tracing({ tracer: provider.getTracer('credit-gate') })
 * ```
 */
export interface TracingOptions {
  /** Default: `trace.getTracer('@modelgate/audit')` from the registered provider. */
  tracer?: Tracer
  /** Record the principal id as `enduser.id`. Default true. */
  principal?: boolean
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

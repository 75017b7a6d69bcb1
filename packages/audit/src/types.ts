import type { GateContext, KeyValueStore } from '@modelgate/core'
import type { Tracer } from '@opentelemetry/api'
import type { CryptoKey, JWK, KeyObject } from 'jose'

/**
 * A JSON value as the audit record stores facts: strings, finite numbers, booleans, null,
 * arrays and plain objects.
 *
 * @example
 * ```ts
 * const v: AuditValue = { method: 'kernel_shap', rows: 1, cached: false }
 * ```
 */
export type AuditValue =
  string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue }

/**
 * One audit record: one request, as it left the gate. Field order is fixed (it is part of the
 * hashed bytes); absent values are `null`. `facts` holds every fact plugins left on
 * `ctx.facts` (masking counts, explanation method, encryption, rate limiting, routing…) but
 * those it holds in its own fields (`clientRequestId`, `principal`, `tenant`, `decision`),
 * sanitised and passed through the masking function; the record never holds payloads,
 * credentials or masked values.
 *
 * @example
 * ```ts
 * const r: AuditRecord = {
 *   seq: 0, time: '2025-01-01T00:00:00.000Z', requestId: '3f0c…', clientRequestId: 'web-17',
 *   principal: 'user-42', tenant: null, model: 'credit', modelVersion: '1', action: 'predict',
 *   route: 'v2-infer', routeName: null, decision: { allow: true, reasons: ['rule underwriters'] },
 *   status: 200, error: null, latencyMs: 3.2, facts: { masking: { EMAIL_ADDRESS: 1 } },
 *   prev: '0'.repeat(64), hash: '…',
 * }
 * ```
 */
export interface AuditRecord {
  /** Position in the chain, from 0 without gaps. */
  seq: number
  /** When the gate received the request (ISO 8601, UTC). */
  time: string
  /** The gate's own id of the request (`x-request-id` on the answer); unique per request. */
  requestId: string
  /** The id the client sent (`x-request-id`), kept beside the gate's; never a key. */
  clientRequestId: string | null
  /** Principal id set by authentication; never a credential. */
  principal: string | null
  tenant: string | null
  /** The registered model, or the name the URL gave (capped and masked) when none matched. */
  model: string | null
  modelVersion: string | null
  /** The operation (`predict`, `explain`, `metadata`, `metrics`, …). */
  action: string
  /** The route kind (`v2-infer`, `v1-predict`, `custom`, `unknown`, …). */
  route: string
  /** Name of a contributed or `protect()`ed route (`metrics`, `console`, `protect:/score`). */
  routeName: string | null
  /**
   * The authorization decision (`ctx.decision`, or the `decision` fact): outcome, the rules that
   * decided and, when the policy named it, the action it decided on.
   */
  decision: { allow: boolean; reasons: string[]; action?: string } | null
  /** HTTP status sent to the client. */
  status: number
  /** Stable error code for failed requests (`invalid_token`, `rate_limited`, `bad_path`, …). */
  error: string | null
  /** Time from receiving the request to its final answer, in milliseconds. */
  latencyMs: number
  /** Every other fact of `ctx.facts`, sanitised (see the README's record format). */
  facts: Record<string, AuditValue>
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
 * await trail.append({ ...fields, status: 200 } satisfies AuditFields)
 * ```
 */
export type AuditFields = Omit<AuditRecord, 'seq' | 'prev' | 'hash'>

/**
 * A signed checkpoint: a compact JWS whose payload names the last record it covers and the
 * checkpoint before it, so checkpoints form a chain of their own.
 *
 * @example
 * ```ts
 * const cp: AuditCheckpoint = { seq: 999, hash: '…', time: '2025-01-01T00:00:00.000Z', n: 0, prev: null, jws: 'eyJ…' }
 * ```
 */
export interface AuditCheckpoint {
  /** The last record covered. */
  seq: number
  /** That record's hash. */
  hash: string
  time: string
  /** Position among the log's checkpoints, from 0. */
  n: number
  /** SHA-256 (hex) of the previous checkpoint's JWS; `null` for the first. */
  prev: string | null
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
 * const head: AuditHead = { seq: 41, hash: 'ab…', checkpointed: false, checkpoint: 'eyJ…' }
 * ```
 */
export interface AuditHead {
  seq: number
  hash: string
  /** True when a checkpoint already covers this record. */
  checkpointed: boolean
  /**
   * The JWS of the last checkpoint stored, when `open` was asked for it: the next checkpoint
   * names it. Without it a restarted writer starts a new checkpoint chain, which verification
   * reports.
   */
  checkpoint?: string
}

/**
 * What {@link AuditSink.open} is asked for.
 *
 * @example
 * ```ts
 * const head = await sink.open({ lastCheckpoint: true })
 * ```
 */
export interface AuditSinkOpenOptions {
  /** The trail signs checkpoints: return the last stored one in `AuditHead.checkpoint`. */
  lastCheckpoint?: boolean
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
  open(options?: AuditSinkOpenOptions): Promise<AuditHead | undefined>
  write(entries: AuditEntry[]): Promise<void>
  close(): Promise<void>
}

/**
 * A private key for signing checkpoints, or a public key for verifying them: a Node
 * `KeyObject`, a WebCrypto `CryptoKey` or a JWK (verification also takes SPKI PEM strings).
 *
 * @example
 * ```ts
 * const { privateKey } = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])
 * const key: AuditKey = privateKey
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
   * Answer 503 `audit_unavailable` when the record cannot be stored, refuse requests (before
   * the model) while the sink is failing, and report `GET /v2/health/ready` as not ready then.
   * Default false (the request is served, the failure counted).
   */
  failClosed?: boolean
  /** Which requests get a record. Default: every request except health checks. */
  include?: (ctx: GateContext) => boolean
  /**
   * `gate.close()` flushes and closes the trail (a final checkpoint is signed). Default true;
   * set false when the trail outlives the gate (several gates writing one trail).
   */
  closeTrail?: boolean
}

/**
 * What verification found wrong first.
 *
 * - `missing`: a record or a checkpoint was deleted (or the log cut at a line boundary, against
 *   an external checkpoint).
 * - `reordered`: records are out of order.
 * - `altered`: a record's or a checkpoint's bytes changed.
 * - `forged`: a checkpoint's signature is invalid, a checkpoint does not follow the one before
 *   it, or records were inserted.
 * - `truncated`: the last line is cut short (the log was cut in the middle of a line).
 * - `unsigned`: records after the last checkpoint (or a log without checkpoints): the end of
 *   the log is not covered, so records could have been cut off without a trace.
 *
 * @example
 * ```ts
 * if (result.problem?.kind === 'altered') console.log(`record ${result.problem.seq} was edited`)
 * ```
 */
export interface AuditProblem {
  kind: 'missing' | 'reordered' | 'altered' | 'forged' | 'truncated' | 'unsigned'
  /** The record named, when one can be (`null` for a checkpoint). */
  seq: number | null
  /** 1-based line (JSONL) or row position (SQLite) where it shows. */
  line: number
  message: string
}

/**
 * Outcome of {@link verifyAuditLines} (and `verifyAuditFile` of `@modelgate/audit/node`).
 *
 * @example
 * ```ts
 * const result = await verifyAuditLines(lines, { key: publicKey })
 * for (const w of result.warnings) console.warn(`WARNING: ${w}`)
 * ```
 */
export interface AuditVerifyResult {
  ok: boolean
  /** Intact records read before the first problem. */
  records: number
  /** Checkpoints whose signature (when a key was given) and links verified. */
  checkpoints: number
  /** Seq of the last intact record, -1 when none. */
  lastSeq: number
  /** True when checkpoint signatures were checked against a key. */
  signaturesChecked: boolean
  /**
   * What the result cannot vouch for although it is `ok`: no key given, an end of the log no
   * checkpoint covers (accepted with `allowUnsignedTail`), an empty log.
   */
  warnings: string[]
  problem?: AuditProblem
}

/**
 * Options of {@link verifyAuditLines}.
 *
 * @example
 * ```ts
 * await verifyAuditLines(lines, { key: publicPem, checkpoint: await redisStore.get('audit:checkpoint:audit') })
 * ```
 */
export interface AuditVerifyOptions {
  /** Public key(s) for checkpoints; PEM (SPKI) strings are accepted. Without one, only the chains are checked. */
  key?: AuditKey | string | Array<AuditKey | string>
  /** The latest checkpoint kept outside the log; the log must reach the record it signs. */
  checkpoint?: string
  /**
   * Accept records that no checkpoint covers at the end of the log (a log still being written,
   * or one written without signing); the result then carries a warning. Default false.
   */
  allowUnsignedTail?: boolean
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

import { checkOptionKeys, NotReadyError } from '@modelgate/core'
import { CompactSign } from 'jose'
import {
  chainRecord,
  checkpointClaims,
  checkpointDigest,
  checkpointLine,
  GENESIS_HASH,
} from './chain.js'
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditFields,
  AuditHealth,
  AuditHead,
  AuditRecord,
  AuditTrailOptions,
  CheckpointOptions,
} from './types.js'

/**
 * 503 `audit_unavailable`: the audit sink could not store the record of this request (only
 * thrown to clients by a fail-closed {@link audit} plugin).
 *
 * @example
 * ```ts
 * throw new AuditUnavailableError()
 * ```
 */
export class AuditUnavailableError extends NotReadyError {
  constructor(message = 'audit log unavailable') {
    super(message, 'audit_unavailable', { 'retry-after': '1' })
  }
}

interface Pending {
  fields: AuditFields
  resolve?: (record: AuditRecord) => void
  reject?: (error: unknown) => void
}

const ALGS = new Set(['ES256', 'EdDSA'])
/** How long submitted records wait to be grouped into one write, and how many at most. */
const GROUP_MS = 5
const GROUP_MAX = 1024
const TRAIL_OPTIONS = {
  sink: true,
  checkpoint: {
    key: true,
    alg: true,
    kid: true,
    every: true,
    intervalMs: true,
    store: true,
    storeKey: true,
  },
  name: true,
  maxQueue: true,
  onError: true,
} as const

type Timer = ReturnType<typeof setTimeout>
/** The next turn of the event loop: `setImmediate` where it exists (Node), else a 0 ms timeout. */
const nextTurn: (run: () => void) => void =
  (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate ??
  ((run) => setTimeout(run, 0))

/** Lets the process exit while `timer` is pending (Node); elsewhere timers do not hold a process. */
export function unref(timer: Timer | ReturnType<typeof setInterval>): void {
  ;(timer as { unref?: () => void }).unref?.()
}

/**
 * A hash-chained, checkpoint-signed audit log over one {@link AuditSink}. Appends are queued and
 * written in order by one writer: everything queued in one event-loop turn, or while a write is
 * in flight, goes into one sink write (group commit), so `fsync: 'always'` costs one sync per
 * batch, not per record. `append` resolves once the sink acknowledged the record; `submit` queues
 * it without waiting, and such records are grouped for up to 5 ms (or 1024 records).
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sink: jsonlSink({ path: 'audit.jsonl', fsync: 'always' }) })
 * const gate = createGate({ models, plugins: [audit({ trail })] })
 * process.on('SIGTERM', () => trail.close())
 * ```
 */
export class AuditTrail {
  readonly name: string
  /** Whether the sink's acknowledgement means stable storage (see {@link AuditSink.durable}). */
  readonly durable: boolean
  private readonly sink: AuditTrailOptions['sink']
  private readonly signing: CheckpointOptions | undefined
  private readonly every: number
  private readonly maxQueue: number
  private readonly onError: (error: unknown) => void
  private readonly queue: Pending[] = []
  private opening: Promise<void> | undefined
  private closing: Promise<void> | undefined
  private head: { seq: number; hash: string } = { seq: -1, hash: GENESIS_HASH }
  /** The last checkpoint written: the next one names it. */
  private lastCheckpoint: { n: number; digest: string } | undefined
  private sinceCheckpoint = 0
  private checkpointDue = false
  private writing = false
  private grouping: Timer | undefined
  /** Someone waits for a queued record (`append`). */
  private awaited = false
  private closed = false
  private timer: ReturnType<typeof setInterval> | undefined
  private idle: Array<() => void> = []
  // One instance for every refused record: an overloaded process should not also build a stack
  // trace per dropped record.
  private readonly queueFull = new AuditUnavailableError('audit queue is full')
  private stats = {
    ok: true,
    written: 0,
    failed: 0,
    checkpoints: 0,
    lastError: undefined as string | undefined,
  }

  /** @internal Use {@link createAuditTrail}. */
  constructor(options: AuditTrailOptions) {
    if (!options || typeof options !== 'object')
      throw new TypeError('audit trail: options object required')
    checkOptionKeys('audit trail', options, TRAIL_OPTIONS)
    const { sink, checkpoint } = options
    if (
      !sink ||
      typeof sink.open !== 'function' ||
      typeof sink.write !== 'function' ||
      typeof sink.close !== 'function'
    ) {
      throw new TypeError('audit trail: sink must implement open(), write() and close()')
    }
    if (checkpoint !== undefined) {
      if (
        !checkpoint ||
        typeof checkpoint !== 'object' ||
        !checkpoint.key ||
        typeof checkpoint.key !== 'object'
      ) {
        throw new TypeError(
          'audit trail: checkpoint.key must be a private key (KeyObject, CryptoKey or JWK)',
        )
      }
      if (!ALGS.has(checkpoint.alg))
        throw new TypeError('audit trail: checkpoint.alg must be ES256 or EdDSA')
      if (
        checkpoint.every !== undefined &&
        (!Number.isSafeInteger(checkpoint.every) || checkpoint.every < 1)
      ) {
        throw new TypeError('audit trail: checkpoint.every must be a positive integer')
      }
      if (
        checkpoint.intervalMs !== undefined &&
        (!Number.isFinite(checkpoint.intervalMs) || checkpoint.intervalMs < 10)
      ) {
        throw new TypeError('audit trail: checkpoint.intervalMs must be at least 10')
      }
      if (checkpoint.store !== undefined && typeof checkpoint.store?.set !== 'function') {
        throw new TypeError('audit trail: checkpoint.store must be a KeyValueStore')
      }
    }
    if (
      options.maxQueue !== undefined &&
      (!Number.isSafeInteger(options.maxQueue) || options.maxQueue < 1)
    ) {
      throw new TypeError('audit trail: maxQueue must be a positive integer')
    }
    if (
      options.name !== undefined &&
      (typeof options.name !== 'string' || !/^[\w.-]{1,64}$/.test(options.name))
    ) {
      throw new TypeError('audit trail: name must be 1-64 letters, digits, "_", "." or "-"')
    }
    this.name = options.name ?? 'audit'
    this.sink = sink
    this.durable = sink.durable ?? true
    this.signing = checkpoint
    this.every = checkpoint?.every ?? 1000
    this.maxQueue = options.maxQueue ?? 10_000
    this.onError = options.onError ?? (() => undefined)
    if (checkpoint) {
      this.timer = setInterval(() => {
        if (this.sinceCheckpoint > 0) {
          this.checkpointDue = true
          this.kick()
        }
      }, checkpoint.intervalMs ?? 60_000)
      unref(this.timer)
    }
  }

  /** Opens the sink and reads where the chain stands; called by the first append. */
  open(): Promise<void> {
    this.opening ??= this.sink.open({ lastCheckpoint: this.signing !== undefined }).then(
      (head: AuditHead | undefined) => {
        if (head) {
          this.head = { seq: head.seq, hash: head.hash }
          const claims = head.checkpoint ? checkpointClaims(head.checkpoint) : undefined
          if (claims && head.checkpoint)
            this.lastCheckpoint = { n: claims.n, digest: checkpointDigest(head.checkpoint) }
          if (!head.checkpointed && this.signing) {
            this.sinceCheckpoint = 1
            this.checkpointDue = true
          }
        }
      },
      (error: unknown) => {
        this.opening = undefined
        throw error
      },
    )
    return this.opening
  }

  /** Queues a record; resolves with it, chained, once the sink has stored it. */
  append(fields: AuditFields): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new AuditUnavailableError('audit trail is closed'))
    if (this.queue.length >= this.maxQueue) {
      this.fail(this.queueFull, 1)
      return Promise.reject(this.queueFull)
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ fields, resolve, reject })
      this.awaited = true
      this.kick()
    })
  }

  /**
   * Queues a record without waiting for the sink: it is chained in order with everything else,
   * and a failure to store it shows in {@link AuditTrail.health} and `onError`.
   */
  submit(fields: AuditFields): void {
    if (this.closed) return this.fail(new AuditUnavailableError('audit trail is closed'), 1)
    if (this.queue.length >= this.maxQueue) return this.fail(this.queueFull, 1)
    this.queue.push({ fields })
    this.kick(this.queue.length >= GROUP_MAX)
  }

  /** Signs a checkpoint over the current head now (no-op without signing or new records). */
  async checkpoint(): Promise<void> {
    if (!this.signing || this.sinceCheckpoint === 0) return this.flush()
    this.checkpointDue = true
    this.kick()
    return this.flush()
  }

  /** Resolves once everything queued so far was written (or failed). */
  flush(): Promise<void> {
    if (!this.writing && this.queue.length === 0 && !this.checkpointDue) return Promise.resolve()
    this.kick()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  health(): AuditHealth {
    return {
      ok: this.stats.ok,
      name: this.name,
      sink: this.sink.kind,
      written: this.stats.written,
      failed: this.stats.failed,
      pending: this.queue.length,
      checkpoints: this.stats.checkpoints,
      lastSeq: this.head.seq,
      lastError: this.stats.lastError,
    }
  }

  /** Writes what is queued, signs a final checkpoint and closes the sink (once). */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    // Records submitted just before may still wait for their group (the sink not even opened).
    await this.flush()
    if (this.signing && this.sinceCheckpoint > 0) await this.checkpoint()
    this.closed = true
    if (this.opening)
      await this.opening.then(
        () => this.sink.close(),
        () => undefined,
      )
  }

  /** Starts the writer: at the next turn of the event loop, or after GROUP_MS unless `now`. */
  private kick(now = true): void {
    if (this.writing) {
      if (!now || this.grouping === undefined) return
      clearTimeout(this.grouping)
    }
    this.writing = true
    if (now) {
      this.grouping = undefined
      nextTurn(this.drainNow)
    } else {
      this.grouping = setTimeout(this.drainNow, GROUP_MS)
    }
  }

  private readonly drainNow = (): void => {
    this.grouping = undefined
    void this.drain()
  }

  private async drain(): Promise<void> {
    try {
      let first = true
      while (this.checkpointDue || (this.queue.length > 0 && (first || this.pressing()))) {
        first = false
        try {
          await this.open()
        } catch (error) {
          const batch = this.queue.splice(0)
          this.awaited = false
          this.checkpointDue = false
          this.fail(error, batch.length)
          for (const p of batch) p.reject?.(new AuditUnavailableError())
          continue
        }
        const batch = this.queue.splice(0, 4096)
        if (this.queue.length === 0) this.awaited = false
        await this.writeBatch(batch)
      }
    } finally {
      this.writing = false
      if (this.queue.length > 0 || this.checkpointDue) this.kick(this.pressing())
      else for (const resolve of this.idle.splice(0)) resolve()
    }
  }

  /** Whether queued records should be written now rather than grouped with later ones. */
  private pressing(): boolean {
    return (
      this.checkpointDue || this.awaited || this.idle.length > 0 || this.queue.length >= GROUP_MAX
    )
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const entries: AuditEntry[] = []
    let { seq, hash } = this.head
    for (const p of batch) {
      const { record, line } = chainRecord(p.fields, seq + 1, hash)
      seq = record.seq
      hash = record.hash
      entries.push({ type: 'record', line, record })
    }
    const since = this.sinceCheckpoint + batch.length
    let checkpoint: AuditCheckpoint | undefined
    if (this.signing && since > 0 && seq >= 0 && (this.checkpointDue || since >= this.every)) {
      try {
        checkpoint = await this.sign(seq, hash)
        entries.push({ type: 'checkpoint', line: checkpointLine(checkpoint.jws), checkpoint })
      } catch (error) {
        this.onError(error)
        this.stats.lastError = `checkpoint signing failed: ${String((error as Error)?.message ?? error)}`
      }
    }
    this.checkpointDue = false
    if (entries.length === 0) return
    try {
      await this.sink.write(entries)
    } catch (error) {
      this.fail(error, batch.length)
      for (const p of batch) p.reject?.(new AuditUnavailableError())
      return
    }
    this.head = { seq, hash }
    this.stats.ok = true
    this.stats.written += batch.length
    this.sinceCheckpoint = checkpoint ? 0 : since
    if (checkpoint) {
      this.stats.checkpoints++
      this.lastCheckpoint = { n: checkpoint.n, digest: checkpointDigest(checkpoint.jws) }
      const store = this.signing!.store
      if (store) {
        await store
          .set(this.signing!.storeKey ?? `audit:checkpoint:${this.name}`, checkpoint.jws)
          .catch((error: unknown) => this.onError(error))
      }
    }
    for (let i = 0; i < batch.length; i++)
      batch[i]!.resolve?.((entries[i] as { record: AuditRecord }).record)
  }

  private async sign(seq: number, hash: string): Promise<AuditCheckpoint> {
    const { key, alg, kid } = this.signing!
    const time = new Date().toISOString()
    const n = this.lastCheckpoint ? this.lastCheckpoint.n + 1 : 0
    const prev = this.lastCheckpoint?.digest ?? null
    const payload = new TextEncoder().encode(
      JSON.stringify({ seq, hash, time, log: this.name, n, prev }),
    )
    const jws = await new CompactSign(payload)
      .setProtectedHeader({ alg, typ: 'modelgate-audit-checkpoint', ...(kid ? { kid } : {}) })
      .sign(key)
    return { seq, hash, time, n, prev, jws }
  }

  private fail(error: unknown, records: number): void {
    this.stats.ok = false
    this.stats.failed += records
    this.stats.lastError = String((error as Error)?.message ?? error)
    this.onError(error)
  }
}

/**
 * Creates an {@link AuditTrail}; options are checked here (TypeError), the sink is opened on the
 * first append.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from 'node:crypto'
 * const { privateKey } = generateKeyPairSync('ed25519')
 * const trail = createAuditTrail({
 *   sink: jsonlSink({ path: '/var/log/modelgate/audit.jsonl', fsync: 'batch' }),
 *   checkpoint: { key: privateKey, alg: 'EdDSA', kid: 'audit-1', every: 1000, intervalMs: 60_000 },
 * })
 * ```
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  return new AuditTrail(options)
}

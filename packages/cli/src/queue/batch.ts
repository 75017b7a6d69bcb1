import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { FlowProducer, Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { BLOB_TTL_SECONDS, blobKey } from './blobs.js'
import { connectionOptions, type QueueTarget } from './connection.js'

/** Job names: a batch is a parent job `batch` whose children are `chunk` jobs. */
export const BATCH_JOB = 'batch'
export const CHUNK_JOB = 'chunk'

/**
 * What a batch's parent job holds: its kind, size and chunking, the kind's spec (no rows), the
 * hashes of the blobs it uses, and whether it was cancelled.
 *
 * @example
 * ```ts
 * const m: BatchManifest = { v: 1, kind: 'explain', created: Date.now(), rows: 1000, chunkSize: 100, chunks: 10, spec, blobs: [] }
 * ```
 */
export interface BatchManifest<Spec = unknown> {
  v: 1
  kind: string
  created: number
  rows: number
  chunkSize: number
  chunks: number
  spec: Spec
  blobs: string[]
  /** SHA-256 prefix of the mask policy the rows went through before they were enqueued. */
  masked?: string
  cancelled?: boolean
}

/**
 * What a worker returns for a chunk (stored by BullMQ in the batch's `processed` hash under the
 * chunk's job key, so a chunk run twice writes the same field twice, never a second row set).
 *
 * @example
 * ```ts
 * const r: ChunkResult = { index: 3, rows: 100, worker: 'host-b:4121', attempt: 2, ms: 5230, result }
 * ```
 */
export interface ChunkResult<Result = unknown> {
  index: number
  rows: number
  /** `hostname:pid` of the worker that ran it. */
  worker: string
  /** Times the chunk was started, this run included (a stalled run counts). */
  attempt: number
  ms: number
  result: Result
}

/**
 * A chunk that failed for good, with the input rows it holds (`from` inclusive, `to` exclusive).
 *
 * @example
 * ```ts
 * const f: ChunkFailure = { index: 7, from: 700, to: 800, error: 'x[3] must have 6 values' }
 * ```
 */
export interface ChunkFailure {
  index: number
  from: number
  to: number
  error: string
}

/**
 * Where a batch stands. `state`: `running` while chunks are waiting or running, `done` when every
 * chunk has a result, `failed` when the others are done and some failed for good, `cancelled`.
 *
 * @example
 * ```ts
 * const s = await batches.status(id)
 * console.log(`${s?.rowsDone}/${s?.rows} rows, ${s?.failed} failed chunks`)
 * ```
 */
export interface BatchStatus {
  id: string
  kind: string
  state: 'running' | 'done' | 'failed' | 'cancelled'
  created: number
  rows: number
  chunks: number
  chunkSize: number
  processed: number
  failed: number
  pending: number
  /** Chunks being explained right now. */
  running: number
  /** Rows of finished chunks plus progress inside running ones. */
  rowsDone: number
  failures: ChunkFailure[]
  masked?: string
}

/**
 * Options of {@link BatchQueue.submit}.
 *
 * @example
 * ```ts
 * const o: SubmitOptions = { kind: 'explain', spec, rows, chunkSize: 100, attempts: 3, backoffMs: 1000, blobs: [] }
 * ```
 */
export interface SubmitOptions {
  kind: string
  spec: unknown
  rows: unknown[]
  chunkSize: number
  /** Tries per chunk (first run included) before it fails for good. */
  attempts: number
  /** First retry delay; later ones double. */
  backoffMs: number
  blobs: string[]
  masked?: string
}

/**
 * The batches of one tenant's queue, as BullMQ flows: a batch is a parent job whose children are
 * its chunks (`<batch id>-<index>`). Chunk results land in the parent's `processed` hash when a
 * chunk completes (atomically, by BullMQ), a chunk that fails for good is recorded in its
 * `failed` hash without holding up the others (`ignoreDependencyOnFailure`); retries with
 * exponential backoff, stalled-job recovery and rate limits are BullMQ's.
 *
 * @example
 * ```ts
 * const batches = await BatchQueue.open(target)
 * const id = await batches.submit({ kind: 'explain', spec, rows, chunkSize: 100, attempts: 3, backoffMs: 1000, blobs })
 * const status = await batches.watch(id, (s) => console.log(s.rowsDone))
 * await batches.close()
 * ```
 */
export class BatchQueue {
  readonly queue: Queue
  private flows?: FlowProducer
  private redis?: Redis

  private constructor(readonly target: QueueTarget) {
    this.queue = new Queue(target.queue, {
      connection: connectionOptions(target.redis),
      prefix: target.prefix,
    })
    this.queue.on('error', () => {})
  }

  /** Opens the tenant's queue (connections reconnect by themselves if Redis restarts). */
  static async open(target: QueueTarget): Promise<BatchQueue> {
    const batches = new BatchQueue(target)
    await batches.queue.waitUntilReady()
    return batches
  }

  /** A Redis connection of its own, for blobs. */
  async client(): Promise<Redis> {
    if (!this.redis) {
      const { Redis } = await import('ioredis')
      this.redis = new Redis(connectionOptions(this.target.redis))
      this.redis.on('error', () => {})
    }
    return this.redis
  }

  /** Enqueues a batch atomically (parent and every chunk) and returns its id. */
  async submit(o: SubmitOptions): Promise<string> {
    if (o.rows.length === 0) throw new TypeError('nothing to enqueue: no rows')
    const id = `${o.kind}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
    const chunks = Math.ceil(o.rows.length / o.chunkSize)
    const manifest: BatchManifest = {
      v: 1,
      kind: o.kind,
      created: Date.now(),
      rows: o.rows.length,
      chunkSize: o.chunkSize,
      chunks,
      spec: o.spec,
      blobs: o.blobs,
      ...(o.masked ? { masked: o.masked } : {}),
    }
    if (!this.flows) {
      this.flows = new FlowProducer({
        connection: connectionOptions(this.target.redis),
        prefix: this.target.prefix,
      })
      this.flows.on('error', () => {})
    }
    await this.flows.add({
      name: BATCH_JOB,
      queueName: this.target.queue,
      data: manifest,
      opts: { jobId: id, removeOnComplete: false, removeOnFail: false },
      children: Array.from({ length: chunks }, (_, index) => ({
        name: CHUNK_JOB,
        queueName: this.target.queue,
        data: {
          v: 1,
          kind: o.kind,
          batch: id,
          index,
          offset: index * o.chunkSize,
          spec: o.spec,
          rows: o.rows.slice(index * o.chunkSize, (index + 1) * o.chunkSize),
        },
        opts: {
          jobId: `${id}-${index}`,
          attempts: o.attempts,
          backoff: { type: 'exponential', delay: o.backoffMs },
          ignoreDependencyOnFailure: true,
          removeOnComplete: true,
          removeOnFail: false,
        },
      })),
    })
    return id
  }

  /** The batch's manifest, or `undefined` for an unknown id. */
  async manifest(id: string): Promise<BatchManifest | undefined> {
    return (await this.parent(id))?.data as BatchManifest | undefined
  }

  /** Where a batch stands, or `undefined` for an unknown id. */
  async status(id: string): Promise<BatchStatus | undefined> {
    const parent = await this.parent(id)
    if (!parent) return undefined
    const m = parent.data as BatchManifest
    const counts = await parent.getDependenciesCount()
    const processed = counts.processed ?? 0
    const failed = counts.ignored ?? 0
    const pending = counts.unprocessed ?? 0
    // Progress of the running chunks: ids, then one field each (not the jobs and their rows).
    const active = (await this.queue.getRanges(['active'])).filter((j) => j.startsWith(`${id}-`))
    const client = await this.client()
    const progress = await Promise.all(
      active.map((j) => client.hget(`${this.target.prefix}:${this.target.queue}:${j}`, 'progress')),
    )
    const inflight = progress.reduce((s, p) => s + (Number(p) || 0), 0)
    const failures: ChunkFailure[] = []
    if (failed > 0) {
      for (const [key, error] of Object.entries(await parent.getIgnoredChildrenFailures())) {
        const index = chunkIndex(key)
        failures.push({
          index,
          from: index * m.chunkSize,
          to: Math.min(m.rows, (index + 1) * m.chunkSize),
          error,
        })
      }
      failures.sort((a, b) => a.index - b.index)
    }
    return {
      id,
      kind: m.kind,
      state: m.cancelled ? 'cancelled' : pending > 0 ? 'running' : failed > 0 ? 'failed' : 'done',
      created: m.created,
      rows: m.rows,
      chunks: m.chunks,
      chunkSize: m.chunkSize,
      processed,
      failed,
      pending,
      running: active.length,
      rowsDone:
        processed === m.chunks ? m.rows : Math.min(m.rows, processed * m.chunkSize + inflight),
      failures,
      ...(m.masked ? { masked: m.masked } : {}),
    }
  }

  /**
   * Polls a batch until no chunk is waiting or running (or it is cancelled), calling `onTick` with
   * each status; keeps the batch's blobs from expiring meanwhile. Resolves with the last status;
   * `signal` stops watching (the batch goes on).
   */
  async watch(
    id: string,
    onTick: (status: BatchStatus) => void,
    options: { intervalMs?: number; signal?: AbortSignal } = {},
  ): Promise<BatchStatus> {
    let refreshed = 0
    for (;;) {
      const status = await this.status(id)
      if (!status) throw new Error(`batch ${id} is gone (cancelled and removed?)`)
      onTick(status)
      if (status.state !== 'running') return status
      if (Date.now() - refreshed > 60_000) {
        refreshed = Date.now()
        await this.touchBlobs(id)
      }
      // Once a second while chunks wait; four times a second near the end, to finish promptly.
      const interval = options.intervalMs ?? (status.pending > status.running ? 1000 : 250)
      await sleep(interval, undefined, { signal: options.signal })
    }
  }

  /**
   * Every chunk's result in input order; fails unless each chunk has exactly one result with the
   * rows it was given.
   */
  async results<Result>(id: string): Promise<Result[]> {
    const parent = await this.parent(id)
    if (!parent) throw new Error(`unknown batch ${id}`)
    const m = parent.data as BatchManifest
    const found = new Map<number, ChunkResult<Result>>()
    let cursor = 0
    do {
      const page = await parent.getDependencies({ processed: { cursor, count: 200 } })
      for (const [key, value] of Object.entries(page.processed ?? {}))
        found.set(chunkIndex(key), value as ChunkResult<Result>)
      cursor = Number(page.nextProcessedCursor ?? 0)
    } while (cursor !== 0)
    const ordered: Result[] = []
    for (let index = 0; index < m.chunks; index++) {
      const r = found.get(index)
      const rows = Math.min(m.rows, (index + 1) * m.chunkSize) - index * m.chunkSize
      if (!r) throw new Error(`batch ${id}: chunk ${index} has no result`)
      if (r.index !== index || r.rows !== rows)
        throw new Error(`batch ${id}: chunk ${index} has a result for other rows`)
      ordered.push(r.result)
    }
    if (found.size !== m.chunks) throw new Error(`batch ${id}: results of unknown chunks`)
    return ordered
  }

  /** Puts the chunks that failed for good back in the queue with fresh attempts; returns how many. */
  async retryFailed(id: string): Promise<number> {
    const parent = await this.parent(id)
    if (!parent) throw new Error(`unknown batch ${id}`)
    const keys = Object.keys(await parent.getIgnoredChildrenFailures())
    for (const key of keys) {
      const job = await Job.fromId(this.queue, key.slice(key.lastIndexOf(':') + 1))
      if (!job) throw new Error(`batch ${id}: failed chunk ${chunkIndex(key)} is gone`)
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    }
    return keys.length
  }

  /**
   * Cancels a batch: chunks not started are removed at once and the batch is marked cancelled.
   * When no chunk is running, the batch and its results are deleted; otherwise `running` chunks
   * finish first and a later call deletes it.
   */
  async cancel(id: string): Promise<{ removed: boolean; running: number }> {
    const parent = await this.parent(id)
    if (!parent) throw new Error(`unknown batch ${id}`)
    await parent.updateData({ ...(parent.data as BatchManifest), cancelled: true })
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await parent.remove({ removeChildren: true })
        return { removed: true, running: 0 }
      } catch {
        await parent.removeUnprocessedChildren()
        const running = (await parent.getDependenciesCount({ unprocessed: true })).unprocessed ?? 0
        if (running > 0) return { removed: false, running }
        await sleep(200)
      }
    }
    return { removed: false, running: 0 }
  }

  /** Deletes a finished batch: its parent job, results and failed chunks. */
  async remove(id: string): Promise<void> {
    const parent = await this.parent(id)
    if (!parent) return
    for (let attempt = 0; ; attempt++) {
      try {
        return await parent.remove({ removeChildren: true })
      } catch (error) {
        // The parent itself may be running its (instant) summary on a worker just now.
        if (attempt === 5) throw error
        await sleep(200)
      }
    }
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    this.redis?.disconnect()
    await Promise.all([this.queue.close(), this.flows?.close()])
  }

  private async parent(id: string): Promise<Job | undefined> {
    const job = await Job.fromId(this.queue, id)
    return job && job.name === BATCH_JOB ? job : undefined
  }

  private async touchBlobs(id: string): Promise<void> {
    const m = await this.manifest(id)
    if (!m || m.blobs.length === 0) return
    const client = await this.client()
    await Promise.all(m.blobs.map((h) => client.expire(blobKey(this.target, h), BLOB_TTL_SECONDS)))
  }
}

function chunkIndex(key: string): number {
  return Number(key.slice(key.lastIndexOf('-') + 1))
}

import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'bullmq'
import type { CommandIO } from '../commands/types.js'
import { messageOf } from '../config/modules.js'
import { CHUNK_JOB, type ChunkResult } from './batch.js'
import { connectionOptions, type QueueTarget } from './connection.js'
import type { ProcessorConfig } from './processor.js'

/**
 * Options of {@link runWorker} (`modelgate worker`).
 *
 * @example
 * ```ts
 * const o: WorkerOptions = { concurrency: 2, lockMs: 30_000, cacheDir: '/var/cache/modelgate' }
 * ```
 */
export interface WorkerOptions {
  /** Chunks run at once, each on its own thread. */
  concurrency: number
  /**
   * Lock of a running chunk, renewed every half of it while the chunk runs. A worker that dies
   * (kill -9, a lost machine) leaves its chunk to be found stalled and retried elsewhere after
   * one to three times this.
   */
  lockMs: number
  /** Where models fetched by hash are kept on this machine. */
  cacheDir: string
  /** BullMQ rate limit shared by every worker of the queue: at most `max` chunks per `ms`. */
  limit?: { max: number; ms: number }
  /** Ends the worker's life: it stops taking chunks, finishes its running ones and closes. */
  stop: Promise<unknown>
}

const here = import.meta.url
const processorFile = fileURLToPath(
  here.endsWith('.ts')
    ? new URL('../../dist/queue/processor.js', here)
    : new URL('./processor.js', here),
)

/**
 * Runs a BullMQ worker on a tenant's queue until `options.stop` resolves: each chunk runs in a
 * sandbox thread (the main thread keeps renewing locks and relaying progress), one line per
 * finished or failed chunk goes to stderr.
 *
 * @example
 * ```ts
 * await runWorker(target, { concurrency: 2, lockMs: 30_000, cacheDir, stop: once(process, 'SIGTERM') }, io)
 * ```
 */
export async function runWorker(
  target: QueueTarget,
  options: WorkerOptions,
  io: CommandIO,
): Promise<void> {
  const name = `${hostname()}:${process.pid}`
  const workerData: ProcessorConfig = {
    redis: target.redis,
    prefix: target.prefix,
    queue: target.queue,
    cacheDir: options.cacheDir,
  }
  const worker = new Worker(target.queue, processorFile, {
    connection: connectionOptions(target.redis),
    prefix: target.prefix,
    name,
    concurrency: options.concurrency,
    useWorkerThreads: true,
    workerThreadsOptions: { workerData },
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    maxStalledCount: 2,
    ...(options.limit ? { limiter: { max: options.limit.max, duration: options.limit.ms } } : {}),
  })
  worker.on('completed', (job, value: ChunkResult) => {
    if (job.name !== CHUNK_JOB) return
    io.stderr(
      `chunk ${job.id} done: ${value.rows} rows in ${value.ms} ms (${((value.rows / Math.max(value.ms, 1)) * 1000).toFixed(1)} rows/s, start ${value.attempt})\n`,
    )
  })
  worker.on('failed', (job, error) => {
    if (!job) return
    const attempts = job.opts.attempts ?? 1
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= attempts
    io.stderr(
      `chunk ${job.id} failed (attempt ${job.attemptsMade}/${attempts}${final ? ', for good' : ', will retry'}): ${error.message}\n`,
    )
  })
  let lastError = ''
  worker.on('error', (error) => {
    const message = messageOf(error)
    if (message !== lastError) io.stderr(`worker: ${message}\n`)
    lastError = message
  })
  await worker.waitUntilReady()
  io.stderr(
    `modelgate worker ${name} on ${target.label} tenant ${target.queue}, concurrency ${options.concurrency}\n`,
  )
  await options.stop
  io.stderr('worker: finishing running chunks\n')
  await worker.close()
  io.stderr('worker: stopped\n')
}

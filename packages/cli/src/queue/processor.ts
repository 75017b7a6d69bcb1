// The sandboxed processor of `modelgate worker`: BullMQ runs it in worker threads, so the worker's
// main thread stays free to renew job locks and report progress while a chunk computes.
import { hostname } from 'node:os'
import { workerData } from 'node:worker_threads'
import { UnrecoverableError, type SandboxedJob } from 'bullmq'
import { Redis } from 'ioredis'
import { BlobError } from './blobs.js'
import type { PlainRedisOptions } from './connection.js'
import { jobKinds, type ChunkContext, type ChunkJob } from './kinds.js'
import { BATCH_JOB, type ChunkResult } from './batch.js'

/** What `modelgate worker` hands its sandbox threads. */
export interface ProcessorConfig {
  redis: PlainRedisOptions
  prefix: string
  queue: string
  cacheDir: string
}

const config = workerData as ProcessorConfig
const worker = `${hostname()}:${process.pid}`
const memos = new Map<string, Promise<unknown>>()
let client: Redis | undefined

const context = (report: (done: number) => void): ChunkContext => ({
  target: { prefix: config.prefix, queue: config.queue },
  cacheDir: config.cacheDir,
  async redis() {
    client ??= new Redis({
      ...config.redis,
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(200 * times, 2000),
    })
    return client
  },
  memo<T>(key: string, make: () => Promise<T>) {
    let value = memos.get(key) as Promise<T> | undefined
    if (!value) {
      value = make()
      memos.set(key, value)
      value.catch(() => memos.delete(key))
    }
    return value
  },
  progress: report,
})

/**
 * Runs one job: a chunk through the handler of its kind, or a finished batch's parent job (which
 * only reports its counts). Errors that retrying cannot fix (bad rows or options, a missing or
 * altered blob, an unknown kind) fail the chunk at once.
 */
export default async function processJob(job: SandboxedJob): Promise<unknown> {
  if (job.name === BATCH_JOB) return job.getDependenciesCount()
  const data = job.data as ChunkJob
  const kind = jobKinds.get(data.kind)
  if (!kind)
    throw new UnrecoverableError(
      `unknown job kind "${data.kind}"; this worker runs ${[...jobKinds.keys()].join(', ')}`,
    )
  const started = Date.now()
  let last = 0
  const report = (done: number) => {
    const now = Date.now()
    if (now - last < 1000 && done < data.rows.length) return
    last = now
    void job.updateProgress(done)
  }
  try {
    const result = await kind.run(data as ChunkJob<never>, context(report))
    const envelope: ChunkResult = {
      index: data.index,
      rows: data.rows.length,
      worker,
      attempt: job.attemptsStarted,
      ms: Date.now() - started,
      result,
    }
    return envelope
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError || error instanceof BlobError)
      throw new UnrecoverableError(error.message)
    throw error
  }
}

import type { Redis } from 'ioredis'
import { explainKind } from './explain-kind.js'

/**
 * The data of one chunk job: which batch and kind it belongs to, where its rows start in the
 * input (`offset`), the kind's `spec` (the same for every chunk of a batch: models and data by
 * content hash, options) and the rows themselves.
 *
 * @example
 * ```ts
 * const job: ChunkJob = { v: 1, kind: 'explain', batch: 'explain-m3k1x2-9f2a', index: 3, offset: 300, spec, rows }
 * ```
 */
export interface ChunkJob<Spec = unknown, Row = unknown> {
  v: 1
  kind: string
  batch: string
  index: number
  offset: number
  spec: Spec
  rows: Row[]
}

/**
 * What a kind's `run` may use inside a worker: a Redis connection to the tenant's key space (for
 * blobs), the worker's cache directory, a per-thread memo for loaded models and data, and
 * `progress(rowsDone)` (rate-limited, reported to the submitting command).
 *
 * @example
 * ```ts
 * const model = await context.memo(`model:${spec.model.sha256}`, () => loadModel(spec.model))
 * ```
 */
export interface ChunkContext {
  target: { prefix: string; queue: string }
  redis(): Promise<Redis>
  cacheDir: string
  memo<T>(key: string, make: () => Promise<T>): Promise<T>
  progress(rowsDone: number): void
}

/**
 * One kind of batch work the queue runs. `run` explains (or scores, or attributes) the rows of
 * one chunk inside a worker's sandbox thread and returns JSON; `join` turns the results of every
 * chunk, in input order, into the batch's output (what a local run would print). A `TypeError`
 * or `RangeError` from `run` means the chunk itself is bad: it fails at once, without retries.
 *
 * @example
 * ```ts
 * const echo: JobKind<{}, number[], number[]> = {
 *   name: 'echo',
 *   run: async (job) => job.rows as number[],
 *   join: (parts) => parts.flat(),
 * }
 * ```
 */
export interface JobKind<Spec = never, Result = unknown, Output = unknown> {
  name: string
  run(job: ChunkJob<Spec>, context: ChunkContext): Promise<Result>
  join(results: Result[]): Output
}

/**
 * The kinds every worker runs, by the `kind` field of a job. A new kind of batch work (such as
 * prompt attributions of the large-model routes) is one module exporting a {@link JobKind} and
 * one entry here; queue, workers, retries, progress and `jobs` commands stay as they are.
 *
 * @example
 * ```ts
 * jobKinds.get('explain')?.join(results)
 * ```
 */
export const jobKinds: ReadonlyMap<string, JobKind<never>> = new Map<string, JobKind<never>>([
  [explainKind.name, explainKind as JobKind<never>],
])

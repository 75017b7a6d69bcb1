import type { ExplainerName } from '@modelgate/explain'
import type { ExplainInputs } from '@modelgate/explain/node'
import { writeOutput } from '../commands/explain-inputs.js'
import type { CommandIO } from '../commands/types.js'
import { messageOf } from '../config/modules.js'
import { CliError } from '../errors.js'
import { BatchQueue } from './batch.js'
import { putBlob, putModel } from './blobs.js'
import { checkRedis, type QueueTarget } from './connection.js'
import type { ExplainSpec } from './explain-kind.js'
import { jobKinds } from './kinds.js'
import { batchProgress } from './progress.js'

/**
 * How `modelgate explain --queue` enqueues and waits.
 *
 * @example
 * ```ts
 * const o: QueueRunOptions = { chunkSize: 100, attempts: 3, backoffMs: 1000, detach: false }
 * ```
 */
export interface QueueRunOptions {
  chunkSize: number
  attempts: number
  backoffMs: number
  /** Print the batch id and exit once enqueued. */
  detach: boolean
  out?: string
}

/**
 * `modelgate explain … --queue URL`: stores the model's files and the background rows as blobs
 * by content hash, enqueues the rows in chunks as one batch, then follows it like
 * {@link followBatch} (unless `detach`). Resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await submitExplain(target, { path: 'xgb.json', inputs, method: 'kernel_shap', seed: 0 }, { chunkSize: 100, attempts: 3, backoffMs: 1000, detach: false }, io)
 * ```
 */
export async function submitExplain(
  target: QueueTarget,
  job: {
    path: string
    inputs: ExplainInputs
    output?: string
    method: ExplainerName | 'auto'
    nsamples?: number
    seed: number
    masked?: string
  },
  options: QueueRunOptions,
  io: CommandIO,
): Promise<number> {
  await checkRedis(target)
  const batches = await BatchQueue.open(target)
  try {
    const client = await batches.client()
    const model = await putModel(client, target, job.path)
    const { inputs } = job
    const background = inputs.background
      ? await putBlob(client, target, Buffer.from(JSON.stringify(inputs.background)))
      : undefined
    const spec: ExplainSpec = {
      model,
      method: job.method,
      seed: job.seed,
      ...(job.output !== undefined ? { output: job.output } : {}),
      ...(background ? { background } : {}),
      ...(inputs.featureNames ? { featureNames: inputs.featureNames } : {}),
      ...(job.nsamples !== undefined ? { nsamples: job.nsamples } : {}),
    }
    const id = await batches.submit({
      kind: 'explain',
      spec,
      rows: inputs.rows,
      chunkSize: options.chunkSize,
      attempts: options.attempts,
      backoffMs: options.backoffMs,
      blobs: [...model.files.map((f) => f.sha256), ...(background ? [background] : [])],
      ...(job.masked ? { masked: job.masked } : {}),
    })
    const chunks = Math.ceil(inputs.rows.length / options.chunkSize)
    io.stderr(
      `batch ${id}: ${inputs.rows.length} rows in ${chunks} chunks of ${options.chunkSize} on ${target.label} tenant ${target.queue}\n`,
    )
    if (options.detach) {
      io.stdout(`${id}\n`)
      return 0
    }
    return await followBatch(batches, id, options.out, io)
  } finally {
    await batches.close()
  }
}

/**
 * Follows a batch to its end with a progress display on stderr, then joins the chunk results in
 * input order, writes them like a local run (`out`, else stdout) and deletes the batch from
 * Redis. A batch with failed chunks keeps its results (exit 1, each failure listed; `jobs resume`
 * retries them). SIGINT detaches: the batch goes on (exit 130).
 *
 * @example
 * ```ts
 * const code = await followBatch(batches, 'explain-m3k1x2-9f2a1c', 'shap.json', io)
 * ```
 */
export async function followBatch(
  batches: BatchQueue,
  id: string,
  out: string | undefined,
  io: CommandIO,
): Promise<number> {
  const started = Date.now()
  const show = batchProgress(process.stderr)
  const detach = new AbortController()
  const onSigint = () => detach.abort()
  process.once('SIGINT', onSigint)
  let status
  try {
    status = await batches.watch(id, (s) => show.update(s), { signal: detach.signal })
  } catch (error) {
    if (!detach.signal.aborted) throw new CliError(`batch ${id}: ${messageOf(error)}`, 1)
    show.done()
    io.stderr(`detached; batch ${id} goes on: modelgate jobs resume ${id} to follow it again\n`)
    return 130
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
  show.done()
  if (status.state === 'cancelled') throw new CliError(`batch ${id} was cancelled`, 1)
  if (status.state === 'failed') {
    for (const f of status.failures)
      io.stderr(`chunk ${f.index} (rows ${f.from}-${f.to - 1}) failed: ${f.error}\n`)
    throw new CliError(
      `batch ${id}: ${status.failed} of ${status.chunks} chunks failed; the results of the others are kept: fix the cause, then modelgate jobs resume ${id}`,
      1,
    )
  }
  const manifest = (await batches.manifest(id))!
  const kind = jobKinds.get(manifest.kind)
  if (!kind) throw new CliError(`batch ${id}: unknown job kind "${manifest.kind}"`, 1)
  const output = kind.join(await batches.results(id))
  await writeOutput(output, out, io)
  await batches.remove(id)
  const seconds = (Date.now() - started) / 1000
  io.stderr(
    `batch ${id} done: ${status.rows} rows in ${seconds.toFixed(1)} s (${(status.rows / Math.max(seconds, 1e-3)).toFixed(1)} rows/s)\n`,
  )
  return 0
}

/**
 * Rows per chunk when `--chunk-size` is not given: 100 for the sampling and exact methods (a
 * chunk then costs seconds to minutes, so the queue's share stays small), 5000 for TreeSHAP, whose
 * rows cost milliseconds.
 *
 * @example
 * ```ts
 * defaultChunkSize('auto', inputs.model) // 5000 for a tree model
 * ```
 */
export function defaultChunkSize(method: string, model: ExplainInputs['model']): number {
  return method === 'tree_shap' || (method === 'auto' && model.ensemble) ? 5000 : 100
}

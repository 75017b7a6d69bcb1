import { allocate } from './datatypes.js'
import { NotReadyError } from './errors.js'
import type { BatchingOptions, InferOptions, ModelBackend, Tensor, TensorData } from './types.js'

interface Pending {
  inputs: Tensor[]
  rows: number
  enqueuedAt: number
  key: string
  options?: InferOptions
  resolve: (outputs: Tensor[]) => void
  reject: (error: unknown) => void
}

/**
 * Merges concurrent inference calls into one backend call along the first (batch) dimension and
 * splits the outputs back. Calls whose inputs agree on names, datatypes and trailing dimensions
 * are merged, up to `maxBatchSize` rows; the first waiting call waits at most `maxDelayMs`.
 * One batch runs at a time; requests that arrive while the model is busy form the next batch,
 * which again waits until it is full or its oldest request has waited `maxDelayMs`.
 * When a merged call fails, each of its requests is retried alone, so a failing request fails
 * only its own caller.
 *
 * @example
 * ```ts
 * const batcher = new MicroBatcher(backend, { maxBatchSize: 64, maxDelayMs: 2 })
 * const outputs = await batcher.infer([{ name: 'x', datatype: 'FP32', shape: [1, 4], data }])
 * ```
 */
export class MicroBatcher {
  private readonly queue: Pending[] = []
  private queuedRows = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private running = false
  private readonly maxBatchSize: number
  private readonly maxDelayMs: number
  private readonly maxQueueSize: number
  /** Sizes (rows) of the batches sent to the backend, for metrics; the last 1024. */
  readonly recentBatchSizes: number[] = []

  constructor(
    private readonly backend: Pick<ModelBackend, 'infer'>,
    options: BatchingOptions,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new TypeError('batching.maxBatchSize must be a positive integer')
    }
    if (!Number.isFinite(options.maxDelayMs) || options.maxDelayMs < 0) {
      throw new TypeError('batching.maxDelayMs must be a non-negative number')
    }
    if (
      options.maxQueueSize !== undefined &&
      (!Number.isInteger(options.maxQueueSize) || options.maxQueueSize < 1)
    ) {
      throw new TypeError('batching.maxQueueSize must be a positive integer')
    }
    this.maxBatchSize = options.maxBatchSize
    this.maxDelayMs = options.maxDelayMs
    this.maxQueueSize = options.maxQueueSize ?? 10_000
  }

  /** Queues one call; resolves with its own slice of the batch outputs. */
  infer(inputs: Tensor[], options?: InferOptions): Promise<Tensor[]> {
    const rows = batchRows(inputs)
    if (rows === undefined || rows === 0 || rows > this.maxBatchSize) {
      return this.backend.infer(inputs, options)
    }
    if (this.queue.length >= this.maxQueueSize) {
      return Promise.reject(
        new NotReadyError('inference queue is full', 'queue_full', { 'retry-after': '1' }),
      )
    }
    return new Promise<Tensor[]>((resolve, reject) => {
      this.queue.push({
        inputs,
        rows,
        enqueuedAt: performance.now(),
        key: signature(inputs, options),
        options,
        resolve,
        reject,
      })
      this.queuedRows += rows
      this.schedule()
    })
  }

  /**
   * Flushes when a full batch is waiting or the oldest request has waited `maxDelayMs`; otherwise
   * sets a timer for the rest of that wait.
   */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return
    const waited = performance.now() - this.queue[0]!.enqueuedAt
    if (this.queuedRows >= this.maxBatchSize || waited >= this.maxDelayMs) {
      this.flush()
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.schedule()
      }, this.maxDelayMs - waited)
    }
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.running || this.queue.length === 0) return
    const key = this.queue[0]!.key
    const batch: Pending[] = []
    let rows = 0
    for (let i = 0; i < this.queue.length;) {
      const p = this.queue[i]!
      if (p.key === key && rows + p.rows <= this.maxBatchSize) {
        batch.push(p)
        rows += p.rows
        this.queue.splice(i, 1)
        this.queuedRows -= p.rows
      } else {
        i++
      }
    }
    this.running = true
    this.run(batch, rows).finally(() => {
      this.running = false
      this.schedule()
    })
  }

  private async run(batch: Pending[], rows: number): Promise<void> {
    this.recentBatchSizes.push(rows)
    if (this.recentBatchSizes.length > 1024) this.recentBatchSizes.shift()
    if (batch.length === 1) {
      const only = batch[0]!
      await this.backend.infer(only.inputs, only.options).then(only.resolve, only.reject)
      return
    }
    let outputs: Tensor[]
    try {
      const { outputs: wanted, parameters } = batch[0]!.options ?? {}
      outputs = await this.backend.infer(
        mergeInputs(
          batch.map((p) => p.inputs),
          rows,
        ),
        {
          ...(wanted ? { outputs: wanted } : {}),
          ...(parameters ? { parameters } : {}),
        },
      )
    } catch {
      await Promise.all(
        batch.map((p) => this.backend.infer(p.inputs, p.options).then(p.resolve, p.reject)),
      )
      return
    }
    let parts: Tensor[][]
    try {
      parts = splitOutputs(
        outputs,
        batch.map((p) => p.rows),
        rows,
      )
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    }
    batch.forEach((p, i) => p.resolve(parts[i]!))
  }
}

function batchRows(inputs: Tensor[]): number | undefined {
  let rows: number | undefined
  for (const t of inputs) {
    if (t.shape.length === 0) return undefined
    if (rows === undefined) rows = t.shape[0]
    else if (rows !== t.shape[0]) return undefined
  }
  return rows
}

function signature(inputs: Tensor[], options?: InferOptions): string {
  const parts = inputs.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`).sort()
  if (options?.outputs) parts.push(`->${[...options.outputs].sort().join(',')}`)
  if (options?.parameters) parts.push(JSON.stringify(options.parameters))
  return parts.join('|')
}

function mergeInputs(requests: Tensor[][], rows: number): Tensor[] {
  const first = requests[0]!
  return first.map((template) => {
    const pieces = requests.map((inputs) => inputs.find((t) => t.name === template.name)!)
    const data = allocate(template.datatype, (template.data.length / template.shape[0]!) * rows)
    let offset = 0
    for (const piece of pieces) {
      if (Array.isArray(data)) {
        for (const v of piece.data as string[]) data[offset++] = v
      } else {
        ;(data as Float32Array).set(piece.data as Float32Array, offset)
        offset += piece.data.length
      }
    }
    return {
      name: template.name,
      datatype: template.datatype,
      shape: [rows, ...template.shape.slice(1)],
      data,
    }
  })
}

function splitOutputs(outputs: Tensor[], rowCounts: number[], rows: number): Tensor[][] {
  const parts: Tensor[][] = rowCounts.map(() => [])
  for (const out of outputs) {
    if (out.shape[0] !== rows) {
      throw new Error(
        `output "${out.name}" has no batch dimension; disable batching for this model`,
      )
    }
    const width = rows === 0 ? 0 : out.data.length / rows
    let row = 0
    rowCounts.forEach((n, i) => {
      const data = out.data.slice(row * width, (row + n) * width) as TensorData
      parts[i]!.push({
        name: out.name,
        datatype: out.datatype,
        shape: [n, ...out.shape.slice(1)],
        data,
      })
      row += n
    })
  }
  return parts
}

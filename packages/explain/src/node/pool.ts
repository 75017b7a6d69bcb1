import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { TreeEnsemble } from '@modelgate/backend-trees'
import type { ExplainOptions, Explanation, ExplainRunner } from '../types.js'

interface Job {
  options: ExplainOptions
  resolve: (e: Explanation) => void
  reject: (e: unknown) => void
}

const here = import.meta.url
const workerUrl = here.endsWith('.ts')
  ? new URL('../../dist/node/worker.js', here)
  : new URL('./worker.js', here)

/**
 * A pool of worker threads that run explanations off the event loop. SHAP math (coalitions,
 * synthetic rows, regressions, TreeSHAP) runs in a worker; model calls of non-tree models come
 * back to the calling thread (`options.model.predict`, so a gate's `runModel` and its batching
 * apply), tree ensembles are evaluated inside the worker.
 *
 * @example
 * ```ts
 * const pool = new ExplainPool({ size: 2 })
 * const e = await pool.run({ model, x, background, method: 'kernel_shap' })
 * await pool.close()
 * ```
 */
export class ExplainPool implements ExplainRunner {
  readonly size: number
  private closed = false
  private readonly workers: Array<{ worker: Worker; busy: number; models: Set<number> }> = []
  private readonly modelIds = new WeakMap<TreeEnsemble, number>()
  private nextModel = 0
  private nextId = 0
  private readonly jobs = new Map<number, Job>()

  constructor(options: { size?: number } = {}) {
    const size = options.size ?? Math.max(1, Math.min(4, availableParallelism() - 1))
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new TypeError('pool size must be a positive integer')
    this.size = size
  }

  /**
   * Runs one explanation on the least busy worker. A tree ensemble goes to each worker once and
   * stays there (later jobs name it); the rows travel as one transferred `Float64Array`.
   */
  run(options: ExplainOptions): Promise<Explanation> {
    if (this.closed) return Promise.reject(new Error('explain pool closed'))
    const slot = this.pick()
    const id = this.nextId++
    const { model, onProgress, signal, x, ...rest } = options
    let spec: Record<string, unknown>
    if (model.ensemble) {
      let modelId = this.modelIds.get(model.ensemble)
      if (modelId === undefined) this.modelIds.set(model.ensemble, (modelId = this.nextModel++))
      if (!slot.models.has(modelId)) {
        slot.worker.postMessage({ type: 'model', modelId, ensemble: model.ensemble })
        slot.models.add(modelId)
      }
      spec = { kind: 'ensemble', modelId, outputNames: model.outputNames }
    } else {
      spec = {
        kind: 'remote',
        width: model.width,
        outputs: model.outputs,
        outputNames: model.outputNames,
        gradients: !!model.gradients,
      }
    }
    const rows = Array.isArray(x) ? x.length : 0
    const flat = flatRows(x, model.width)
    if (flat instanceof TypeError) return Promise.reject(flat)
    return new Promise<Explanation>((resolve, reject) => {
      this.jobs.set(id, { options, resolve, reject })
      slot.busy++
      slot.worker.postMessage({ type: 'explain', id, options: rest, x: flat, rows, model: spec }, [
        flat.buffer as ArrayBuffer,
      ])
      const done = () => (slot.busy = Math.max(0, slot.busy - 1))
      const job = this.jobs.get(id)!
      job.resolve = (e) => (done(), this.jobs.delete(id), resolve(e))
      job.reject = (e) => (done(), this.jobs.delete(id), reject(e))
      signal?.addEventListener('abort', () => job.reject(signal.reason ?? new Error('aborted')), {
        once: true,
      })
      void onProgress
    })
  }

  /** Runs many explanations spread over all workers (rows split into `chunks`), merged in order. */
  async runSplit(options: ExplainOptions, chunks = this.size): Promise<Explanation[]> {
    const n = options.x.length
    const per = Math.ceil(n / Math.max(1, chunks))
    const parts: Promise<Explanation>[] = []
    for (let i = 0; i < n; i += per)
      parts.push(this.run({ ...options, x: options.x.slice(i, i + per) }))
    return Promise.all(parts)
  }

  /** Terminates every worker; pending and later jobs reject. */
  async close(): Promise<void> {
    this.closed = true
    for (const job of this.jobs.values()) job.reject(new Error('explain pool closed'))
    await Promise.all(this.workers.map((w) => w.worker.terminate()))
    this.workers.length = 0
  }

  private pick() {
    if (this.workers.length < this.size && this.workers.every((w) => w.busy > 0)) {
      const worker = new Worker(workerUrl)
      worker.unref()
      const slot = { worker, busy: 0, models: new Set<number>() }
      worker.on('message', (m: WorkerMessage) => void this.onMessage(worker, m))
      worker.on('error', (e) => {
        for (const job of this.jobs.values()) job.reject(e)
      })
      this.workers.push(slot)
      return slot
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a))
  }

  private async onMessage(worker: Worker, m: WorkerMessage): Promise<void> {
    const job = this.jobs.get(m.id)
    if (!job) return
    if (m.type === 'done') return job.resolve(m.explanation)
    if (m.type === 'error')
      return job.reject(m.name === 'TypeError' ? new TypeError(m.message) : new Error(m.message))
    if (m.type === 'progress') return job.options.onProgress?.(m.done, m.total)
    try {
      const y =
        m.type === 'predict'
          ? await job.options.model.predict(m.x, m.rows)
          : await job.options.model.gradients!(m.x, m.rows, m.output)
      worker.postMessage({ type: 'result', id: m.id, call: m.call, y }, [y.buffer as ArrayBuffer])
    } catch (error) {
      worker.postMessage({
        type: 'result',
        id: m.id,
        call: m.call,
        error: error instanceof Error ? error.message : String(error),
      })
    }
  }
}

function flatRows(x: ExplainOptions['x'], W: number): Float64Array | TypeError {
  const rows = Array.isArray(x) ? x.length : 0
  const flat = new Float64Array(rows * W)
  for (let r = 0; r < rows; r++) {
    const row = x[r]
    if (!row || row.length !== W) return new TypeError(`x[${r}] must have ${W} values`)
    for (let c = 0; c < W; c++) {
      const v = row[c]
      if (v !== null && typeof v !== 'number')
        return new TypeError(`x[${r}][${c}] must be a number or null`)
      flat[r * W + c] = v ?? NaN
    }
  }
  return flat
}

type WorkerMessage =
  | { type: 'done'; id: number; explanation: Explanation }
  | { type: 'error'; id: number; message: string; name: string }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'predict'; id: number; call: number; x: Float64Array; rows: number }
  | { type: 'gradients'; id: number; call: number; x: Float64Array; rows: number; output: number }

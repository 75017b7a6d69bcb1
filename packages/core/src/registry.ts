import { MicroBatcher } from './batcher.js'
import { NotFoundError, NotReadyError } from './errors.js'
import { FeatureSchema } from './schema.js'
import type { InferOptions, ModelEntry, ModelMetadata, Tensor } from './types.js'

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const LOAD_RETRY_MS = 2000

/**
 * A registered model version: its backend, compiled schema, batcher and load state.
 *
 * @example
 * ```ts
 * const handle = gate.models.resolve('credit')
 * const outputs = await handle.infer(tensors)
 * ```
 */
export class ModelHandle {
  readonly name: string
  readonly version: string | undefined
  readonly entry: ModelEntry
  readonly schema: FeatureSchema | undefined
  private readonly batcher: MicroBatcher | undefined
  private meta: ModelMetadata | undefined
  private state: 'loading' | 'ready' | 'failed' = 'loading'
  private loading: Promise<void> | undefined
  private failedAt = 0

  constructor(entry: ModelEntry) {
    if (typeof entry?.name !== 'string' || !NAME.test(entry.name)) {
      throw new TypeError(`model name must match ${NAME}`)
    }
    if (
      entry.version !== undefined &&
      (typeof entry.version !== 'string' || !NAME.test(entry.version))
    ) {
      throw new TypeError(`model "${entry.name}": version must match ${NAME}`)
    }
    const b = entry.backend
    if (
      !b ||
      typeof b.infer !== 'function' ||
      typeof b.metadata !== 'function' ||
      typeof b.ready !== 'function'
    ) {
      throw new TypeError(
        `model "${entry.name}": backend must implement metadata(), ready() and infer()`,
      )
    }
    this.name = entry.name
    this.version = entry.version
    this.entry = entry
    this.schema = entry.schema ? new FeatureSchema(entry.schema) : undefined
    this.batcher = entry.batching ? new MicroBatcher(b, entry.batching) : undefined
  }

  /**
   * Loads the backend and reads its metadata; concurrent calls share one attempt. After a failed
   * attempt (a remote server that was down at start, say) the next call tries again.
   */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        await this.entry.backend.load?.()
        this.meta = await this.entry.backend.metadata()
        if (this.schema) checkSchemaFits(this.name, this.schema, this.meta)
        this.state = 'ready'
      } catch (error) {
        this.state = 'failed'
        this.failedAt = Date.now()
        this.loading = undefined
        throw error
      }
    })()
    return this.loading
  }

  /**
   * True once loaded and the backend says it is ready. A model whose load failed is retried in the
   * background, at most every `LOAD_RETRY_MS`.
   */
  async isReady(): Promise<boolean> {
    if (
      this.state === 'failed' &&
      this.loading === undefined &&
      Date.now() - this.failedAt >= LOAD_RETRY_MS
    ) {
      this.load().catch(() => undefined)
    }
    if (this.state !== 'ready') return false
    try {
      return await this.entry.backend.ready()
    } catch {
      return false
    }
  }

  /** Model metadata; throws 503 until the model is loaded. */
  metadata(): ModelMetadata {
    if (!this.meta) throw new NotReadyError(`model "${this.name}" is not ready`)
    return this.meta
  }

  /** The tensor name V1 records are encoded into. */
  schemaInput(): string {
    return this.schema?.definition.input ?? this.metadata().inputs[0]!.name
  }

  /** Runs the model, through the micro-batcher when batching is configured. */
  infer(inputs: Tensor[], options?: InferOptions): Promise<Tensor[]> {
    if (this.state !== 'ready')
      return Promise.reject(new NotReadyError(`model "${this.name}" is not ready`))
    return this.batcher
      ? this.batcher.infer(inputs, options)
      : this.entry.backend.infer(inputs, options)
  }

  /** Batch sizes recently sent to the backend (empty without batching). */
  batchSizes(): readonly number[] {
    return this.batcher?.recentBatchSizes ?? []
  }
}

/**
 * A schema must describe the model it feeds: its input must exist, hold floats of the schema's
 * datatype, and have as many columns as the schema makes (when the model fixes that width), so a
 * mismatch fails at start with a clear message instead of answering 400 to every request.
 */
function checkSchemaFits(name: string, schema: FeatureSchema, meta: ModelMetadata): void {
  const inputName = schema.definition.input ?? meta.inputs[0]?.name
  const input = meta.inputs.find((i) => i.name === inputName)
  if (!input)
    throw new TypeError(`model "${name}": schema input "${inputName}" is not a model input`)
  const datatype = schema.definition.datatype ?? 'FP32'
  if (input.datatype !== datatype) {
    throw new TypeError(
      `model "${name}": the schema makes ${datatype} columns but input "${input.name}" is ${input.datatype}`,
    )
  }
  const width = input.shape.slice(1)
  const fixed = width.every((d) => d >= 0)
  const columns = width.reduce((a, b) => a * b, 1)
  if (width.length > 0 && fixed && columns !== schema.columns.length) {
    throw new TypeError(
      `model "${name}": the schema makes ${schema.columns.length} columns but input "${input.name}" takes ${columns} (shape [${input.shape.join(', ')}])`,
    )
  }
}

/**
 * The gate's model registry: names, versions and the default version of each name (the first
 * registered).
 *
 * @example
 * ```ts
 * const registry = new ModelRegistry([{ name: 'credit', version: '1', backend }])
 * registry.resolve('credit', '1')
 * ```
 */
export class ModelRegistry {
  private readonly byName = new Map<string, ModelHandle[]>()

  constructor(entries: ModelEntry[]) {
    if (!Array.isArray(entries)) throw new TypeError('"models" must be an array')
    for (const entry of entries) {
      const handle = new ModelHandle(entry)
      const list = this.byName.get(handle.name) ?? []
      if (list.some((h) => h.version === handle.version)) {
        throw new TypeError(
          `model "${handle.name}" version "${handle.version ?? '(none)'}" is registered twice`,
        )
      }
      list.push(handle)
      this.byName.set(handle.name, list)
    }
  }

  /** Every registered model version. */
  all(): ModelHandle[] {
    return [...this.byName.values()].flat()
  }

  /** The handle for a name and optional version, if any. */
  find(name: string, version?: string): ModelHandle | undefined {
    const list = this.byName.get(name)
    if (!list) return undefined
    return version === undefined ? list[0] : list.find((h) => h.version === version)
  }

  /** Like {@link find} but throws 404. */
  resolve(name: string, version?: string): ModelHandle {
    const handle = this.find(name, version)
    if (!handle) {
      throw new NotFoundError(
        version === undefined
          ? `unknown model "${name}"`
          : `unknown model "${name}" version "${version}"`,
        'model_not_found',
      )
    }
    return handle
  }

  /** Versions registered under a name. */
  versions(name: string): string[] {
    return (this.byName.get(name) ?? []).flatMap((h) =>
      h.version === undefined ? [] : [h.version],
    )
  }
}

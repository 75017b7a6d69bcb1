import * as tf from '@tensorflow/tfjs'
import { BadRequestError, NotReadyError, allocate } from '@modelgate/core'
import type {
  Datatype,
  GradientOptions,
  InferOptions,
  ModelBackend,
  ModelMetadata,
  Tensor,
  TensorMetadata,
} from '@modelgate/core'
import { datatypeOf, fromTfTensor, toTfTensor } from './convert.js'
import { fileIOHandler } from './file-io.js'
import { ensureTfjsBackend, isTfjsBackendChoice } from './runtime.js'
import type { TfjsBackendOptions } from './types.js'

type ModelFormat = 'layers-model' | 'graph-model'

interface Port {
  name: string
  internal: string
  /** Undefined for graph outputs whose dtype the graph does not state, until a first run tells. */
  dtype: tf.DataType | undefined
  /** Declared int64 by the graph: int32 in TF.js, INT64 on the wire. */
  int64: boolean
  meta: TensorMetadata
}

interface Loaded {
  format: ModelFormat
  model: tf.LayersModel | tf.GraphModel
  owned: boolean
  inputs: Port[]
  outputs: Port[]
  metadata: ModelMetadata
}

/**
 * A modelgate backend that runs a TensorFlow.js layers model or graph model, loaded from a
 * `model.json` on disk (`path`), over HTTP (`url`), or given in memory (`model`).
 *
 * The TF.js backend is process-wide: the first model to load selects it (`auto` by default:
 * `@tensorflow/tfjs-node` when installed, else wasm, else cpu). A later model that explicitly asks
 * for a different backend fails to load with an error that says so; call `useTfjsBackend()` to
 * switch every model on purpose.
 *
 * Inputs are converted to the model's dtypes; `INT64` data goes into TF.js `int32` tensors after a
 * range check (TF.js has no 64-bit integers), and outputs a graph model's signature declares as
 * `DT_INT64` come back as `INT64`. `gradients()` differentiates one output (or one column of
 * it) with respect to every `float32` input. Bad options throw a `TypeError` here; load failures
 * reject `load()`.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createTfjsBackend } from '@modelgate/backend-tfjs'
 *
 * const backend = createTfjsBackend({ path: './models/credit/model.json', inputNames: ['features'] })
 * const gate = createGate({ models: [{ name: 'credit', backend }] })
 * ```
 */
export function createTfjsBackend(options: TfjsBackendOptions): ModelBackend {
  validate(options)
  const requested = options.backend ?? 'auto'
  const warmup = options.warmup ?? true
  const platform = options.platform ?? 'tensorflowjs'
  let loading: Promise<Loaded> | undefined
  let loaded: Loaded | undefined
  let closed = false
  let useAsync = false

  function load(): Promise<Loaded> {
    loading ??= (async () => {
      await ensureTfjsBackend(requested)
      const source = await open(options)
      try {
        const model = describe(source, options, platform)
        if (warmup || model.outputs.some((p) => p.dtype === undefined)) {
          const results = await run(model, zeros(model.inputs), model.outputs)
          model.outputs.forEach((port, i) => (port.meta.datatype = results[i]!.datatype))
        }
        loaded = model
        return model
      } catch (error) {
        if (source.owned) source.model.dispose()
        throw error
      }
    })()
    return loading
  }

  async function run(model: Loaded, inputs: Tensor[], wanted: Port[]): Promise<Tensor[]> {
    const feed = feeder(model, inputs)
    let results: tf.Tensor[]
    if (model.format === 'layers-model') {
      const layers = model.model as tf.LayersModel
      results = tf.tidy(() => {
        const all = toArray(layers.predictOnBatch(feed()))
        return wanted.map((port) => all[model.outputs.indexOf(port)]!)
      })
    } else {
      results = await executeGraph(model, feed, wanted)
    }
    try {
      return await Promise.all(
        results.map((t, i) =>
          fromTfTensor(t, wanted[i]!.name, wanted[i]!.int64 ? 'INT64' : undefined),
        ),
      )
    } finally {
      tf.dispose(results)
    }
  }

  async function executeGraph(
    model: Loaded,
    feed: () => tf.Tensor[],
    wanted: Port[],
  ): Promise<tf.Tensor[]> {
    const graph = model.model as tf.GraphModel
    const names = wanted.map((p) => p.internal)
    const named = (tensors: tf.Tensor[]): tf.NamedTensorMap =>
      Object.fromEntries(model.inputs.map((port, i) => [port.internal, tensors[i]!]))
    if (!useAsync) {
      try {
        return tf.tidy(() => toArray(graph.execute(named(feed()), names)))
      } catch (error) {
        if (!(error instanceof Error) || !error.message.includes('executeAsync')) throw error
        useAsync = true
      }
    }
    const tensors = tf.tidy(feed)
    try {
      return toArray(await graph.executeAsync(named(tensors), names))
    } finally {
      tf.dispose(tensors)
    }
  }

  return {
    async load() {
      await load()
    },
    async metadata() {
      return (await load()).metadata
    },
    async ready() {
      return loaded !== undefined && !closed
    },
    async infer(inputs: Tensor[], inferOptions: InferOptions = {}) {
      if (closed) throw new NotReadyError('the TF.js model is closed')
      const model = await load()
      inferOptions.signal?.throwIfAborted()
      checkInputs(model, inputs)
      const wanted = inferOptions.outputs?.length
        ? inferOptions.outputs.map((name) => outputPort(model, name))
        : model.outputs
      return run(model, inputs, wanted)
    },
    async gradients(inputs: Tensor[], gradientOptions: GradientOptions) {
      if (closed) throw new NotReadyError('the TF.js model is closed')
      const model = await load()
      checkInputs(model, inputs)
      return gradients(model, inputs, gradientOptions)
    },
    async close() {
      closed = true
      const model = loaded ?? (await loading?.catch(() => undefined))
      if (model?.owned) model.model.dispose()
      loaded = undefined
    },
  }
}

async function gradients(
  model: Loaded,
  inputs: Tensor[],
  options: GradientOptions,
): Promise<Tensor[]> {
  const port = outputPort(model, options?.output)
  const column = options.outputIndex
  const last = port.meta.shape[port.meta.shape.length - 1]
  if (
    column !== undefined &&
    (!Number.isSafeInteger(column) ||
      column < 0 ||
      (last !== undefined && last >= 0 && column >= last))
  ) {
    throw new BadRequestError(`outputIndex must be a column of output "${port.name}"`)
  }
  const wrt = model.inputs.flatMap((p, i) => (p.dtype === 'float32' ? [i] : []))
  if (wrt.length === 0)
    throw new BadRequestError('the model has no floating-point input to differentiate')
  const position = model.outputs.indexOf(port)
  const feed = feeder(model, inputs)
  const grads = tf.tidy(() => {
    const fed = feed()
    const objective = (...xs: tf.Tensor[]): tf.Scalar => {
      const all = [...fed]
      wrt.forEach((j, i) => (all[j] = xs[i]!))
      let y = forward(model, all)[position]!
      if (column !== undefined) {
        const begin = y.shape.map((_, d) => (d === y.rank - 1 ? column : 0))
        const size = y.shape.map((_, d) => (d === y.rank - 1 ? 1 : -1))
        y = tf.slice(y, begin, size)
      }
      return tf.sum(y)
    }
    return tf.grads(objective)(wrt.map((j) => fed[j]!))
  })
  try {
    return await Promise.all(grads.map((g, i) => fromTfTensor(g, model.inputs[wrt[i]!]!.name)))
  } finally {
    tf.dispose(grads)
  }
}

/** Differentiable forward pass, all outputs in model order. */
function forward(model: Loaded, tensors: tf.Tensor[]): tf.Tensor[] {
  if (model.format === 'layers-model') {
    const layers = model.model as tf.LayersModel
    return toArray(
      layers.apply(tensors.length === 1 ? tensors[0]! : tensors, { training: false }) as
        tf.Tensor | tf.Tensor[],
    )
  }
  const named = Object.fromEntries(model.inputs.map((p, i) => [p.internal, tensors[i]!]))
  return toArray(
    (model.model as tf.GraphModel).execute(
      named,
      model.outputs.map((p) => p.internal),
    ),
  )
}

function feeder(model: Loaded, inputs: Tensor[]): () => tf.Tensor[] {
  const byName = new Map(inputs.map((t) => [t.name, t]))
  return () =>
    model.inputs.map((port) => {
      const tensor = byName.get(port.name)
      if (!tensor) throw new BadRequestError(`missing input "${port.name}"`)
      return toTfTensor(tensor, port.dtype!, `input "${port.name}"`)
    })
}

function checkInputs(model: Loaded, inputs: Tensor[]): void {
  for (const input of inputs) {
    const port = model.inputs.find((p) => p.name === input.name)
    if (!port) throw new BadRequestError(`unknown input "${String(input.name).slice(0, 128)}"`)
    checkShape(input, port.meta)
  }
}

function outputPort(model: Loaded, name: string): Port {
  const port = model.outputs.find((p) => p.name === name)
  if (!port) throw new BadRequestError(`unknown output "${String(name).slice(0, 128)}"`)
  return port
}

function validate(options: TfjsBackendOptions): void {
  if (!options || typeof options !== 'object')
    throw new TypeError('createTfjsBackend needs an options object')
  const sources = (['path', 'url', 'model'] as const).filter((k) => options[k] !== undefined)
  if (sources.length !== 1) {
    throw new TypeError(
      `give exactly one of "path", "url" and "model" (got ${sources.length ? sources.join(', ') : 'none'})`,
    )
  }
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw new TypeError('"path" must be a non-empty string')
  }
  if (options.url !== undefined) {
    let url: URL | undefined
    try {
      url = typeof options.url === 'string' ? new URL(options.url) : undefined
    } catch {
      url = undefined
    }
    if (!url || !['http:', 'https:', 'file:'].includes(url.protocol)) {
      throw new TypeError('"url" must be an http(s):// or file:// URL')
    }
  }
  if (options.model !== undefined && formatOfModel(options.model) === undefined) {
    throw new TypeError('"model" must be a tf.LayersModel or a tf.GraphModel')
  }
  if (options.backend !== undefined && !isTfjsBackendChoice(options.backend)) {
    throw new TypeError('"backend" must be one of auto, tensorflow, wasm, cpu')
  }
  for (const key of ['inputNames', 'outputNames'] as const) {
    const names = options[key]
    if (names === undefined) continue
    if (
      !Array.isArray(names) ||
      names.length === 0 ||
      names.some((n) => typeof n !== 'string' || n === '')
    ) {
      throw new TypeError(`"${key}" must be a non-empty array of non-empty strings`)
    }
    if (new Set(names).size !== names.length) throw new TypeError(`"${key}" must not repeat a name`)
  }
  if (options.warmup !== undefined && typeof options.warmup !== 'boolean')
    throw new TypeError('"warmup" must be a boolean')
  if (
    options.platform !== undefined &&
    (typeof options.platform !== 'string' || options.platform === '')
  ) {
    throw new TypeError('"platform" must be a non-empty string')
  }
}

interface Source {
  format: ModelFormat
  model: tf.LayersModel | tf.GraphModel
  owned: boolean
  signature: Record<string, unknown> | undefined
  topology?: Record<string, unknown> | undefined
}

async function open(options: TfjsBackendOptions): Promise<Source> {
  if (options.model !== undefined) {
    const format = formatOfModel(options.model)!
    const model = options.model as unknown as tf.LayersModel | tf.GraphModel
    const signature = format === 'graph-model' ? (model as tf.GraphModel).modelSignature : undefined
    return { format, model, owned: false, signature: asRecord(signature) }
  }
  const url = options.url === undefined ? undefined : new URL(options.url)
  const handler =
    url === undefined || url.protocol === 'file:'
      ? fileIOHandler(url ?? options.path!)
      : tf.io.http(url.href)
  const artifacts = await handler.load!()
  const format = formatOfArtifacts(artifacts)
  const memory: tf.io.IOHandler = { load: async () => artifacts }
  const model =
    format === 'layers-model' ? await tf.loadLayersModel(memory) : await tf.loadGraphModel(memory)
  return {
    format,
    model,
    owned: true,
    signature: asRecord(artifacts.signature),
    topology: asRecord(artifacts.modelTopology),
  }
}

function formatOfArtifacts(artifacts: tf.io.ModelArtifacts): ModelFormat {
  if (artifacts.format === 'layers-model' || artifacts.format === 'graph-model')
    return artifacts.format
  const topology = asRecord(artifacts.modelTopology)
  if (topology && Array.isArray(topology.node)) return 'graph-model'
  if (topology && (topology.class_name !== undefined || topology.model_config !== undefined))
    return 'layers-model'
  throw new Error('model.json is neither a layers model nor a graph model')
}

function formatOfModel(model: unknown): ModelFormat | undefined {
  const m = model as Record<string, unknown> | null
  if (typeof m !== 'object' || m === null) return undefined
  if (typeof m.predictOnBatch === 'function' && Array.isArray(m.layers)) return 'layers-model'
  if (typeof m.execute === 'function' && typeof m.executeAsync === 'function') return 'graph-model'
  return undefined
}

function describe(source: Source, options: TfjsBackendOptions, platform: string): Loaded {
  let inputs: Array<
    Omit<Port, 'name' | 'meta'> & { shape: number[]; datatype: Datatype | undefined }
  >
  let outputs: typeof inputs
  if (source.format === 'layers-model') {
    const model = source.model as tf.LayersModel
    const port = (t: tf.SymbolicTensor, internal: string) => ({
      internal,
      dtype: t.dtype,
      int64: false,
      shape: t.shape.map((d) => d ?? -1),
      datatype: datatypeOf(t.dtype),
    })
    const layerNames = model.outputs.map((t) => t.sourceLayer.name)
    const unique = new Set(layerNames).size === layerNames.length
    inputs = model.inputs.map((t) => port(t, t.name))
    outputs = model.outputs.map((t, i) => port(t, unique ? layerNames[i]! : t.name))
  } else {
    const model = source.model as tf.GraphModel
    const declared = int64Names(source.signature, source.topology)
    const port = (t: { name: string; shape?: number[]; dtype: tf.DataType | undefined }) => ({
      internal: t.name,
      dtype: t.dtype,
      int64: declared.has(t.name),
      shape: t.shape ? t.shape.map((d) => (d === null || d < 0 ? -1 : d)) : [-1],
      datatype:
        t.dtype === undefined
          ? undefined
          : t.dtype === 'int32' && declared.has(t.name)
            ? ('INT64' as const)
            : datatypeOf(t.dtype),
    })
    inputs = model.inputs.map(port)
    const untyped = inputs.find((p) => p.dtype === undefined)
    if (untyped) throw new Error(`graph input "${untyped.internal}" has no dtype`)
    outputs = model.outputs.map(port)
  }
  const name = (list: string[] | undefined, kind: 'inputNames' | 'outputNames', count: number) => {
    if (list && list.length !== count) {
      throw new TypeError(`"${kind}" names ${list.length} tensors, the model has ${count}`)
    }
    return list
  }
  const inputNames = name(options.inputNames, 'inputNames', inputs.length)
  const outputNames = name(options.outputNames, 'outputNames', outputs.length)
  const ports = (list: typeof inputs, names: string[] | undefined): Port[] =>
    list.map((p, i) => {
      const exposed = names?.[i] ?? p.internal
      return {
        name: exposed,
        internal: p.internal,
        dtype: p.dtype,
        int64: p.int64,
        meta: { name: exposed, datatype: p.datatype ?? 'FP32', shape: p.shape },
      }
    })
  const inputPorts = ports(inputs, inputNames)
  const outputPorts = ports(outputs, outputNames)
  return {
    format: source.format,
    model: source.model,
    owned: source.owned,
    inputs: inputPorts,
    outputs: outputPorts,
    metadata: {
      platform,
      inputs: inputPorts.map((p) => p.meta),
      outputs: outputPorts.map((p) => p.meta),
      parameters: { format: source.format },
    },
  }
}

/** Tensor names (with and without `:0`) the signature or the graph's placeholders declare `DT_INT64`. */
function int64Names(
  signature: Record<string, unknown> | undefined,
  topology: Record<string, unknown> | undefined,
): Set<string> {
  const names = new Set<string>()
  for (const node of Array.isArray(topology?.node) ? topology.node : []) {
    const n = asRecord(node)
    if (
      n?.op === 'Placeholder' &&
      typeof n.name === 'string' &&
      asRecord(asRecord(n.attr)?.dtype)?.type === 'DT_INT64'
    ) {
      names.add(n.name)
    }
  }
  for (const side of ['inputs', 'outputs']) {
    const entries = asRecord(signature?.[side])
    for (const [key, value] of Object.entries(entries ?? {})) {
      const info = asRecord(value)
      if (info?.dtype !== 'DT_INT64') continue
      for (const n of [key, info.name]) {
        if (typeof n !== 'string') continue
        names.add(n)
        names.add(n.replace(/:0$/, ''))
      }
    }
  }
  return names
}

function checkShape(input: Tensor, meta: TensorMetadata): void {
  const label = `input "${meta.name}"`
  if (!Array.isArray(input.shape) || input.shape.length !== meta.shape.length) {
    throw new BadRequestError(
      `${label}: shape has ${input.shape?.length ?? 0} dimensions, the model expects ${meta.shape.length}`,
    )
  }
  input.shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0 || (meta.shape[i]! >= 0 && meta.shape[i] !== d)) {
      throw new BadRequestError(
        `${label}: dimension ${i} is ${d}, the model expects ${meta.shape[i]}`,
      )
    }
  })
}

function zeros(ports: Port[]): Tensor[] {
  return ports.map((p) => {
    const shape = p.meta.shape.map((d) => (d < 0 ? 1 : d))
    return {
      name: p.name,
      datatype: p.meta.datatype,
      shape,
      data: allocate(
        p.meta.datatype,
        shape.reduce((a, b) => a * b, 1),
      ),
    }
  })
}

function toArray(result: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): tf.Tensor[] {
  if (Array.isArray(result)) return result
  if (result instanceof tf.Tensor) return [result]
  return Object.values(result)
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

import { BadRequestError, NotReadyError } from '@modelgate/core'
import type {
  InferOptions,
  ModelBackend,
  ModelMetadata,
  Tensor,
  TensorMetadata,
} from '@modelgate/core'
import { fromOrtTensor, toOrtTensor, toTensorMetadata, zeroInputs } from './convert.js'
import { importRuntime, importWebRuntime, messageOf, RUNTIME_PACKAGES } from './runtime.js'
import type { OrtModule, OrtSession, OrtTensor } from './runtime.js'
import type { OnnxBackend, OnnxBackendOptions } from './types.js'

const OPTION_KEYS = new Set([
  'path',
  'model',
  'runtime',
  'intraOpNumThreads',
  'interOpNumThreads',
  'executionProviders',
  'warmup',
  'platform',
])

interface Loaded {
  ort: OrtModule
  session: OrtSession
  metadata: ModelMetadata
  inputs: Map<string, TensorMetadata>
  outputs: Set<string>
}

/**
 * Creates a {@link ModelBackend} that runs an ONNX model with onnxruntime-node (`runtime: 'node'`,
 * the default, for servers) or onnxruntime-web (`runtime: 'web'`, WebAssembly, for edge runtimes).
 * The runtime package is imported on `load()`, so install only the one you use. `load()` creates
 * the session, reads the input/output metadata from it and runs one warm-up inference; `ready()`
 * is false until then. Options are checked here and throw a `TypeError`.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createOnnxBackend } from '@modelgate/backend-onnx'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend: createOnnxBackend({ path: './credit.onnx' }) }],
 * })
 * await gate.ready()
 * ```
 */
export function createOnnxBackend(options: OnnxBackendOptions): OnnxBackend {
  const opts = checkOptions(options)
  const runtime = opts.runtime ?? 'node'
  const pkg = RUNTIME_PACKAGES[runtime]
  const source = opts.path !== undefined ? `"${opts.path}"` : `(${opts.model!.byteLength} bytes)`
  let loading: Promise<Loaded> | undefined
  let loaded: Loaded | undefined
  let closed = false

  async function open(): Promise<Loaded> {
    const ort = runtime === 'web' ? await importWebRuntime() : await importRuntime(pkg)
    const sessionOptions: Record<string, unknown> = {
      executionProviders: opts.executionProviders ?? [runtime === 'web' ? 'wasm' : 'cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    }
    if (runtime === 'node') {
      if (opts.intraOpNumThreads !== undefined)
        sessionOptions.intraOpNumThreads = opts.intraOpNumThreads
      if (opts.interOpNumThreads !== undefined)
        sessionOptions.interOpNumThreads = opts.interOpNumThreads
    } else if (ort.env.wasm && !ort.env.wasm.numThreads) {
      // 0 means "as many as the host has", which needs worker threads; one is what edges offer.
      ort.env.wasm.numThreads = opts.intraOpNumThreads ?? 1
    }
    const model = opts.model ?? (runtime === 'web' ? await readModelFile(opts.path!) : opts.path!)
    let session: OrtSession
    try {
      session = await ort.InferenceSession.create(model, sessionOptions)
    } catch (error) {
      const reason = messageOf(error)
      const message = `backend-onnx: cannot load ONNX model ${source} with ${pkg}: ${reason}`
      throw new Error(message, { cause: error })
    }
    try {
      const inputs = (session.inputMetadata ?? []).map((m) => toTensorMetadata(m, 'input'))
      const outputs = (session.outputMetadata ?? []).map((m) => toTensorMetadata(m, 'output'))
      if (
        inputs.length !== session.inputNames.length ||
        outputs.length !== session.outputNames.length
      ) {
        throw new Error(
          `backend-onnx: ${pkg} does not report input/output metadata (needs >= 1.20)`,
        )
      }
      const state: Loaded = {
        ort,
        session,
        metadata: { platform: opts.platform ?? 'onnxruntime_onnx', inputs, outputs },
        inputs: new Map(inputs.map((m) => [m.name, m])),
        outputs: new Set(outputs.map((m) => m.name)),
      }
      if (opts.warmup !== false) {
        try {
          await run(state, zeroInputs(inputs))
        } catch (error) {
          throw new Error(
            `backend-onnx: warm-up inference of model ${source} failed (set warmup: false to skip it): ${messageOf(error)}`,
            { cause: error },
          )
        }
      }
      return state
    } catch (error) {
      await session.release().catch(() => undefined)
      throw error
    }
  }

  function ensureLoaded(): Promise<Loaded> {
    if (closed) return Promise.reject(new NotReadyError('model backend is closed'))
    if (!loading) {
      const attempt = open()
      loading = attempt
      attempt.then(
        (state) => {
          if (closed) void state.session.release().catch(() => undefined)
          else loaded = state
        },
        () => {
          // Let a later load() try again.
          if (loading === attempt) loading = undefined
        },
      )
    }
    return loading
  }

  return {
    async load() {
      await ensureLoaded()
    },
    async metadata() {
      return structuredClone((await ensureLoaded()).metadata)
    },
    async ready() {
      return loaded !== undefined && !closed
    },
    async infer(inputs: Tensor[], options: InferOptions = {}) {
      const state = await ensureLoaded()
      return run(state, inputs, options)
    },
    async close() {
      if (closed) return
      closed = true
      const state = loaded
      loaded = undefined
      await state?.session.release()
    },
  }

  async function run(
    state: Loaded,
    inputs: Tensor[],
    options: InferOptions = {},
  ): Promise<Tensor[]> {
    if (!Array.isArray(inputs)) throw new BadRequestError('inputs must be an array of tensors')
    const fetches = options.outputs ?? state.metadata.outputs.map((o) => o.name)
    for (const name of fetches) {
      if (!state.outputs.has(name))
        throw new BadRequestError(`unknown output "${String(name).slice(0, 64)}"`)
    }
    const feeds: Record<string, OrtTensor> = {}
    let results: Record<string, OrtTensor> | undefined
    try {
      for (const tensor of inputs) {
        const meta = state.inputs.get(tensor?.name)
        if (!meta) throw new BadRequestError(`unknown input "${String(tensor?.name).slice(0, 64)}"`)
        if (Object.hasOwn(feeds, meta.name))
          throw new BadRequestError(`input "${meta.name}" is given twice`)
        feeds[meta.name] = toOrtTensor(state.ort, tensor, meta)
      }
      for (const name of state.inputs.keys()) {
        if (!Object.hasOwn(feeds, name)) throw new BadRequestError(`missing input "${name}"`)
      }
      if (options.signal?.aborted)
        throw new Error('backend-onnx: inference aborted', { cause: options.signal.reason })
      try {
        results = await state.session.run(feeds, [...new Set(fetches)])
      } catch (error) {
        throw new Error(`backend-onnx: ${pkg} inference failed: ${messageOf(error)}`, {
          cause: error,
        })
      }
      return fetches.map((name) => {
        const value = results![name]
        if (!value) throw new Error(`backend-onnx: onnxruntime returned no output "${name}"`)
        return fromOrtTensor(name, value)
      })
    } finally {
      for (const t of Object.values(feeds)) t.dispose?.()
      for (const t of Object.values(results ?? {})) t.dispose?.()
    }
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises')
  try {
    return await readFile(path)
  } catch (error) {
    throw new Error(`backend-onnx: cannot read ONNX model file "${path}": ${messageOf(error)}`, {
      cause: error,
    })
  }
}

function checkOptions(options: OnnxBackendOptions): OnnxBackendOptions {
  if (!options || typeof options !== 'object')
    throw new TypeError('createOnnxBackend needs an options object')
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`createOnnxBackend: unknown option "${key}"`)
  }
  const {
    path,
    model,
    runtime,
    intraOpNumThreads,
    interOpNumThreads,
    executionProviders,
    warmup,
    platform,
  } = options
  if ((path === undefined) === (model === undefined)) {
    throw new TypeError('createOnnxBackend: give exactly one of "path" and "model"')
  }
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new TypeError('createOnnxBackend: "path" must be a non-empty string')
  }
  if (model !== undefined && (!(model instanceof Uint8Array) || model.byteLength === 0)) {
    throw new TypeError('createOnnxBackend: "model" must be a non-empty Uint8Array')
  }
  if (runtime !== undefined && runtime !== 'node' && runtime !== 'web') {
    throw new TypeError('createOnnxBackend: "runtime" must be "node" or "web"')
  }
  for (const [name, value] of [
    ['intraOpNumThreads', intraOpNumThreads],
    ['interOpNumThreads', interOpNumThreads],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new TypeError(`createOnnxBackend: "${name}" must be a positive integer`)
    }
  }
  if (
    executionProviders !== undefined &&
    (!Array.isArray(executionProviders) ||
      executionProviders.length === 0 ||
      executionProviders.some((p) => typeof p !== 'string' || p === ''))
  ) {
    throw new TypeError(
      'createOnnxBackend: "executionProviders" must be a non-empty array of names',
    )
  }
  if (warmup !== undefined && typeof warmup !== 'boolean') {
    throw new TypeError('createOnnxBackend: "warmup" must be a boolean')
  }
  if (platform !== undefined && (typeof platform !== 'string' || platform === '')) {
    throw new TypeError('createOnnxBackend: "platform" must be a non-empty string')
  }
  return {
    ...options,
    ...(executionProviders ? { executionProviders: [...executionProviders] } : {}),
  }
}

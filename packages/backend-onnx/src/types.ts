import type { ModelBackend } from '@modelgate/core'

/**
 * Which onnxruntime package runs the model: `node` is onnxruntime-node (native, for servers),
 * `web` is onnxruntime-web (WebAssembly, for edge runtimes; it also runs in Node).
 *
 * @example
 * ```ts
 * const runtime: OnnxRuntime = process.env.EDGE ? 'web' : 'node'
 * ```
 */
export type OnnxRuntime = 'node' | 'web'

/**
 * Options of {@link createOnnxBackend}. Give exactly one of `path` and `model`.
 *
 * @example
 * ```ts
 * const options: OnnxBackendOptions = { path: './models/credit.onnx', runtime: 'node', intraOpNumThreads: 2 }
 * ```
 */
export interface OnnxBackendOptions {
  /** File system path of the `.onnx` file. */
  path?: string
  /** The model itself, as bytes (for runtimes without a file system). */
  model?: Uint8Array
  /** Default `node`. */
  runtime?: OnnxRuntime
  /** Threads inside one operator. For `web` this sets `ort.env.wasm.numThreads` (default 1). */
  intraOpNumThreads?: number
  /** Threads across independent operators (`node` only). */
  interOpNumThreads?: number
  /** onnxruntime execution providers in order of preference. Default `['cpu']` / `['wasm']`. */
  executionProviders?: string[]
  /** Run one zero-filled inference before reporting ready. Default `true`. */
  warmup?: boolean
  /** `platform` reported in the model metadata. Default `onnxruntime_onnx`. */
  platform?: string
}

/**
 * The backend {@link createOnnxBackend} returns: a `ModelBackend` whose `load()` and `close()`
 * are always there.
 *
 * @example
 * ```ts
 * const backend: OnnxBackend = createOnnxBackend({ path: 'mlp.onnx' })
 * await backend.load()
 * await backend.close()
 * ```
 */
export interface OnnxBackend extends ModelBackend {
  load(): Promise<void>
  close(): Promise<void>
}

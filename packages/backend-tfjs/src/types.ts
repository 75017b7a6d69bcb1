import type * as tf from '@tensorflow/tfjs'

/**
 * A TF.js backend modelgate can run models on: `tensorflow` is `@tensorflow/tfjs-node` (native
 * libtensorflow), `wasm` is `@tensorflow/tfjs-backend-wasm`, `cpu` is the pure-JavaScript backend.
 *
 * @example
 * ```ts
 * const name: TfjsBackendName = 'wasm'
 * ```
 */
export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu'

/**
 * What to ask for: a backend by name, or `auto` (`tensorflow` when `@tensorflow/tfjs-node` can be
 * imported, else `wasm`, else `cpu`).
 *
 * @example
 * ```ts
 * const choice: TfjsBackendChoice = 'auto'
 * ```
 */
export type TfjsBackendChoice = 'auto' | TfjsBackendName

/**
 * Options of {@link createTfjsBackend}. Give exactly one of `path`, `url` and `model`.
 *
 * @example
 * ```ts
 * const options: TfjsBackendOptions = {
 *   path: './models/credit/model.json',
 *   inputNames: ['features'],
 *   outputNames: ['probability'],
 * }
 * ```
 */
export interface TfjsBackendOptions {
  /** A `model.json` on disk (layers or graph model); weight shards are read beside it. */
  path?: string
  /** An `http(s)://` (or `file://`) URL of a `model.json`. */
  url?: string
  /** A model already in memory. It stays yours: `close()` does not dispose it. */
  model?: tf.LayersModel | tf.GraphModel
  /** TF.js backend; process-wide, see `useTfjsBackend`. Default `auto`. */
  backend?: TfjsBackendChoice
  /** Names to expose for the model's inputs, in the model's input order. */
  inputNames?: string[]
  /** Names to expose for the model's outputs, in the model's output order. */
  outputNames?: string[]
  /** Run one zero-filled inference before reporting ready. Default `true`. */
  warmup?: boolean
  /** `platform` reported in the model metadata. Default `tensorflowjs`. */
  platform?: string
}

/**
 * The optional TF.js packages, as importers. The defaults import `@tensorflow/tfjs-node` and
 * `@tensorflow/tfjs-backend-wasm`; replace them to load the packages from elsewhere (a bundle, a
 * vendored copy).
 *
 * @example
 * ```ts
 * await useTfjsBackend('auto', { tfjsNode: () => import('@tensorflow/tfjs-node') })
 * ```
 */
export interface TfjsBackendLoaders {
  /** Resolves once the `tensorflow` backend is registered with TF.js. */
  tfjsNode?: () => Promise<unknown>
  /** Resolves to the `@tensorflow/tfjs-backend-wasm` module. */
  wasm?: () => Promise<WasmBackendModule>
}

/**
 * The part of `@tensorflow/tfjs-backend-wasm` modelgate uses.
 *
 * @example
 * ```ts
 * const wasm: WasmBackendModule = await import('@tensorflow/tfjs-backend-wasm')
 * ```
 */
export interface WasmBackendModule {
  setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void
}

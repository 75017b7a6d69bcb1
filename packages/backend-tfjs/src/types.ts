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
  /** A `tf.LayersModel` or `tf.GraphModel` in memory. It stays yours: `close()` does not dispose it. */
  model?: TfjsModel
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

/**
 * A TF.js `LayersModel` or `GraphModel`, described by the members modelgate tells them apart by.
 * This package's types name no TF.js type, so that a program importing it never type-checks
 * TF.js's own declarations (which need `skipLibCheck` under TypeScript 6's DOM lib).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs'
 *
 * const model: TfjsModel = await tf.loadLayersModel(fileIOHandler('./models/credit/model.json'))
 * ```
 */
export type TfjsModel = TfjsLayersModelLike | TfjsGraphModelLike

/**
 * A TF.js `LayersModel`, by its members.
 *
 * @example
 * ```ts
 * const layers: TfjsLayersModelLike = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3] })] })
 * ```
 */
export interface TfjsLayersModelLike {
  readonly layers: readonly unknown[]
  predictOnBatch(...args: never[]): unknown
  dispose(): unknown
}

/**
 * A TF.js `GraphModel`, by its members.
 *
 * @example
 * ```ts
 * const graph: TfjsGraphModelLike = await tf.loadGraphModel(fileIOHandler('./detector/model.json'))
 * ```
 */
export interface TfjsGraphModelLike {
  execute(...args: never[]): unknown
  executeAsync(...args: never[]): Promise<unknown>
  dispose(): unknown
}

/**
 * A TF.js IO handler (`tf.io.IOHandler`) as {@link fileIOHandler} and {@link fileSaveHandler}
 * return it: pass it to `tf.loadLayersModel`, `tf.loadGraphModel` or `model.save`. Spelled out
 * here, field for field, for the reason given at {@link TfjsModel}.
 *
 * @example
 * ```ts
 * const handler: TfjsIOHandler = fileIOHandler('./models/credit/model.json')
 * const artifacts = await handler.load!()
 * ```
 */
export interface TfjsIOHandler {
  load?: () => Promise<TfjsModelArtifacts>
  save?: (artifacts: TfjsModelArtifacts) => Promise<TfjsSaveResult>
}

/**
 * A model's artifacts (`tf.io.ModelArtifacts`, without the training config and weight stream
 * modelgate never reads).
 *
 * @example
 * ```ts
 * const artifacts: TfjsModelArtifacts = await fileIOHandler('./models/credit/model.json').load!()
 * console.log(artifacts.format) // 'layers-model'
 * ```
 */
export interface TfjsModelArtifacts {
  // `{}` as TF.js declares them, so that artifacts pass both ways between the two declarations.
  modelTopology?: {} | ArrayBuffer
  weightSpecs?: TfjsWeightSpec[]
  weightData?: ArrayBuffer | ArrayBuffer[]
  format?: string
  generatedBy?: string
  convertedBy?: string | null
  signature?: {}
  userDefinedMetadata?: { [key: string]: {} }
  modelInitializer?: {}
  initializerSignature?: {}
}

/**
 * One entry of a weights manifest (`tf.io.WeightsManifestEntry`).
 *
 * @example
 * ```ts
 * const spec: TfjsWeightSpec = { name: 'dense/kernel', shape: [3, 1], dtype: 'float32' }
 * ```
 */
export interface TfjsWeightSpec {
  name: string
  shape: number[]
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64'
  group?: 'model' | 'optimizer'
  quantization?: { scale?: number; min?: number; dtype: 'uint16' | 'uint8' | 'float16' }
}

/**
 * What a save handler resolves to (`tf.io.SaveResult`).
 *
 * @example
 * ```ts
 * const { modelArtifactsInfo } = await model.save(fileSaveHandler('./models/credit'))
 * ```
 */
export interface TfjsSaveResult {
  modelArtifactsInfo: {
    dateSaved: Date
    modelTopologyType: 'JSON' | 'GraphDef'
    modelTopologyBytes?: number
    weightSpecsBytes?: number
    weightDataBytes?: number
  }
}

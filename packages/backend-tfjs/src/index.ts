export { createTfjsBackend } from './backend.js'
export { activeTfjsBackend, useTfjsBackend } from './runtime.js'
export { fileIOHandler, fileSaveHandler, registerFileLoader } from './file-io.js'
export type {
  TfjsBackendOptions,
  TfjsBackendName,
  TfjsBackendChoice,
  TfjsBackendLoaders,
  WasmBackendModule,
  TfjsModel,
  TfjsLayersModelLike,
  TfjsGraphModelLike,
  TfjsIOHandler,
  TfjsModelArtifacts,
  TfjsWeightSpec,
  TfjsSaveResult,
} from './types.js'
export {
  quantizeTfjsModel,
  type QuantizeDtype,
  type QuantizeOptions,
  type QuantizeResult,
} from './quantize.js'

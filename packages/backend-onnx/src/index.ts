export { createOnnxBackend } from './backend.js'
export { float32ToFloat16Bits, float16BitsToFloat32, encodeFloat16, decodeFloat16 } from './fp16.js'
export type { OnnxBackend, OnnxBackendOptions, OnnxRuntime } from './types.js'

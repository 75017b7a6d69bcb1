export { createClient } from './client.js'
export type { ModelgateClient } from './client.js'
export { ModelgateError } from './errors.js'
export type {
  InferInput,
  InferRequestBody,
  InferResponseBody,
  Explanation,
  ExplainResponseBody,
  PredictResponseBody,
  ExplainRecordsResponseBody,
  ClientEncryption,
  ClientSignature,
  ClientOptions,
  CallOptions,
  ClientResult,
} from './types.js'

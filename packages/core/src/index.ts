export { createGate, DEFAULT_LIMITS } from './gate.js'
export type { Gate, HandlerRoute, ExecutionContextLike } from './gate.js'
export { compose } from './compose.js'
export { GateContext } from './context.js'
export type { EncodedAnswer, AnswerStage } from './context.js'
export {
  GateError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  RateLimitedError,
  NotReadyError,
  BackendError,
  BadGatewayError,
  GatewayTimeoutError,
  errorResponse,
  errorReply,
  replyToResponse,
  statusOf,
} from './errors.js'
export { decodeInferRequest, encodeInferResponse, encodeModelMetadata } from './oip.js'
export type { InferRequest, InferResponseJson, DecodeLimits } from './oip.js'
export {
  DATATYPES,
  isDatatype,
  allocate,
  elementCount,
  readElement,
  toJsonArray,
} from './datatypes.js'
export { readBodyLimited, parseJsonSafe, isPlainObject } from './json.js'
export { FeatureSchema } from './schema.js'
export type { FeatureGroup } from './schema.js'
export { MicroBatcher } from './batcher.js'
export { ModelHandle, ModelRegistry } from './registry.js'
export { matchRoute, createRouter } from './router.js'
export type { RouteMatch } from './router.js'
export { MemoryStore } from './stores.js'
export { pushStream, pushSourceFor, takePushSource } from './push.js'
export type { ByteSink, PushControl, PushSource } from './push.js'
export { checkOptionKeys } from './options.js'
export { hmacSha256, sha256, sha256Hex } from './sha256.js'
export type { OptionsShape } from './options.js'
export type { KeyValueStore, RateLimitStore, TokenBucket, TakeResult } from './stores.js'
export type {
  Datatype,
  TensorData,
  ParameterValue,
  Parameters,
  Tensor,
  TensorMetadata,
  ModelMetadata,
  InferOptions,
  ModelBackend,
  GradientOptions,
  AccessDecision,
  FeatureSpec,
  FeatureSchemaDefinition,
  ModelEntry,
  BatchingOptions,
  Principal,
  Operation,
  OperationMap,
  RouteKind,
  RouteKindMap,
  Route,
  RouteDefinition,
  BodyShape,
  GateFacts,
  GateOutcome,
  OutputExplanation,
  ExplanationResult,
  ExplanationPlot,
  Explainer,
  ExplainerResult,
  IncomingRequest,
  GateLimits,
  Plugin,
  GateOptions,
  GateReply,
  BodySource,
} from './types.js'

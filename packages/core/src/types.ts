/**
 * Open Inference Protocol tensor datatypes. Case-sensitive, exactly as the protocol spells them.
 *
 * @example
 * ```ts
 * const dt: Datatype = 'FP32'
 * ```
 */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES'

/**
 * Flat, row-major tensor storage. Numeric datatypes use the matching typed array (`FP16` is held
 * as `Float32Array`, `BOOL` as `Uint8Array` of 0/1); `BYTES` holds strings.
 *
 * @example
 * ```ts
 * const data: TensorData = new Float32Array([1, 2, 3, 4])
 * ```
 */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[]

/**
 * A value of the protocol's `parameters` maps.
 *
 * @example
 * ```ts
 * const p: Parameters = { explainer: 'kernel_shap', nsamples: 512 }
 * ```
 */
export type ParameterValue = string | number | boolean | null | ParameterValue[] | Parameters
/** A `parameters` object, as it appears at request, input and output level. */
export interface Parameters {
  [key: string]: ParameterValue
}

/**
 * A decoded tensor: what backends consume and produce.
 *
 * @example
 * ```ts
 * const t: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.5, 1]) }
 * ```
 */
export interface Tensor {
  name: string
  datatype: Datatype
  shape: number[]
  data: TensorData
  parameters?: Parameters
}

/**
 * Name, datatype and shape of a model input or output; `-1` marks a variable dimension.
 *
 * @example
 * ```ts
 * const m: TensorMetadata = { name: 'features', datatype: 'FP32', shape: [-1, 12] }
 * ```
 */
export interface TensorMetadata {
  name: string
  datatype: Datatype
  shape: number[]
  parameters?: Parameters
}

/**
 * What a backend reports about the model it runs (the OIP model metadata, minus name/version which
 * the registry owns).
 *
 * @example
 * ```ts
 * const meta: ModelMetadata = {
 *   platform: 'onnxruntime',
 *   inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
 *   outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
 * }
 * ```
 */
export interface ModelMetadata {
  platform: string
  inputs: TensorMetadata[]
  outputs: TensorMetadata[]
  parameters?: Parameters
}

/**
 * Per-call options a gate passes to a backend.
 *
 * @example
 * ```ts
 * await backend.infer(tensors, { outputs: ['probability'] })
 * ```
 */
export interface InferOptions {
  /** Only these outputs are wanted; a backend may still compute all of them. */
  outputs?: string[]
  /** Aborted when the client went away or a deadline passed. */
  signal?: AbortSignal
  /** Request-level `parameters`, for backends that forward them (remote servers). */
  parameters?: Parameters
}

/**
 * A model runtime. Backends know nothing about HTTP, plugins or principals.
 *
 * @example
 * ```ts
 * const echo: ModelBackend = {
 *   async metadata() {
 *     return { platform: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }] }
 *   },
 *   async ready() { return true },
 *   async infer(tensors) { return tensors },
 * }
 * ```
 */
export interface ModelBackend {
  /** Loads and warms the model. Called once by the gate; `ready()` is false until it resolves. */
  load?(): Promise<void>
  metadata(): Promise<ModelMetadata>
  ready(): Promise<boolean>
  infer(inputs: Tensor[], options?: InferOptions): Promise<Tensor[]>
  /** Releases native resources. */
  close?(): Promise<void>
  /**
   * Gradients of one output (summed over its elements, or one element column when `outputIndex`
   * is given) with respect to every floating-point input, per row. Backends that can
   * differentiate (TF.js) implement it; gradient-based explainers need it.
   */
  gradients?(inputs: Tensor[], options: GradientOptions): Promise<Tensor[]>
}

/**
 * What {@link ModelBackend.gradients} differentiates.
 *
 * @example
 * ```ts
 * const grads = await backend.gradients!(inputs, { output: 'probability', outputIndex: 0 })
 * ```
 */
export interface GradientOptions {
  output: string
  /** Column of the output's last dimension; all columns summed when absent. */
  outputIndex?: number
}

/**
 * The outcome of an authorization plugin, read by later plugins (masking reads `unmask`).
 *
 * @example
 * ```ts
 * const d: AccessDecision = { allow: true, reasons: ['rule underwriters-predict'], unmask: ['email'] }
 * ```
 */
export interface AccessDecision {
  allow: boolean
  /** Which rules decided, for audit records and debugging; never secrets. */
  reasons: string[]
  /** Fields this principal may see unmasked (`*` for all); empty when none. */
  unmask: string[]
}

/**
 * One field of a feature schema: how a record field becomes tensor columns.
 *
 * - `numeric`: one column; `missing` is the value used when the field is absent or `null`
 *   (omit it to reject missing values).
 * - `categorical`: `one_hot` gives one column per category, `ordinal` one column holding the
 *   category index; `unknown: 'zeros'` maps an unseen category to all-zero columns (`-1` for
 *   ordinal) instead of rejecting it.
 * - `passthrough`: not a model input (a name, an e-mail, a free-text note), but a declared field
 *   that later plugins may read, mask or log.
 *
 * `pii` names the entity type (`EMAIL_ADDRESS`, `US_SSN`, …) that the masking plugin applies.
 *
 * @example
 * ```ts
 * const income: FeatureSpec = { name: 'income', type: 'numeric', min: 0 }
 * const purpose: FeatureSpec = { name: 'purpose', type: 'categorical', categories: ['car', 'home'] }
 * const email: FeatureSpec = { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' }
 * ```
 */
export type FeatureSpec =
  | {
      name: string
      type: 'numeric'
      missing?: number
      min?: number
      max?: number
      pii?: string
      description?: string
    }
  | {
      name: string
      type: 'categorical'
      categories: string[]
      encoding?: 'one_hot' | 'ordinal'
      unknown?: 'reject' | 'zeros'
      missing?: string
      pii?: string
      description?: string
    }
  | {
      name: string
      type: 'passthrough'
      valueType?: 'string' | 'number' | 'boolean' | 'any'
      required?: boolean
      pii?: string
      text?: boolean
      description?: string
    }

/**
 * Maps JSON records (KServe V1 `instances`) to one model input tensor and back to names.
 *
 * @example
 * ```ts
 * const schema: FeatureSchemaDefinition = {
 *   input: 'features',
 *   features: [
 *     { name: 'income', type: 'numeric' },
 *     { name: 'purpose', type: 'categorical', categories: ['car', 'home', 'education'] },
 *     { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' },
 *   ],
 *   unknownFields: 'reject',
 * }
 * ```
 */
export interface FeatureSchemaDefinition {
  /** Model input tensor that receives the feature columns; defaults to the model's first input. */
  input?: string
  /** Datatype of that tensor; defaults to `FP32`. */
  datatype?: 'FP32' | 'FP64'
  features: FeatureSpec[]
  /** What to do with record fields the schema does not name. Default `reject`. */
  unknownFields?: 'reject' | 'ignore'
  /** Names for the model's output columns, per output tensor, used in V1 predictions. */
  outputNames?: Record<string, string[]>
}

/**
 * A model as registered in a gate.
 *
 * @example
 * ```ts
 * const entry: ModelEntry = { name: 'credit', version: '1', backend: myBackend }
 * ```
 */
export interface ModelEntry {
  name: string
  version?: string
  backend: ModelBackend
  schema?: FeatureSchemaDefinition
  /** Merge concurrent requests into one backend call. */
  batching?: BatchingOptions
  /** Extra facts plugins may read (owner, data classification, …). */
  labels?: Record<string, string>
}

/**
 * Micro-batching settings.
 *
 * @example
 * ```ts
 * const b: BatchingOptions = { maxBatchSize: 64, maxDelayMs: 2 }
 * ```
 */
export interface BatchingOptions {
  /** Rows per backend call, at most. */
  maxBatchSize: number
  /** How long the first waiting request waits for company. */
  maxDelayMs: number
  /** Requests allowed to wait at once before new ones get 503. Default 10,000. */
  maxQueueSize?: number
}

/**
 * Who is calling, as established by an authentication plugin.
 *
 * @example
 * ```ts
 * const p: Principal = { id: 'user-42', kind: 'jwt', roles: ['underwriter'], scopes: ['predict'] }
 * ```
 */
export interface Principal {
  id: string
  kind: string
  roles: string[]
  scopes: string[]
  tenant?: string
  claims?: Record<string, unknown>
}

/**
 * What a request wants to do; the unit of access policies.
 *
 * @example
 * ```ts
 * const op: Operation = 'predict'
 * ```
 */
export type Operation = 'health' | 'metadata' | 'predict' | 'explain' | 'custom'

/**
 * Which protocol route a request matched.
 *
 * @example
 * ```ts
 * if (ctx.route.kind === 'v2-infer') console.log(ctx.route.model)
 * ```
 */
export type RouteKind =
  | 'health-live'
  | 'health-ready'
  | 'server-metadata'
  | 'model-metadata'
  | 'model-ready'
  | 'v2-infer'
  | 'v2-explain'
  | 'v1-status'
  | 'v1-predict'
  | 'v1-explain'
  | 'custom'
  | 'unknown'

/**
 * A matched route with its path parameters.
 *
 * @example
 * ```ts
 * const r: Route = { kind: 'v2-infer', model: 'credit', version: '1' }
 * ```
 */
export interface Route {
  kind: RouteKind
  model?: string
  version?: string
}

/**
 * Limits applied to every request before any plugin or model sees its body.
 *
 * @example
 * ```ts
 * createGate({ models, limits: { maxBodyBytes: 1 << 20, maxJsonDepth: 32 } })
 * ```
 */
export interface GateLimits {
  /** Bytes; larger bodies get 413 without being read to the end. Default 10 MiB. */
  maxBodyBytes?: number
  /** Nesting of arrays and objects. Default 64. */
  maxJsonDepth?: number
  /** Tensor elements in one request across all inputs. Default 16,777,216. */
  maxTensorElements?: number
  /** Rows (records) in one V1 request. Default 100,000. */
  maxRecords?: number
}

/**
 * The onion middleware signature shared by every modelgate plugin.
 *
 * @example
 * ```ts
 * const timing: Plugin = async function timing(ctx, next) {
 *   const start = performance.now()
 *   await next()
 *   ctx.headers.set('server-timing', `gate;dur=${performance.now() - start}`)
 * }
 * ```
 */
export interface Plugin {
  (ctx: import('./context.js').GateContext, next: () => Promise<void>): Promise<void>
  /** Protocol extensions this plugin adds to `GET /v2` (for example `explain`). */
  extensions?: readonly string[]
}

/**
 * A gate's answer before it becomes a Web `Response`: what Node adapters write to the socket
 * directly, without the cost of Web streams.
 *
 * @example
 * ```ts
 * const reply = await gate.handle(request)
 * res.writeHead(reply.status, Object.fromEntries(reply.headers)).end(reply.body)
 * ```
 */
export interface GateReply {
  status: number
  headers: Headers
  body: Uint8Array | ReadableStream<Uint8Array> | null
}

/**
 * A request body an adapter reads itself (from a Node stream, or bytes a body parser already
 * read), attached to the `Request` with `attachBodySource` so the gate skips Web streams.
 * `read(maxBytes)` must reject with `PayloadTooLargeError` as soon as more than `maxBytes` arrive.
 *
 * @example
 * ```ts
 * const source: BodySource = { declaredLength: bytes.length, read: async () => bytes }
 * ```
 */
export interface BodySource {
  /** `Content-Length` when the client sent one. */
  declaredLength?: number
  read(maxBytes: number): Promise<Uint8Array>
}

/**
 * Options of {@link createGate}.
 *
 * @example
 * ```ts
 * const gate = createGate({ models: [{ name: 'm', backend }], plugins: [audit(), authenticate(opts)] })
 * ```
 */
export interface GateOptions {
  models: ModelEntry[]
  plugins?: Plugin[]
  limits?: GateLimits
  /** Server name reported by `GET /v2`. Default `modelgate`. */
  name?: string
  /** Header that carries a client-chosen request id, echoed on the response. Default `x-request-id`. */
  requestIdHeader?: string
  /** Called with errors that became a 5xx, for logging; never sent to the client. */
  onError?: (error: unknown, ctx: import('./context.js').GateContext) => void
}

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
 * The operations a route can perform, the unit of access policies. Packages that add routes add
 * their operations by declaration merging (`@modelgate/llm` adds `chat` and `embed`).
 *
 * @example
 * ```ts
 * declare module '@modelgate/core' {
 *   interface OperationMap {
 *     chat: true
 *   }
 * }
 * ```
 */
export interface OperationMap {
  health: true
  metadata: true
  predict: true
  explain: true
  custom: true
  /** Operational endpoints such as `GET /metrics`. */
  metrics: true
  /** Static pages and their assets (the web console). */
  console: true
}

/**
 * What a request wants to do; the unit of access policies.
 *
 * @example
 * ```ts
 * const op: Operation = 'predict'
 * ```
 */
export type Operation = keyof OperationMap

/**
 * The kinds of route a gate serves. Core's protocol routes are listed here; packages that
 * contribute routes add their kinds by declaration merging.
 *
 * @example
 * ```ts
 * declare module '@modelgate/core' {
 *   interface RouteKindMap {
 *     'chat-completions': true
 *   }
 * }
 * ```
 */
export interface RouteKindMap {
  'health-live': true
  'health-ready': true
  'server-metadata': true
  'model-metadata': true
  'model-ready': true
  'v2-infer': true
  'v2-explain': true
  'v1-status': true
  'v1-predict': true
  'v1-explain': true
  /** A route a plugin contributes (`RouteDefinition`) or a `protect()`ed handler. */
  custom: true
  unknown: true
}

/**
 * Which route a request matched.
 *
 * @example
 * ```ts
 * if (ctx.route.kind === 'v2-infer') console.log(ctx.route.model)
 * ```
 */
export type RouteKind = keyof RouteKindMap

/**
 * A matched route with its path parameters. Contributed routes carry their `name` and the
 * declaration of what their body holds (`body`), which masking reads.
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
  /** Name of a contributed route (`metrics`, `console`, `protect:/score`, …). */
  name?: string
  /** What the request and response bodies of a contributed route hold. */
  body?: BodyShape
}

/**
 * Declares where personal data can sit in the JSON bodies of a contributed or `protect()`ed
 * route, so masking can treat it as it treats the protocol routes: by structure, never by key
 * names found anywhere. Paths use dot-separated keys, `[]` for every element of an array and `*`
 * for every value of an object (`customer.email`, `items[].note`, `*.name`).
 *
 * @example
 * ```ts
 * const shape: BodyShape = {
 *   records: 'applicants[]',
 *   schema: creditSchema,
 *   paths: { 'contact.email': 'EMAIL_ADDRESS', 'notes[]': 'text' },
 * }
 * ```
 */
export interface BodyShape {
  /** Records that follow a feature schema: where they are (`''` for the body itself). */
  records?: string
  /** The schema those records follow, or the name of a registered model whose schema it is. */
  schema?: FeatureSchemaDefinition | string
  /** Values at these paths hold an entity type (`EMAIL_ADDRESS`, …) or free `text` to scan. */
  paths?: Record<string, string>
  /** Scan every other string of the body for entities. */
  scanStrings?: boolean
}

/**
 * A route a plugin contributes (or passes to `createGate({ routes })`). The whole plugin onion
 * runs around its `terminal`, exactly as for the protocol routes. `path` is matched exactly;
 * `{model}` and `{version}` segments bind the route's model (never a segment holding `:`, which
 * KServe V1 keeps for `model:verb`); a trailing `/*` matches everything
 * below a prefix (and the prefix itself).
 *
 * @example
 * ```ts
 * const health: RouteDefinition = {
 *   name: 'ping',
 *   methods: ['GET'],
 *   path: '/ping',
 *   operation: 'health',
 *   async terminal(ctx) {
 *     ctx.body = { pong: true }
 *   },
 * }
 * ```
 */
export interface RouteDefinition {
  name: string
  methods: readonly string[]
  path: string
  operation: Operation
  /** Route kind reported to plugins; `custom` unless a package registered its own kind. */
  kind?: RouteKind
  body?: BodyShape
  terminal: (ctx: import('./context.js').GateContext) => Promise<void>
}

/**
 * Facts plugins learn about a request, for later plugins and for the audit record. One
 * interface, augmented by each package by declaration merging (as hono's `ContextVariableMap`):
 * the audit plugin persists every fact generically, so a new plugin's facts are audited without
 * touching the audit plugin. Facts are small, JSON-shaped and never hold raw personal data.
 *
 * @example
 * ```ts
 * declare module '@modelgate/core' {
 *   interface GateFacts {
 *     tenantTier?: 'free' | 'paid'
 *   }
 * }
 * ctx.facts.tenantTier = 'paid'
 * ```
 */
export interface GateFacts {
  /** The request id the client sent (`x-request-id`), kept beside the gate's own id. */
  clientRequestId?: string
  /** Why the request was refused before any plugin ran (an adapter refusal). */
  refused?: string
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
 * The onion middleware signature shared by every modelgate plugin. A plugin always calls `next()`
 * once (or refuses the request by throwing): the route's terminal at the centre of the onion
 * answers, never a plugin in its place, and `compose` fails a request whose plugin returned
 * without calling `next()`.
 *
 * Besides the middleware, a plugin may contribute `routes` (served with the whole onion around
 * them), protocol `extensions`, an `onResponse` observer that sees every request's final answer
 * (also requests refused before or outside this plugin), and `close()` for what it started.
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
  /** Routes this plugin serves (`GET /metrics`, the console's pages, …). */
  routes?: readonly RouteDefinition[]
  /**
   * Called once for every request, before any plugin runs and whatever this plugin's position,
   * for setup other parts rely on even when the request is refused before reaching this plugin
   * (the masking function `ctx.redactText` that audit records and error answers go through).
   * Synchronous and cheap: it must not read the body.
   */
  onRequest?: (ctx: import('./context.js').GateContext) => void
  /** Models this plugin serves (the LLM plugin's), registered with the gate's own. */
  models?: readonly ModelEntry[]
  /**
   * Called once for every request the gate answered, after the answer is encoded and sealed
   * and before it is signed and sent, whether or not the request reached this plugin: what audit
   * logs and metrics need. A `GateError` thrown here replaces the answer (an audit log that must
   * not lose records refuses with 503; the error answer is then signed); anything else is
   * reported to `onError`. A streamed answer is observed when its stream ends (facts learned
   * while streaming, such as token usage, are then visible) and can no longer be replaced.
   */
  onResponse?: (
    ctx: import('./context.js').GateContext,
    outcome: GateOutcome,
  ) => void | Promise<void>
  /** Releases what the plugin started (worker pools, timers, sinks). Called by `gate.close()`. */
  close?: () => Promise<void>
}

/**
 * How a request ended, as `Plugin.onResponse` sees it.
 *
 * @example
 * ```ts
 * const outcome: GateOutcome = { status: 404, error: 'model_not_found', latencyMs: 0.4 }
 * ```
 */
export interface GateOutcome {
  status: number
  /** The error code of a refused or failed request; `undefined` when it succeeded. */
  error?: string
  /** The thrown value, for observers that report failures. */
  cause?: unknown
  /** Milliseconds from receiving the request to the final answer. */
  latencyMs: number
}

/**
 * One explained output column as it goes on the wire (`explanations[]` of the explain
 * extension): `values[row][feature]` attributions, `base_value`, `feature_names`, `method`, and
 * for sampling methods `standard_errors` (same shape as `values`). `data[row][feature]` holds the
 * explained input values as the model saw them (after request masking). Core's encoders add V1
 * `attributions` (by feature name) and requested `plots` when the answer is encoded, after every
 * plugin has seen the explanation.
 *
 * @example
 * ```ts
 * const e: OutputExplanation = { output: 'prediction', method: 'tree_shap', link: 'identity', base_value: 0.1, base_values: [0.1], values: [[0.3, -0.2]], feature_names: ['age', 'income'], data: [[41, 52000]], additivity: { ok: true, max_relative_error: 0, tolerance: 1e-6 } }
 * ```
 */
export interface OutputExplanation {
  output: string
  output_index?: number
  method: string
  link: string
  base_value: number
  base_values: number[]
  values: number[][]
  feature_names: string[]
  data: unknown[][]
  standard_errors?: number[][]
  completeness_error?: number
  additivity: { ok: boolean; max_relative_error: number; tolerance: number }
}

/**
 * What the explain routes produce before encoding: the explanations of a request's outputs, on
 * `ctx.explanation` for plugins outside the explainer (masking reads and rewrites it). `plot`
 * renders the requested plots at encoding time, from the explanation as the plugins left it.
 *
 * @example
 * ```ts
 * const result = ctx.explanation
 * for (const e of result?.explanations ?? []) console.log(e.output, e.values[0])
 * ```
 */
export interface ExplanationResult {
  model: string
  version?: string
  method: string
  cached: boolean
  explanations: OutputExplanation[]
  plot?: ExplanationPlot
}

/**
 * A plot requested with an explanation: its kind and a renderer from one explained row to SVG.
 *
 * @example
 * ```ts
 * const plot: ExplanationPlot = { kind: 'bar', render: (e, row) => barSvg(e, row) }
 * ```
 */
export interface ExplanationPlot {
  kind: string
  render(explanation: OutputExplanation, row: number): string
}

/**
 * Produces the outputs and explanations for an explain route. Explain plugins register one with
 * `ctx.provideExplainer()`; the route's terminal in core calls the outermost, which may hand the
 * request on to the next one (`fallback`), as a cloud forwarder falls back to local explainers.
 *
 * @example
 * ```ts
 * ctx.provideExplainer(async (ctx, request) => {
 *   const outputs = await ctx.runModel(request.inputs)
 *   return { outputs, explanation: await explainOutputs(outputs) }
 * })
 * ```
 */
export type Explainer = (
  ctx: import('./context.js').GateContext,
  request: import('./oip.js').InferRequest,
  fallback: (() => Promise<ExplainerResult>) | undefined,
) => Promise<ExplainerResult>

/**
 * What an {@link Explainer} returns.
 *
 * @example
 * ```ts
 * const result: ExplainerResult = { outputs, explanation }
 * ```
 */
export interface ExplainerResult {
  outputs: Tensor[]
  explanation: ExplanationResult
}

/**
 * A request as a Node adapter hands it to the gate without building a Web `Request`: headers
 * and signal are read when first used, the body is read by the gate from `body`. The gate
 * builds a real `Request` from it only when a plugin reads `ctx.request`. `refusal` is an error
 * the adapter found before the gate could route the request (a path with dot segments, an
 * invalid Host): the gate answers it, and every observer (audit) still records it.
 *
 * @example
 * ```ts
 * const incoming: IncomingRequest = {
 *   method: 'POST',
 *   url: 'http://127.0.0.1:8080/v2/models/m/infer',
 *   headers: new Headers({ 'content-type': 'application/json' }),
 *   signal: AbortSignal.timeout(30_000),
 *   body: { read: async () => bytes },
 * }
 * const reply = await gate.handle(incoming)
 * ```
 */
export interface IncomingRequest {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  readonly signal: AbortSignal
  readonly body?: BodySource
  readonly refusal?: import('./errors.js').GateError
  /** Connection facts a plugin may read from `ctx.request` by symbol (a TLS peer certificate). */
  readonly extras?: Readonly<Record<symbol, unknown>>
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
  /**
   * Header that carries a client-chosen request id. Default `x-request-id`. The gate always makes
   * its own id (`x-request-id` on the answer); a valid client id is recorded as the
   * `clientRequestId` fact and echoed as `x-client-request-id`, never used as a key.
   */
  requestIdHeader?: string
  /** Routes served besides the protocol routes, with the whole plugin onion around them. */
  routes?: RouteDefinition[]
  /** Called with errors that became a 5xx, for logging; never sent to the client. */
  onError?: (error: unknown, ctx: import('./context.js').GateContext) => void
}

import {
  BackendError,
  BadRequestError,
  GateError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.js'
import { isPlainObject, parseJsonSafe, readBodyLimited } from './json.js'
import { decodeInferRequest, type InferRequest } from './oip.js'
import type { ModelHandle } from './registry.js'
import type { FeatureSchema } from './schema.js'
import type {
  AccessDecision,
  Explainer,
  ExplanationResult,
  GateFacts,
  GateLimits,
  IncomingRequest,
  InferOptions,
  Operation,
  Principal,
  Route,
  Tensor,
} from './types.js'

/**
 * An answer after encoding, as the sealing and signing stages see it (`ctx.onAnswer`). A stage
 * may replace `body` and set headers; a sealing stage sets `sealed`.
 *
 * @example
 * ```ts
 * ctx.onAnswer('sign', async (answer) => {
 *   answer.headers.set('x-digest', await digest(answer.body))
 * })
 * ```
 */
export interface EncodedAnswer {
  status: number
  headers: Headers
  body: Uint8Array | ReadableStream<Uint8Array> | null
  /** True once a sealing stage encrypted the body. */
  sealed: boolean
  /** The error code when this answer is an error. */
  error?: string
}

/**
 * When a stage registered with `ctx.onAnswer` runs: every `seal` stage (encryption, for answers
 * that are not errors) before every `sign` stage (signatures over the bytes that are sent, errors
 * included), whatever the order of the plugins that registered them.
 *
 * @example
 * ```ts
 * const stage: AnswerStage = 'seal'
 * ```
 */
export type AnswerStage = 'seal' | 'sign'

type AnswerHook = (answer: EncodedAnswer, ctx: GateContext) => Promise<void>

const READ_ONLY = new Set(['GET', 'HEAD'])

/**
 * Everything one request carries through the plugin chain. Plugins read the request, record
 * `facts`, may replace the body (decrypt) or the decoded inputs (mask), and on the way out see
 * the answer as data (`outputs`, `explanation`, `body`), which core encodes once, after every
 * plugin has run. Sealing and signing work on the encoded bytes through `onAnswer` stages, so
 * they hold whatever the plugin order.
 *
 * The request body is read lazily and at most once, with the gate's limits: a plugin that rejects
 * a request before reading it never pays for a large body.
 *
 * @example
 * ```ts
 * const requireTenant: Plugin = async function requireTenant(ctx, next) {
 *   if (!ctx.requestHeaders.has('x-tenant')) throw new BadRequestError('x-tenant header required')
 *   await next()
 * }
 * ```
 */
export class GateContext {
  readonly url: URL
  /** The request method. */
  readonly method: string
  readonly route: Route
  readonly operation: Operation
  /** The gate's id of this request (never the client's; see `facts.clientRequestId`). */
  readonly requestId: string
  /** `Date.now()` when the gate received the request. */
  readonly receivedAt: number
  readonly limits: Required<GateLimits>
  /** The model the route names (or a plugin bound with `bindModel`), when it exists. */
  get model(): ModelHandle | undefined {
    return this.boundModel
  }
  /** The runtime's bindings, as passed to `gate.fetch(request, env, executionContext)`. */
  readonly env: unknown
  /** Typed facts for later plugins and the audit record. */
  readonly facts: GateFacts = {}
  /** Set by an authentication plugin. */
  principal: Principal | undefined
  /** Set by an authorization plugin. */
  decision: AccessDecision | undefined
  /** Response status and headers. */
  status = 200
  readonly headers = new Headers()
  /**
   * The answer of routes that are not model routes (metadata, health, contributed routes): JSON
   * data unless bytes, a string or a stream. Model routes answer with `outputs` and
   * `explanation`, which core encodes.
   */
  body: unknown = undefined
  /** Model outputs of this request, once the model ran. */
  outputs: Tensor[] | undefined
  /** Explanations produced on an explain route. */
  explanation: ExplanationResult | undefined
  /** Plugin-private state; key by a symbol or the plugin's name. */
  readonly state = new Map<unknown, unknown>()
  /**
   * Masks personal data in a text bound for logs or audit records; the masking plugin sets it,
   * the default leaves text as it is.
   */
  redactText: (text: string) => string = (text) => text

  /** @internal */ readonly explainers: Explainer[] = []
  /** @internal */ readonly checks: Array<() => Promise<void>> = []
  /** @internal */ readonly answerHooks: Record<AnswerStage, AnswerHook[]> = { seal: [], sign: [] }
  /** @internal */ sealRequired: string | undefined
  /** @internal */ answeredRequest: InferRequest | undefined

  private boundModel: ModelHandle | undefined
  private readonly findModel: (name: string, version?: string) => ModelHandle | undefined
  private readonly incoming: Request | IncomingRequest
  private materialized: Request | undefined
  private raw: Promise<Uint8Array> | undefined
  private bytes: Promise<Uint8Array> | undefined
  private contentType: string | null
  private parsed: { value: unknown } | undefined
  private decoded: Promise<InferRequest> | undefined
  private readonly onBackendError: (error: unknown) => void
  private readonly keepAlive: ((promise: Promise<unknown>) => void) | undefined

  /** @internal Created by the gate. */
  constructor(init: {
    request: Request | IncomingRequest
    url: URL
    route: Route
    operation: Operation
    requestId: string
    limits: Required<GateLimits>
    model: ModelHandle | undefined
    findModel: (name: string, version?: string) => ModelHandle | undefined
    env: unknown
    waitUntil: ((promise: Promise<unknown>) => void) | undefined
    onBackendError: (error: unknown) => void
  }) {
    this.incoming = init.request
    this.url = init.url
    this.method = init.request.method
    this.route = init.route
    this.operation = init.operation
    this.requestId = init.requestId
    this.limits = init.limits
    this.boundModel = init.model
    this.findModel = init.findModel
    this.env = init.env
    this.keepAlive = init.waitUntil
    this.receivedAt = Date.now()
    this.contentType = init.request.headers.get('content-type')
    this.onBackendError = init.onBackendError
  }

  /** The request's headers, as sent. */
  get requestHeaders(): Headers {
    return this.incoming.headers
  }

  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    return this.incoming.signal
  }

  /**
   * The request as a real Web `Request`, on every adapter: a plugin may clone it, forward it
   * (`fetch(new Request(upstream, ctx.request))`) or read its body, and the gate still reads the
   * same body. It is the request as received (before any plugin replaced the body), built when
   * first read.
   */
  get request(): Request {
    this.materialized ??= this.materialize()
    return this.materialized
  }

  private materialize(): Request {
    const incoming = this.incoming
    const hasBody = !READ_ONLY.has(this.method)
    if (incoming instanceof Request && (!hasBody || incoming.body === null)) return incoming
    const init: RequestInit & { duplex?: 'half' } = {
      method: this.method,
      headers: incoming.headers,
      signal: incoming.signal,
    }
    if (hasBody) {
      let sent = false
      init.body = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          if (sent) return controller.close()
          sent = true
          controller.enqueue(await this.rawBytes())
        },
      })
      init.duplex = 'half'
    }
    const request = new Request(this.url, init)
    const extras = (incoming as IncomingRequest).extras
    if (extras && !(incoming instanceof Request)) {
      for (const key of Object.getOwnPropertySymbols(extras))
        Object.defineProperty(request, key, { value: extras[key], enumerable: false })
    }
    return request
  }

  /**
   * Keeps the runtime alive for work that outlives the answer (a Workers `waitUntil`); in Node
   * the promise simply runs on. Rejections are reported to `onError`.
   */
  waitUntil(promise: Promise<unknown>): void {
    const guarded = promise.catch((error: unknown) => this.onBackendError(error))
    this.keepAlive?.(guarded)
  }

  /** The request body as sent, read once under `limits.maxBodyBytes` (shared with `request`). */
  private rawBytes(maxBytes = this.limits.maxBodyBytes): Promise<Uint8Array> {
    this.raw ??= this.readBody(Math.min(maxBytes, this.limits.maxBodyBytes))
    return this.raw
  }

  /**
   * The request body, read once under `limits.maxBodyBytes` (413 past it), or the body a plugin
   * put in its place (`replaceBody`). The first reader may set a tighter limit (`maxBytes`),
   * which then also stops the read early; later readers get the same bytes.
   */
  bodyBytes(maxBytes = this.limits.maxBodyBytes): Promise<Uint8Array> {
    this.bytes ??= this.rawBytes(maxBytes)
    return this.bytes
  }

  private async readBody(maxBytes: number): Promise<Uint8Array> {
    // Compressed bodies would otherwise be parsed as they are, and fail with a misleading 400.
    const encoding = this.incoming.headers.get('content-encoding')?.trim().toLowerCase()
    const incoming = this.incoming
    if (encoding && encoding !== 'identity') {
      if (incoming instanceof Request) await incoming.body?.cancel().catch(() => undefined)
      throw new GateError(
        'unsupported_content_encoding',
        415,
        'send the request body without Content-Encoding',
      )
    }
    if (incoming instanceof Request) return readBodyLimited(incoming, maxBytes)
    const source = incoming.body
    if (!source) return new Uint8Array(0)
    if (source.declaredLength !== undefined && source.declaredLength > maxBytes)
      throw new PayloadTooLargeError(maxBytes)
    return source.read(maxBytes)
  }

  /** Replaces the request body, for plugins that unwrap it (decryption). Clears parsed state. */
  replaceBody(bytes: Uint8Array, contentType: string): void {
    this.bytes = Promise.resolve(bytes)
    this.contentType = contentType
    this.parsed = undefined
    this.decoded = undefined
  }

  /** Media type of the (possibly replaced) body, lower-cased, without parameters. */
  mediaType(): string {
    return (this.contentType ?? '').split(';')[0]!.trim().toLowerCase()
  }

  /**
   * The request body as JSON, parsed once with the gate's depth and key limits. Accepted media
   * types: none, `application/json`, `*+json`, and `text/plain` (what `fetch` sends for a string
   * body by default).
   */
  async json(): Promise<unknown> {
    if (this.parsed) return this.parsed.value
    const type = this.mediaType()
    if (
      type !== '' &&
      type !== 'application/json' &&
      type !== 'text/plain' &&
      !type.endsWith('+json')
    ) {
      throw new UnsupportedMediaTypeError(type)
    }
    const value = parseJsonSafe(await this.bodyBytes(), { maxDepth: this.limits.maxJsonDepth })
    this.parsed ??= { value }
    return this.parsed.value
  }

  /** Replaces the parsed JSON body (for example with masked records). Clears decoded inputs. */
  replaceJson(value: unknown): void {
    this.parsed = { value }
    this.decoded = undefined
  }

  /** KServe V1 `instances` of the body. */
  async records(): Promise<unknown[]> {
    const body = await this.json()
    if (!isPlainObject(body) || !Array.isArray(body.instances)) {
      throw new BadRequestError('body must be an object with an "instances" array')
    }
    if (body.instances.length === 0) throw new BadRequestError('"instances" must not be empty')
    if (body.instances.length > this.limits.maxRecords) {
      throw new BadRequestError(`at most ${this.limits.maxRecords} instances per request`)
    }
    return body.instances
  }

  /**
   * The validated, decoded inference request: an OIP V2 body, or V1 records mapped through the
   * model's feature schema (or, without one, rows of the model's first input). With a schema,
   * V2 tensors for the schema's input are checked against its ranges as V1 records are.
   */
  inferRequest(): Promise<InferRequest> {
    this.decoded ??= this.decode()
    return this.decoded
  }

  /** Replaces the decoded inputs (for plugins that transform tensors). */
  replaceInferRequest(request: InferRequest): void {
    this.decoded = Promise.resolve(request)
  }

  private async decode(): Promise<InferRequest> {
    const model = this.requireModel()
    const metadata = model.metadata()
    const limits = { maxTensorElements: this.limits.maxTensorElements }
    if (this.route.kind !== 'v1-predict' && this.route.kind !== 'v1-explain') {
      const request = decodeInferRequest(await this.json(), metadata, limits)
      if (model.schema) {
        const input = request.inputs.find((t) => t.name === model.schemaInput())
        if (input) model.schema.checkColumns(input)
      }
      return request
    }
    const records = await this.records()
    const body = (await this.json()) as Record<string, unknown>
    const request: InferRequest = { inputs: [] }
    if (isPlainObject(body.parameters))
      request.parameters = body.parameters as InferRequest['parameters']
    if (model.schema) {
      const elements = records.length * model.schema.columns.length
      if (elements > this.limits.maxTensorElements) {
        throw new PayloadTooLargeError(
          this.limits.maxTensorElements,
          `instances: ${records.length} records of ${model.schema.columns.length} columns exceed ${this.limits.maxTensorElements} tensor elements`,
        )
      }
      request.inputs.push(model.schema.encode(records, model.schemaInput()))
      return request
    }
    const input = metadata.inputs[0]!
    const v2 = {
      inputs: [
        { name: input.name, datatype: input.datatype, shape: nestedShape(records), data: records },
      ],
    }
    request.inputs = decodeInferRequest(v2, { ...metadata, inputs: [input] }, limits).inputs
    return request
  }

  /**
   * Binds the model a request names in its body (the LLM routes' `"model"`), for routes whose path
   * names none: later plugins see it as `route.model` and `model`, as if the path had named it.
   * 404 for a model the gate does not serve; a route that already names a model keeps it.
   */
  bindModel(name: string): ModelHandle {
    if (this.boundModel) return this.boundModel
    const handle = this.route.model === undefined ? this.findModel(name) : undefined
    if (!handle) throw new NotFoundError(`unknown model "${name.slice(0, 128)}"`, 'model_not_found')
    this.route.model = handle.name
    this.boundModel = handle
    return handle
  }

  /**
   * The feature schema of a model this gate serves, by name: what a route's `body.schema` may
   * name, for plugins that read bodies by their declared shape (masking).
   */
  schemaOf(model: string): FeatureSchema | undefined {
    return this.findModel(model)?.schema
  }

  /** The route's model; 404 when the route names none or an unknown one. */
  requireModel(): ModelHandle {
    if (!this.model)
      throw new NotFoundError(
        `unknown model "${(this.route.model ?? '').slice(0, 128)}"`,
        'model_not_found',
      )
    return this.model
  }

  /**
   * Runs the route's model. Backend failures that are not {@link GateError}s are reported to the
   * gate's `onError` and become a generic 500; the client never sees their message.
   */
  async runModel(inputs: Tensor[], options: InferOptions = {}): Promise<Tensor[]> {
    const model = this.requireModel()
    try {
      return await model.infer(inputs, { signal: this.signal, ...options })
    } catch (error) {
      if (error instanceof GateError) throw error
      this.onBackendError(error)
      throw new BackendError()
    }
  }

  /**
   * Registers what answers this request's explain route. The outermost plugin's explainer runs
   * first and may hand over to the next one through its `fallback` argument.
   */
  provideExplainer(explainer: Explainer): void {
    this.explainers.push(explainer)
  }

  /**
   * Registers a check that runs after every plugin has run its way in, right before the route's
   * terminal (so before the model), whatever the plugin order: for plugins that must see what
   * others decided (a response key that must be usable, a sealer that must exist).
   */
  addCheck(check: () => Promise<void>): void {
    this.checks.push(check)
  }

  /**
   * Registers a stage over the encoded answer: `seal` stages (encryption) run on answers that are
   * not errors, then `sign` stages run on every answer, in registration order within a stage.
   */
  onAnswer(stage: AnswerStage, hook: AnswerHook): void {
    this.answerHooks[stage].push(hook)
  }

  /**
   * Demands that this request's answer leave sealed: unless it is an error, an answer no `seal`
   * stage sealed is replaced by a 500 (fail closed), and a request for which no plugin registered
   * a `seal` stage is refused before the model runs.
   */
  requireSealed(reason: string): void {
    this.sealRequired ??= reason
  }
}

function nestedShape(value: unknown[]): number[] {
  const shape: number[] = []
  let level: unknown = value
  while (Array.isArray(level)) {
    shape.push(level.length)
    level = level[0]
  }
  return shape
}

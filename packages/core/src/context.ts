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
import type {
  AccessDecision,
  GateLimits,
  GateReply,
  InferOptions,
  Operation,
  Principal,
  Route,
  Tensor,
} from './types.js'

const encoder = new TextEncoder()

/**
 * Everything one request carries through the plugin chain. Plugins read the request, add facts
 * (principal, audit), may replace the body (decrypt) or the decoded inputs (mask), and shape the
 * response on the way out (`status`, `headers`, `body`).
 *
 * The request body is read lazily and at most once, with the gate's limits: a plugin that rejects
 * a request before reading it never pays for a large body.
 *
 * @example
 * ```ts
 * const requireTenant: Plugin = async function requireTenant(ctx, next) {
 *   if (!ctx.request.headers.has('x-tenant')) throw new BadRequestError('x-tenant header required')
 *   await next()
 * }
 * ```
 */
export class GateContext {
  readonly request: Request
  readonly url: URL
  readonly route: Route
  readonly operation: Operation
  readonly requestId: string
  /** `Date.now()` when the gate received the request. */
  readonly receivedAt: number
  readonly limits: Required<GateLimits>
  /** The model the route names, when it exists. */
  readonly model: ModelHandle | undefined
  /** Set by an authentication plugin. */
  principal: Principal | undefined
  /** Set by an authorization plugin. */
  decision: AccessDecision | undefined
  /** Response status, headers and body; `body` is JSON-serialised unless it is bytes or a string. */
  status = 200
  readonly headers = new Headers()
  body: unknown = undefined
  /** Model outputs of this request, once the model ran. */
  outputs: Tensor[] | undefined
  /** Explanation produced by an explain plugin. */
  explanation: unknown
  /** Facts for the audit record (decision reasons, masked entity counts, …). */
  readonly audit: Record<string, unknown> = {}
  /** Plugin-private state; key by a symbol or the plugin's name. */
  readonly state = new Map<unknown, unknown>()

  private bytes: Promise<Uint8Array> | undefined
  private contentType: string | null
  private parsed: { value: unknown } | undefined
  private decoded: Promise<InferRequest> | undefined
  private readonly onBackendError: (error: unknown) => void

  /** @internal Created by the gate. */
  constructor(init: {
    request: Request
    url: URL
    route: Route
    operation: Operation
    requestId: string
    limits: Required<GateLimits>
    model: ModelHandle | undefined
    onBackendError: (error: unknown) => void
  }) {
    this.request = init.request
    this.url = init.url
    this.route = init.route
    this.operation = init.operation
    this.requestId = init.requestId
    this.limits = init.limits
    this.model = init.model
    this.receivedAt = Date.now()
    this.contentType = init.request.headers.get('content-type')
    this.onBackendError = init.onBackendError
  }

  /**
   * The raw request body, read once under `limits.maxBodyBytes` (413 past it). The first reader
   * may set a tighter limit (`maxBytes`), which then also stops the read early; later readers get
   * the same bytes.
   */
  bodyBytes(maxBytes = this.limits.maxBodyBytes): Promise<Uint8Array> {
    this.bytes ??= this.readBody(Math.min(maxBytes, this.limits.maxBodyBytes))
    return this.bytes
  }

  private async readBody(maxBytes: number): Promise<Uint8Array> {
    // Compressed bodies would otherwise be parsed as they are, and fail with a misleading 400.
    const encoding = this.request.headers.get('content-encoding')?.trim().toLowerCase()
    if (encoding && encoding !== 'identity') {
      await this.request.body?.cancel().catch(() => undefined)
      throw new GateError(
        'unsupported_content_encoding',
        415,
        'send the request body without Content-Encoding',
      )
    }
    return readBodyLimited(this.request, maxBytes)
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
   * model's feature schema (or, without one, rows of the model's first input).
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
      return decodeInferRequest(await this.json(), metadata, limits)
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
      return await model.infer(inputs, { signal: this.request.signal, ...options })
    } catch (error) {
      if (error instanceof GateError) throw error
      this.onBackendError(error)
      throw new BackendError()
    }
  }

  /** Serialises `body` to bytes (JSON unless already bytes or text), for signing or encryption. */
  responseBytes(): Uint8Array {
    if (this.body instanceof Uint8Array) return this.body
    if (typeof this.body === 'string') return encoder.encode(this.body)
    if (!this.headers.has('content-type')) this.headers.set('content-type', 'application/json')
    return encoder.encode(JSON.stringify(this.body ?? null))
  }

  /** @internal The final reply. */
  toReply(): GateReply {
    this.headers.set('x-request-id', this.requestId)
    if (this.body instanceof ReadableStream) {
      if (!this.headers.has('content-type'))
        this.headers.set('content-type', 'application/octet-stream')
      return { status: this.status, headers: this.headers, body: this.body }
    }
    const bytes = this.responseBytes()
    if (!this.headers.has('content-type'))
      this.headers.set('content-type', 'application/octet-stream')
    const empty = this.request.method === 'HEAD' || this.status === 204 || this.status === 304
    return { status: this.status, headers: this.headers, body: empty ? null : bytes }
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

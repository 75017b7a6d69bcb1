import {
  decodeInferRequest,
  encodeInferResponse,
  encodeModelMetadata,
  GateError,
  isPlainObject,
  parseJsonSafe,
  toJsonArray,
} from '@modelgate/core'
import type { ModelBackend, ModelMetadata, Tensor, TensorMetadata } from '@modelgate/core'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { RemoteProtocol } from '../types.js'
import { LINEAR_MODEL, linearCompute } from './linear.js'

/**
 * A failure the stand-in server plays instead of a normal answer:
 * an HTTP status (with a JSON error body), `'garbage'` (200 with a body that is not JSON),
 * `'reset'` (the socket is destroyed before any answer), `'truncate'` (headers and half a body,
 * then the socket is destroyed) or `'hang'` (no answer until the client gives up).
 *
 * @example
 * ```ts
 * standIn.failNext(503)
 * standIn.failNext('reset', { times: 2 })
 * ```
 */
export type StandInFault = number | 'garbage' | 'reset' | 'truncate' | 'hang'

/**
 * The model computation behind a stand-in server: decoded inputs in, outputs out. Throwing a
 * core `BadRequestError` answers 400; any other error answers 500.
 *
 * @example
 * ```ts
 * const double: StandInCompute = ([x]) => [{ ...x, name: 'y', data: x.data.map((v) => v * 2) }]
 * ```
 */
export type StandInCompute = (inputs: Tensor[]) => Tensor[] | Promise<Tensor[]>

/**
 * Options of {@link startStandInServer}.
 *
 * @example
 * ```ts
 * const options: StandInOptions = { protocol: 'tfserving', model: 'linear', delayMs: 20 }
 * ```
 */
export interface StandInOptions {
  protocol: RemoteProtocol
  /** Model name served. Default `linear`. */
  model?: string
  /** Model version served (and listed); also reachable without a version. */
  version?: string
  /** Default: {@link LINEAR_MODEL}'s metadata. */
  metadata?: ModelMetadata
  /** Default: {@link linearCompute}. */
  compute?: StandInCompute
  /**
   * Serve any modelgate backend instead (its metadata and its `infer`), for example an ONNX
   * model, so a gate over a remote backend can be checked against the same model served directly.
   */
  backend?: ModelBackend
  /** Delay before every inference answer. Default 0. */
  delayMs?: number
  /** Faults for the next inference calls, in order. */
  failNext?: StandInFault[]
  /** Port on 127.0.0.1. Default 0 (any free port). */
  port?: number
}

/**
 * Counters of a stand-in server since start (or the last `resetStats()`).
 *
 * @example
 * ```ts
 * expect(standIn.stats.infers).toBe(3)
 * expect(standIn.stats.connections).toBe(1)
 * ```
 */
export interface StandInStats {
  /** Every HTTP request received. */
  requests: number
  /** Inference requests (`infer` / `:predict`) received, faulted ones included. */
  infers: number
  /** TCP connections accepted. */
  connections: number
  /** Requests whose client went away before the answer was complete. */
  aborted: number
  /** Parsed body of the last inference request. */
  lastInferBody: unknown
}

/**
 * A running stand-in model server with knobs to misbehave.
 *
 * @example
 * ```ts
 * const standIn = await startStandInServer({ protocol: 'v2' })
 * standIn.failNext(500)
 * await standIn.down()
 * await standIn.up()
 * await standIn.close()
 * ```
 */
export interface StandInServer {
  /** `http://127.0.0.1:{port}`. */
  readonly url: string
  readonly port: number
  readonly stats: StandInStats
  /** Delay before every inference answer; may be changed at any time. */
  delayMs: number
  /** Plays `fault` for the next `times` inference requests (or any requests, with `routes: 'all'`). */
  failNext(fault: StandInFault, options?: { times?: number; routes?: 'infer' | 'all' }): void
  /** Stops listening and drops every connection, like a crashed server. */
  down(): Promise<void>
  /** Listens again on the same port. */
  up(): Promise<void>
  resetStats(): void
  close(): Promise<void>
}

/** A request answered with an explicit status. */
class Reply extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Starts a small HTTP server on 127.0.0.1 that speaks a real model-server protocol over a real
 * computation: the OIP V2 routes (health, metadata, ready, infer with full request validation),
 * KServe V1 (status, `:predict`) or TF Serving REST (model status, signature metadata,
 * `:predict` in row and columnar form). For tests, here and in other packages; Node only.
 *
 * @example
 * ```ts
 * import { createRemoteBackend } from '@modelgate/backend-remote'
 * import { startStandInServer } from '@modelgate/backend-remote/testing'
 *
 * const standIn = await startStandInServer({ protocol: 'v2' })
 * const backend = createRemoteBackend({ url: standIn.url, protocol: 'v2', model: 'linear' })
 * // …
 * await standIn.close()
 * ```
 */
export async function startStandInServer(options: StandInOptions): Promise<StandInServer> {
  const http = await import('node:http')
  const model = options.model ?? 'linear'
  const version = options.version
  if (options.backend && (options.metadata || options.compute)) {
    throw new TypeError('give either backend or metadata and compute')
  }
  const backend = options.backend
  await backend?.load?.()
  const metadata = backend ? await backend.metadata() : (options.metadata ?? LINEAR_MODEL.metadata)
  const compute: StandInCompute = backend
    ? (inputs) => backend.infer(inputs)
    : (options.compute ?? linearCompute)
  const inferFaults: StandInFault[] = [...(options.failNext ?? [])]
  const anyFaults: StandInFault[] = []
  const fresh = (): StandInStats => ({
    requests: 0,
    infers: 0,
    connections: 0,
    aborted: 0,
    lastInferBody: undefined,
  })
  let stats = fresh()
  let port = options.port ?? 0
  let server: Server | undefined
  const state = { delayMs: options.delayMs ?? 0 }
  const routes = routesFor(options.protocol, model, version)

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++
    const url = new URL(req.url ?? '/', 'http://stand-in')
    const route = routes(req.method ?? 'GET', url.pathname)
    const fault = anyFaults.shift() ?? (route.infer ? inferFaults.shift() : undefined)
    if (route.infer) stats.infers++
    let deliberate = false
    res.on('close', () => {
      if (!res.writableFinished && !deliberate) stats.aborted++
    })
    if (fault === 'reset') {
      deliberate = true
      req.socket.destroy()
      return
    }
    readBody(req)
      .then(async (bytes) => {
        if (route.infer && bytes.byteLength > 0) stats.lastInferBody = safeJson(bytes)
        if (route.infer && state.delayMs > 0) await sleep(state.delayMs)
        if (res.destroyed) return
        if (fault === 'hang') return
        if (fault === 'truncate') {
          deliberate = true
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' })
          res.write('{"outputs": [{"name": "y", "datatype": "FP32", "shape": [1, 2], "data": [0.')
          setTimeout(() => req.socket.destroy(), 5)
          return
        }
        if (fault === 'garbage') return send(res, 200, '<html>upstream proxy error</html>')
        if (typeof fault === 'number')
          return send(res, fault, JSON.stringify({ error: 'injected failure' }))
        const body = await route.handle(bytes)
        send(res, 200, JSON.stringify(body))
      })
      .catch((error: unknown) => {
        if (res.destroyed) return
        const known = error instanceof Reply || (error instanceof GateError && error.status < 500)
        const status = known ? (error as Reply | GateError).status : 500
        send(
          res,
          status,
          JSON.stringify({ error: known ? (error as Error).message : 'internal error' }),
        )
      })
  }

  function routesFor(protocol: RemoteProtocol, name: string, ver: string | undefined) {
    return (
      method: string,
      path: string,
    ): { infer: boolean; handle: (bytes: Uint8Array) => Promise<unknown> } => {
      const notFound = {
        infer: false,
        handle: async () => Promise.reject(new Reply(404, 'not found')),
      }
      const match = matchModelPath(path, protocol)
      if (!match) {
        if (protocol === 'v2' && method === 'GET') {
          if (path === '/v2/health/live')
            return { infer: false, handle: async () => ({ live: true }) }
          if (path === '/v2/health/ready')
            return { infer: false, handle: async () => ({ ready: true }) }
          if (path === '/v2')
            return {
              infer: false,
              handle: async () => ({ name: 'stand-in', version: '1', extensions: [] }),
            }
        }
        return notFound
      }
      if (match.model !== name || (match.version !== undefined && match.version !== ver)) {
        return {
          infer: false,
          handle: async () =>
            Promise.reject(new Reply(404, `model "${match.model}" is not served`)),
        }
      }
      const expect = (m: string) => {
        if (method !== m) throw new Reply(405, 'method not allowed')
      }
      const action = match.action
      if (protocol === 'v2') {
        if (action === '') {
          return {
            infer: false,
            handle: async () => (
              expect('GET'),
              encodeModelMetadata(name, ver ? [ver] : [], metadata)
            ),
          }
        }
        if (action === '/ready')
          return { infer: false, handle: async () => (expect('GET'), { name, ready: true }) }
        if (action === '/infer')
          return { infer: true, handle: async (b) => (expect('POST'), v2Infer(b)) }
        return notFound
      }
      if (action === '') {
        return {
          infer: false,
          handle: async () => {
            expect('GET')
            if (protocol === 'v1') return { name, ready: true }
            return {
              model_version_status: [
                {
                  version: ver ?? '1',
                  state: 'AVAILABLE',
                  status: { error_code: 'OK', error_message: '' },
                },
              ],
            }
          },
        }
      }
      if (action === '/metadata' && protocol === 'tfserving') {
        return { infer: false, handle: async () => (expect('GET'), tfMetadata(name, ver)) }
      }
      if (action === ':predict') {
        return {
          infer: true,
          handle: async (b) => (expect('POST'), protocol === 'v1' ? v1Predict(b) : tfPredict(b)),
        }
      }
      return notFound
    }
  }

  async function v2Infer(bytes: Uint8Array): Promise<unknown> {
    const request = decodeInferRequest(parseJsonSafe(bytes, { maxDepth: 64 }), metadata)
    const outputs = await compute(request.inputs)
    return encodeInferResponse({
      modelName: model,
      ...(version !== undefined ? { modelVersion: version } : {}),
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs,
      ...(request.outputs ? { requested: request.outputs } : {}),
    })
  }

  async function v1Predict(bytes: Uint8Array): Promise<unknown> {
    const body = parseJsonSafe(bytes, { maxDepth: 64 })
    if (!isPlainObject(body) || !Array.isArray(body.instances) || body.instances.length === 0) {
      throw new Reply(400, 'body must be an object with a non-empty "instances" array')
    }
    const input = metadata.inputs[0]!
    const [output] = await compute(
      decodeNamed({ [input.name]: body.instances }, metadata.inputs.slice(0, 1)),
    )
    return { predictions: rows(output!, true) }
  }

  async function tfPredict(bytes: Uint8Array): Promise<unknown> {
    const body = parseJsonSafe(bytes, { maxDepth: 64 })
    if (!isPlainObject(body)) throw new Reply(400, 'JSON object expected')
    if (body.signature_name !== undefined && body.signature_name !== 'serving_default') {
      throw new Reply(
        400,
        `Serving signature name: "${String(body.signature_name)}" not found in signature def`,
      )
    }
    const single = metadata.inputs.length === 1 ? metadata.inputs[0]! : undefined
    if (Array.isArray(body.instances)) {
      const instances = body.instances
      const columns: Record<string, unknown[]> = {}
      if (single && !instances.every(isPlainObject)) {
        columns[single.name] = instances
      } else {
        for (const meta of metadata.inputs) {
          columns[meta.name] = instances.map((row) => {
            if (!isPlainObject(row) || !(meta.name in row))
              throw new Reply(400, `instances need the input "${meta.name}"`)
            return row[meta.name]
          })
        }
      }
      const outputs = await compute(decodeNamed(columns, metadata.inputs))
      if (outputs.length === 1) return { predictions: rows(outputs[0]!, false) }
      const n = outputs[0]!.shape[0]!
      const byOutput = outputs.map((t) => [t.name, rows(t, false)] as const)
      return {
        predictions: Array.from({ length: n }, (_, r) =>
          Object.fromEntries(byOutput.map(([k, v]) => [k, v[r]])),
        ),
      }
    }
    if (body.inputs !== undefined) {
      const named =
        single && !isPlainObject(body.inputs) ? { [single.name]: body.inputs } : body.inputs
      if (!isPlainObject(named)) throw new Reply(400, '"inputs" must be an object')
      const outputs = await compute(decodeNamed(named, metadata.inputs))
      if (outputs.length === 1) return { outputs: rows(outputs[0]!, false) }
      return { outputs: Object.fromEntries(outputs.map((t) => [t.name, rows(t, false)])) }
    }
    throw new Reply(400, "Missing 'inputs' or 'instances' key")
  }

  function tfMetadata(name: string, ver: string | undefined): unknown {
    const tf = (list: TensorMetadata[]) =>
      Object.fromEntries(
        list.map((t) => [
          t.name,
          {
            dtype: TF_DTYPES[t.datatype],
            tensor_shape: {
              dim: t.shape.map((d) => ({ size: String(d), name: '' })),
              unknown_rank: false,
            },
            name: `${t.name}:0`,
          },
        ]),
      )
    return {
      model_spec: { name, signature_name: '', version: ver ?? '1' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: tf(metadata.inputs),
              outputs: tf(metadata.outputs),
              method_name: 'tensorflow/serving/predict',
            },
          },
        },
      },
    }
  }

  async function listen(): Promise<void> {
    const s = http.createServer(handler)
    s.on('connection', (_socket: Socket) => {
      stats.connections++
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    port = (s.address() as { port: number }).port
    server = s
  }

  async function stop(): Promise<void> {
    const s = server
    if (!s) return
    server = undefined
    await new Promise<void>((resolve) => {
      s.close(() => resolve())
      s.closeAllConnections()
    })
  }

  await listen()
  return {
    get url() {
      return `http://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    get stats() {
      return stats
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(ms: number) {
      state.delayMs = ms
    },
    failNext(fault, opts = {}) {
      const queue = opts.routes === 'all' ? anyFaults : inferFaults
      for (let i = 0; i < (opts.times ?? 1); i++) queue.push(fault)
    },
    down: stop,
    async up() {
      if (!server) await listen()
    },
    resetStats() {
      stats = fresh()
    },
    close: stop,
  }
}

const TF_DTYPES: Record<string, string> = {
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  FP16: 'DT_HALF',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  BOOL: 'DT_BOOL',
  BYTES: 'DT_STRING',
}

const MODEL_PATH =
  /^\/(v1|v2)\/models\/([^/:]+)(?:\/versions\/([^/:]+))?(\/ready|\/infer|\/metadata|:predict)?$/

function matchModelPath(path: string, protocol: RemoteProtocol) {
  const m = MODEL_PATH.exec(path)
  if (!m || m[1] !== (protocol === 'v2' ? 'v2' : 'v1')) return undefined
  try {
    return {
      model: decodeURIComponent(m[2]!),
      version: m[3] === undefined ? undefined : decodeURIComponent(m[3]),
      action: m[4] ?? '',
    }
  } catch {
    return undefined
  }
}

/** Validates named nested values against the model inputs with the OIP codec. */
function decodeNamed(values: Record<string, unknown>, inputs: TensorMetadata[]): Tensor[] {
  const body = {
    inputs: Object.entries(values).map(([name, data]) => ({
      name,
      datatype: inputs.find((i) => i.name === name)?.datatype ?? 'FP32',
      shape: nestedShape(data),
      data: Array.isArray(data) ? data : [data],
    })),
  }
  return decodeInferRequest(body, { platform: '', inputs, outputs: [] }).inputs
}

function nestedShape(value: unknown): number[] {
  const shape: number[] = []
  let level = value
  while (Array.isArray(level) && shape.length <= 32) {
    shape.push(level.length)
    level = level[0]
  }
  return shape.length === 0 ? [1] : shape
}

/** Rows of an output as JSON; `squeeze` turns one-value rows into scalars, as sklearn servers do. */
function rows(t: Tensor, squeeze: boolean): unknown[] {
  const flat = toJsonArray(t.datatype, t.data)
  const n = t.shape[0] ?? 1
  const inner = t.shape.slice(1)
  const width = inner.reduce((a, b) => a * b, 1)
  const out: unknown[] = []
  for (let r = 0; r < n; r++) {
    const row = flat.slice(r * width, (r + 1) * width)
    if (inner.length === 0 || (squeeze && width === 1)) out.push(row[0])
    else out.push(nestRow(row, inner))
  }
  return out
}

function nestRow(flat: unknown[], shape: number[]): unknown[] {
  if (shape.length <= 1) return flat
  const step = flat.length / shape[0]!
  return Array.from({ length: shape[0]! }, (_, i) =>
    nestRow(flat.slice(i * step, (i + 1) * step), shape.slice(1)),
  )
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    req.on('data', (chunk: Buffer) => {
      total += chunk.byteLength
      if (total > 16 * 1024 * 1024) {
        reject(new Reply(413, 'body too large'))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))))
    req.on('error', reject)
  })
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

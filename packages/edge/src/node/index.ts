import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  BadRequestError,
  errorReply,
  GateError,
  PayloadTooLargeError,
  takePushSource,
  type BodySource,
  type GateReply,
  type IncomingRequest,
  type PushControl,
  type PushSource,
} from '@modelgate/core'
import type { FetchHandler } from '../types.js'
import type { NodeRequestOptions, NodeServer, ServeNodeOptions } from './types.js'

export type { NodeRequestOptions, NodeServer, ServeNodeOptions } from './types.js'

/**
 * A `node:http` request listener serving a fetch handler: the request becomes a Web `Request`
 * (headers as sent, `signal` aborted when the client goes away) and the answer is written back
 * with every header (repeated `set-cookie` included). A gate (anything with `handle()`) gets the
 * fast path: the body is read straight from the socket under the gate's limit and the reply's
 * bytes are written without Web streams. Other fetch handlers get a streamed `request.body` and
 * their streamed `Response`. A body the handler never read is drained for keep-alive, or the
 * connection is closed when the answer says `connection: close` (as the gate's 413 does), so a
 * refused upload is not buffered.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { toFetchModule } from '@modelgate/edge'
 * import { nodeListener } from '@modelgate/edge/node'
 *
 * createServer(nodeListener(toFetchModule(gate))).listen(8080)
 * ```
 */
export function nodeListener(handler: FetchHandler): RequestListener {
  if (!handler || typeof handler.fetch !== 'function') {
    throw new TypeError('nodeListener needs an object with a fetch(request) method')
  }
  return (req, res) => {
    void serve(handler, req, res)
  }
}

async function serve(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (typeof handler.handle === 'function') {
    let reply: GateReply
    try {
      reply = await handler.handle(toIncomingRequest(req, res))
    } catch (error) {
      reply = errorReply(error)
    }
    await writeNodeReply(reply, req, res)
    return
  }
  let reply: GateReply
  try {
    const response = await handler.fetch(toNodeRequest(req, res))
    reply = { status: response.status, headers: response.headers, body: response.body }
  } catch (error) {
    reply = errorReply(error)
  }
  await writeNodeReply(reply, req, res)
}

/**
 * Builds the request a gate reads without Web streams: method and URL from the request line,
 * headers and `signal` made when first read, the body read straight from the socket (or taken
 * from `body` when a body parser already consumed it) under the gate's limit. A request the gate
 * must refuse before routing (dot segments or backslashes in the path, an invalid Host) carries
 * that `refusal`, so the gate still answers it through its observers (audit). For Node adapters;
 * the gate gives plugins a real `Request` built from it when one reads `ctx.request`.
 *
 * @example
 * ```ts
 * const reply = await gate.handle(toIncomingRequest(req, res))
 * await writeNodeReply(reply, req, res)
 * ```
 */
export function toIncomingRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: Omit<NodeRequestOptions, 'streamBody'> & { extras?: Record<symbol, unknown> } = {},
): IncomingRequest {
  const state = nodeState(req, res, options)
  let refusal: GateError | undefined
  let url: string
  try {
    url = urlOf(req, options.path ?? req.url ?? '/')
  } catch (error) {
    refusal = error as GateError
    url = 'http://invalid/'
  }
  const hasBody = state.method !== 'GET' && state.method !== 'HEAD'
  const bytes = options.body
  return {
    method: state.method,
    url,
    get headers() {
      return headersOf(state)
    },
    get signal() {
      return signalOf(state)
    },
    ...(hasBody
      ? {
          body: bytes
            ? { declaredLength: bytes.byteLength, read: bytesReader(bytes) }
            : nodeBodySource(req),
        }
      : {}),
    ...(refusal ? { refusal } : {}),
    ...(options.extras ? { extras: options.extras } : {}),
  }
}

/**
 * Builds a Web `Request` for a Node request, its body streamed from the socket (or `body`, when a
 * body parser already read it), for fetch handlers other than a gate. Throws a 400 `GateError`
 * for paths with dot segments or backslashes and for an invalid Host.
 *
 * @example
 * ```ts
 * const response = await app.fetch(toNodeRequest(req, res))
 * ```
 */
export function toNodeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeRequestOptions = {},
): Request {
  const state = nodeState(req, res, options)
  const url = urlOf(req, options.path ?? req.url ?? '/')
  // A Web Request cannot carry TRACE (nor CONNECT, which node:http never hands to a listener).
  if (state.method === 'TRACE' || state.method === 'CONNECT') {
    throw new GateError('method_not_allowed', 405, 'method not allowed')
  }
  const init: RequestInit & { duplex?: 'half' } = {
    method: state.method,
    headers: headersOf(state),
    signal: signalOf(state),
  }
  if (state.method !== 'GET' && state.method !== 'HEAD') {
    init.body = state.body ? (state.body as Uint8Array<ArrayBuffer>) : bodyStream(req)
    init.duplex = 'half'
  }
  return new Request(url, init)
}

interface NodeState {
  req: IncomingMessage
  method: string
  body: Uint8Array | undefined
  headers: Headers | undefined
  abort: AbortController | undefined
  closed: boolean
}

function nodeState(
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeRequestOptions,
): NodeState {
  const state: NodeState = {
    req,
    method: req.method ?? 'GET',
    body: options.body,
    headers: undefined,
    abort: undefined,
    closed: false,
  }
  res.once('close', () => {
    if (res.writableFinished) return
    state.closed = true
    state.abort?.abort()
  })
  return state
}

function headersOf(state: NodeState): Headers {
  if (state.headers) return state.headers
  const headers = new Headers()
  const raw = state.req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!)
  }
  if (state.body && state.method !== 'GET' && state.method !== 'HEAD') {
    headers.delete('transfer-encoding')
    headers.delete('content-encoding')
    headers.set('content-length', String(state.body.byteLength))
  }
  state.headers = headers
  return headers
}

function signalOf(state: NodeState): AbortSignal {
  if (!state.abort) {
    state.abort = new AbortController()
    if (state.closed) state.abort.abort()
  }
  return state.abort.signal
}

function bytesReader(bytes: Uint8Array): BodySource['read'] {
  return async (maxBytes) => {
    if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes)
    return bytes
  }
}

/** Reads a Node request body into one buffer, refusing it as soon as it passes the limit. */
function nodeBodySource(req: IncomingMessage): BodySource {
  const declared = Number(req.headers['content-length'])
  const source: BodySource = {
    read(maxBytes) {
      if (req.readableEnded) return Promise.resolve(new Uint8Array(0))
      return new Promise<Uint8Array>((resolve, reject) => {
        const chunks: Buffer[] = []
        let total = 0
        const detach = (): void => {
          req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
        }
        const onData = (chunk: Buffer): void => {
          total += chunk.byteLength
          if (total > maxBytes) {
            detach()
            req.pause()
            reject(new PayloadTooLargeError(maxBytes))
            return
          }
          chunks.push(chunk)
        }
        const onEnd = (): void => {
          detach()
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
          resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength))
        }
        const onError = (): void => {
          detach()
          reject(new BadRequestError('request body could not be read', 'body_unreadable'))
        }
        const onClose = (): void => {
          if (!req.complete) onError()
        }
        req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
      })
    },
  }
  if (Number.isFinite(declared)) source.declaredLength = declared
  return source
}

const HOST = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/
const AMBIGUOUS_PATH = /[\\#]|(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i

/**
 * The request's URL, with the path exactly as the request line gives it. A Host header that is
 * not a plain host[:port] (it could carry `/`, `?` or `#` and so rewrite the path) and paths that
 * URL parsing would rewrite (dot segments, backslashes) are refused: what routed the request in
 * front of the gate (a proxy, Express) must see the same path as the gate's plugins.
 */
function urlOf(req: IncomingMessage, path: string): string {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  const query = path.indexOf('?')
  if (AMBIGUOUS_PATH.test(query < 0 ? path : path.slice(0, query))) {
    throw new BadRequestError('request path must not hold dot segments or backslashes', 'bad_path')
  }
  if (!path.startsWith('/')) {
    try {
      const absolute = new URL(path)
      path = absolute.pathname + absolute.search
    } catch {
      path = `/${path}`
    }
  }
  const host = req.headers.host ?? 'localhost'
  if (!HOST.test(host)) throw new BadRequestError('invalid Host header', 'bad_host')
  try {
    return new URL(`${scheme}://${host}${path}`).href
  } catch {
    throw new BadRequestError('invalid request target', 'bad_path')
  }
}

function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let started = false
  let detach = (): void => undefined
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!started) {
          started = true
          const onData = (chunk: Buffer): void => {
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
            if ((controller.desiredSize ?? 0) <= 0) req.pause()
          }
          const onEnd = (): void => {
            detach()
            controller.close()
          }
          const onError = (error: unknown): void => {
            detach()
            controller.error(error)
          }
          const onClose = (): void => onError(new Error('client closed the request body'))
          detach = () => {
            req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
          }
          req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
        }
        req.resume()
      },
      cancel() {
        detach()
        req.pause()
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Writes a gate reply (or a Response's status, headers and body) to a Node response: every header
 * (repeated `set-cookie` included), then the bytes in one write or the stream with backpressure.
 * Never throws: a failure before the headers went out becomes a JSON 500, after that the
 * connection is dropped. For Node adapters.
 *
 * @example
 * ```ts
 * await writeNodeReply(await gate.handle(request), req, res)
 * ```
 */
export async function writeNodeReply(
  reply: GateReply,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await writeReply(reply, req, res)
  } catch {
    // A streamed body that never went out is cancelled, so what feeds it (an upstream) lets go.
    if (reply.body instanceof ReadableStream) reply.body.cancel().catch(() => undefined)
    if (res.headersSent) {
      res.destroy()
      return
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    await writeReply(errorReply(new Error('bridge failure')), req, res).catch(() => res.destroy())
  }
}

async function writeReply(
  reply: GateReply,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  res.statusCode = reply.status
  for (const [name, value] of reply.headers) if (name !== 'set-cookie') res.setHeader(name, value)
  const cookies = reply.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (!req.complete) {
    if (reply.headers.get('connection')?.toLowerCase() === 'close') lingerBeforeClose(req)
    else res.once('finish', () => req.destroyed || req.resume())
  }
  const body = reply.body
  if (!body || body instanceof Uint8Array) {
    res.end(body ?? undefined)
    return
  }
  const source = takePushSource(body)
  if (source) {
    await writePushed(source, res)
    return
  }
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (res.destroyed) {
        await reader.cancel()
        return
      }
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve)
          res.once('close', resolve)
        })
      }
    }
    res.end()
  } finally {
    reader.releaseLock()
  }
}

/**
 * Writes a pushed body as its chunks come, pausing it while the socket's buffer is full and
 * cancelling it when the client goes away first. Rejects when the body fails (or its source
 * throws), so the caller answers 500 when no byte went out yet and drops the connection after.
 */
function writePushed(source: PushSource, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false
    let control: PushControl | undefined
    const finish = (failure?: { error: unknown }) => {
      if (done) return
      done = true
      res.off('drain', onDrain).off('close', onClose)
      if (failure) reject(failure.error)
      else resolve()
    }
    const cancel = (reason: unknown) => {
      try {
        Promise.resolve(control?.cancel(reason)).catch(() => undefined)
      } catch {
        // the source let go of what it could
      }
    }
    const onDrain = () => {
      try {
        control?.resume()
      } catch (error) {
        finish({ error })
        cancel(error)
      }
    }
    const onClose = () => {
      if (done) return
      finish()
      cancel(new Error('the client closed the connection'))
    }
    try {
      control = source({
        write: (chunk) => !res.destroyed && res.write(chunk),
        close() {
          if (done) return
          finish()
          res.end()
        },
        error(error) {
          finish({ error })
        },
      })
    } catch (error) {
      finish({ error })
      return
    }
    if (done) return
    res.on('drain', onDrain).once('close', onClose)
    if (res.destroyed) onClose()
  })
}

/**
 * Serves a fetch handler over `node:http` and resolves once it listens. `close()` is graceful:
 * it stops accepting, closes idle keep-alive connections, waits for requests in flight (up to
 * `closeTimeoutMs`) and then cuts whatever is left.
 *
 * @example
 * ```ts
 * import { toFetchModule } from '@modelgate/edge'
 * import { serveNode } from '@modelgate/edge/node'
 *
 * const server = await serveNode(toFetchModule(gate), { port: 8080, host: '0.0.0.0' })
 * process.on('SIGTERM', () => server.close())
 * ```
 */
export function serveNode(
  handler: FetchHandler,
  options: ServeNodeOptions = {},
): Promise<NodeServer> {
  return serveListener(nodeListener(handler), options)
}

/**
 * {@link serveNode} for any `node:http` request listener (an Express app, say), with the same
 * graceful `close()`.
 *
 * @example
 * ```ts
 * import { serveListener } from '@modelgate/edge/node'
 * import { createExpressApp } from '@modelgate/express'
 *
 * const server = await serveListener(createExpressApp(gate), { port: 8080 })
 * ```
 */
export async function serveListener(
  listener: RequestListener,
  options: ServeNodeOptions = {},
): Promise<NodeServer> {
  const port = options.port ?? 8080
  const host = options.host ?? '127.0.0.1'
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  if (typeof listener !== 'function') throw new TypeError('serveListener needs a request listener')
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError('port must be an integer 0-65535')
  if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0)
    throw new TypeError('closeTimeoutMs must be >= 0')
  const requestTimeout = options.requestTimeoutMs ?? 30_000
  if (!Number.isInteger(requestTimeout) || requestTimeout < 100)
    throw new TypeError('requestTimeoutMs must be an integer >= 100')
  const { createServer } = await import('node:http')
  const inFlight = new Set<ServerResponse>()
  let closing: Promise<void> | undefined
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      // How often Node looks for requests past their time.
      connectionsCheckingInterval: Math.min(1000, Math.floor(requestTimeout / 2)),
    },
    (req, res) => {
      inFlight.add(res)
      res.once('close', () => inFlight.delete(res))
      if (closing) res.setHeader('connection', 'close')
      listener(req, res)
    },
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), closeTimeoutMs)
        timer.unref()
        server.close(() => {
          clearTimeout(timer)
          resolve()
        })
        server.closeIdleConnections()
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close')
      })
      return closing
    },
  }
}

const LINGER_MS = 2000

/**
 * Node closes a `connection: close` socket as soon as the response is out; with request bytes
 * still arriving, that close is a TCP reset which can destroy the response before the client
 * reads it. Instead, half-close, discard what still arrives (nothing is buffered) and close once
 * the client does, or after LINGER_MS.
 */
function lingerBeforeClose(req: IncomingMessage): void {
  const socket = req.socket as Socket
  socket.destroySoon = function destroySoonLingering(this: Socket): void {
    if (this.writable) this.end()
    req.resume()
    const timer = setTimeout(() => this.destroy(), LINGER_MS)
    timer.unref()
    this.once('close', () => clearTimeout(timer))
  }
}

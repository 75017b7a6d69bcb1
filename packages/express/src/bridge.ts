import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { attachPeerCertificate } from './peer.js'

const encoder = new TextEncoder()

/** What the body parsers of Express leave on a request. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown
  _body?: boolean
}

/**
 * Builds the Web Request for an Express request: `path` is used as given (relative to the mount
 * point), headers are copied as sent, the body is streamed on demand, or rebuilt from `req.body`
 * when a body parser already consumed the stream.
 */
export function toWebRequest(req: ParsedRequest, res: ServerResponse, path: string): Request {
  const abort = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!)
  }
  const method = req.method ?? 'GET'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: abort.signal }
  if (method !== 'GET' && method !== 'HEAD') {
    if (req._body === true || req.readableEnded) {
      const bytes = rebuiltBody(req.body, headers)
      headers.delete('transfer-encoding')
      headers.delete('content-encoding')
      headers.set('content-length', String(bytes.byteLength))
      init.body = bytes as Uint8Array<ArrayBuffer>
    } else {
      init.body = bodyStream(req)
      init.duplex = 'half'
    }
  }
  const request = new Request(urlOf(req, path), init)
  const socket = req.socket as TLSSocket
  if (socket.encrypted && socket.authorized) {
    const certificate = socket.getPeerCertificate(true)
    if (certificate && Object.keys(certificate).length > 0)
      attachPeerCertificate(request, certificate)
  }
  return request
}

function rebuiltBody(body: unknown, headers: Headers): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0)
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return encoder.encode(body)
  const type = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !type.endsWith('+json'))
    headers.set('content-type', 'application/json')
  return encoder.encode(JSON.stringify(body))
}

function urlOf(req: IncomingMessage, path: string): string {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  if (!path.startsWith('/')) {
    try {
      const absolute = new URL(path)
      path = absolute.pathname + absolute.search
    } catch {
      path = `/${path}`
    }
  }
  try {
    return new URL(`${scheme}://${req.headers.host ?? 'localhost'}${path}`).href
  } catch {
    return new URL(`${scheme}://localhost${path}`).href
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
 * Writes a Web Response to a Node response: status, every header (repeated `set-cookie`
 * included), the body streamed with backpressure. A request body nobody read is drained for
 * keep-alive, or its connection closed when the response says `connection: close`.
 */
export async function writeWebResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  res.statusCode = response.status
  for (const [name, value] of response.headers)
    if (name !== 'set-cookie') res.setHeader(name, value)
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (!req.complete) {
    if (response.headers.get('connection')?.toLowerCase() === 'close') lingerBeforeClose(req)
    else res.once('finish', () => req.destroyed || req.resume())
  }
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
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

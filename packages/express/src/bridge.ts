import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { BadRequestError } from '@modelgate/core'
import { toNodeRequest } from '@modelgate/edge'
import { attachPeerCertificate } from './peer.js'

const encoder = new TextEncoder()

/** What the body parsers of Express leave on a request. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown
  _body?: boolean
}

/**
 * Builds the Web Request for an Express request: `path` is used as given (relative to the mount
 * point), headers are copied as sent, the body is read from the socket by the gate, or rebuilt
 * from `req.body` when a body parser already consumed the stream. A verified TLS client
 * certificate is attached for `peerCertificateOf()`.
 */
export function toWebRequest(req: ParsedRequest, res: ServerResponse, path: string): Request {
  const parsed = req._body === true || req.readableEnded
  const request = toNodeRequest(req, res, {
    path,
    ...(parsed ? { body: rebuiltBody(req) } : {}),
  })
  const socket = req.socket as TLSSocket
  if (socket.encrypted && socket.authorized) {
    const certificate = socket.getPeerCertificate(true)
    if (certificate && Object.keys(certificate).length > 0)
      attachPeerCertificate(request, certificate)
  }
  return request
}

function rebuiltBody(req: ParsedRequest): Uint8Array {
  const body = req.body
  if (body === undefined || body === null) return new Uint8Array(0)
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return encoder.encode(body)
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !type.endsWith('+json')) {
    req.headers['content-type'] = 'application/json'
    replaceRawHeader(req, 'content-type', 'application/json')
  }
  let text: string
  try {
    text = JSON.stringify(body)
  } catch {
    // A parser without a depth limit accepts what JSON.stringify cannot walk back (RangeError).
    throw new BadRequestError('request body nests too deeply', 'json_too_deep')
  }
  return encoder.encode(text)
}

function replaceRawHeader(req: IncomingMessage, name: string, value: string): void {
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) raw[i + 1] = value
  if (!raw.some((h, i) => i % 2 === 0 && h.toLowerCase() === name)) raw.push(name, value)
}

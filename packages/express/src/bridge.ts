import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { BadRequestError, type IncomingRequest } from '@modelgate/core'
import { toIncomingRequest, toNodeRequest } from '@modelgate/edge/node'
import { PEER_CERTIFICATE } from './peer.js'

const encoder = new TextEncoder()

/** What the body parsers of Express leave on a request. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown
  _body?: boolean
}

/**
 * Builds the gate's request for an Express request: `path` is used as given (relative to the
 * mount point), headers are copied as sent, the body is read from the socket by the gate, or
 * rebuilt from `req.body` when a body parser already consumed the stream. A verified TLS client
 * certificate travels with it, for `peerCertificateOf(ctx.request)`.
 */
export function toGateRequest(
  req: ParsedRequest,
  res: ServerResponse,
  path: string,
): IncomingRequest {
  const parsed = req._body === true || req.readableEnded
  const socket = req.socket as TLSSocket
  let extras: Record<symbol, unknown> | undefined
  if (socket.encrypted && socket.authorized) {
    const certificate = socket.getPeerCertificate(true)
    if (certificate && Object.keys(certificate).length > 0)
      extras = { [PEER_CERTIFICATE]: certificate }
  }
  return toIncomingRequest(req, res, {
    path,
    ...(parsed ? { body: rebuiltBody(req) } : {}),
    ...(extras ? { extras } : {}),
  })
}

/** A Web Request for an Express request, for fetch handlers other than a gate. */
export function toFetchRequest(req: ParsedRequest, res: ServerResponse, path: string): Request {
  const parsed = req._body === true || req.readableEnded
  return toNodeRequest(req, res, { path, ...(parsed ? { body: rebuiltBody(req) } : {}) })
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

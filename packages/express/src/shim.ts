import { STATUS_CODES } from 'node:http'
import type { Response as ExpressResponse } from 'express'
import type { GateContext } from '@modelgate/core'

const encoder = new TextEncoder()

const SHORT_TYPES: Record<string, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  xml: 'application/xml',
  csv: 'text/csv; charset=utf-8',
  bin: 'application/octet-stream',
  octet: 'application/octet-stream',
}

type HeaderValue = string | number | readonly string[]

/**
 * A stand-in for Express's `res` that records status, headers and body into the gate context
 * instead of writing to the socket, so the gate's outer plugins can still act on the response.
 */
export function responseShim(
  ctx: GateContext,
  real: ExpressResponse,
  done: () => void,
): ExpressResponse {
  const chunks: Uint8Array[] = []
  let finished = false

  const finish = (body: unknown): void => {
    if (finished) throw new Error('the response was already sent')
    finished = true
    ctx.body = body
    done()
  }
  const setHeader = (name: string, value: HeaderValue): void => {
    const key = name.toLowerCase()
    if (Array.isArray(value)) {
      ctx.headers.delete(key)
      for (const v of value) ctx.headers.append(key, String(v))
    } else {
      ctx.headers.set(key, String(value))
    }
  }
  const defaultType = (type: string): void => {
    if (!ctx.headers.has('content-type')) ctx.headers.set('content-type', type)
  }

  const shim = {
    get statusCode() {
      return ctx.status
    },
    set statusCode(code: number) {
      ctx.status = code
    },
    get headersSent() {
      return finished
    },
    get finished() {
      return finished
    },
    get writableEnded() {
      return finished
    },
    locals: real.locals,
    app: real.app,
    req: real.req,
    status(code: number) {
      if (!Number.isInteger(code) || code < 100 || code > 999)
        throw new RangeError(`invalid status code ${code}`)
      ctx.status = code
      return shim
    },
    set(field: string | Record<string, HeaderValue>, value?: HeaderValue) {
      if (typeof field === 'object') for (const [k, v] of Object.entries(field)) setHeader(k, v)
      else setHeader(field, value ?? '')
      return shim
    },
    header(field: string | Record<string, HeaderValue>, value?: HeaderValue) {
      return shim.set(field, value)
    },
    setHeader(name: string, value: HeaderValue) {
      setHeader(name, value)
      return shim
    },
    append(name: string, value: HeaderValue) {
      for (const v of Array.isArray(value) ? value : [value]) ctx.headers.append(name, String(v))
      return shim
    },
    get(name: string) {
      return name.toLowerCase() === 'set-cookie'
        ? ctx.headers.getSetCookie()
        : (ctx.headers.get(name) ?? undefined)
    },
    getHeader(name: string) {
      return shim.get(name)
    },
    hasHeader(name: string) {
      return ctx.headers.has(name)
    },
    removeHeader(name: string) {
      ctx.headers.delete(name)
    },
    type(type: string) {
      ctx.headers.set(
        'content-type',
        type.includes('/')
          ? type
          : (SHORT_TYPES[type.replace(/^\./, '')] ?? 'application/octet-stream'),
      )
      return shim
    },
    location(url: string) {
      ctx.headers.set('location', url)
      return shim
    },
    redirect(statusOrUrl: number | string, maybeUrl?: string) {
      const status = typeof statusOrUrl === 'number' ? statusOrUrl : 302
      const url = typeof statusOrUrl === 'string' ? statusOrUrl : (maybeUrl ?? '/')
      ctx.status = status
      ctx.headers.set('location', url)
      ctx.headers.set('content-type', 'text/plain; charset=utf-8')
      finish(encoder.encode(`${STATUS_CODES[status] ?? 'Redirect'}. Redirecting to ${url}`))
    },
    json(value: unknown) {
      defaultType('application/json')
      finish(
        typeof value === 'object' && value !== null
          ? value
          : encoder.encode(JSON.stringify(value ?? null)),
      )
      return shim
    },
    send(value?: unknown) {
      if (value === undefined || value === null) finish(new Uint8Array(0))
      else if (typeof value === 'string') {
        defaultType('text/html; charset=utf-8')
        finish(encoder.encode(value))
      } else if (value instanceof Uint8Array) {
        defaultType('application/octet-stream')
        finish(value)
      } else return shim.json(value)
      return shim
    },
    sendStatus(code: number) {
      shim.status(code)
      ctx.headers.set('content-type', 'text/plain; charset=utf-8')
      finish(encoder.encode(STATUS_CODES[code] ?? String(code)))
      return shim
    },
    write(chunk: string | Uint8Array) {
      if (finished) throw new Error('write after end')
      chunks.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
      return true
    },
    end(chunk?: string | Uint8Array | (() => void)) {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) shim.write(chunk)
      finish(concat(chunks))
      return shim
    },
  }
  return shim as unknown as ExpressResponse
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

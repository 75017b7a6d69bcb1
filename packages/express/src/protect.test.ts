import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { createGate, UnauthorizedError, type ModelBackend, type Plugin } from '@modelgate/core'
import { protect } from './protect.js'

const servers: Server[] = []

async function listen(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

const requireKey: Plugin = async function requireKey(ctx, next) {
  if (ctx.requestHeaders.get('x-api-key') !== 'k1') {
    throw new UnauthorizedError('api key required', { 'www-authenticate': 'ApiKey' })
  }
  await next()
}

const maskName: Plugin = async function maskName(ctx, next) {
  if (ctx.method === 'POST') {
    const body = (await ctx.json()) as Record<string, unknown>
    ctx.replaceJson({ ...body, name: '***' })
  }
  await next()
}

const stamp: Plugin = async function stamp(ctx, next) {
  await next()
  ctx.headers.set('x-gate', 'seen')
  const body = ctx.body
  if (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    !(body instanceof Uint8Array)
  ) {
    ctx.body = { ...body, stamped: true }
  }
}

const sum: ModelBackend = {
  async metadata() {
    return {
      platform: 'js',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
    }
  },
  async ready() {
    return true
  },
  async infer([x]) {
    const data = x!.data as Float32Array
    const y = new Float32Array(data.length / 2).map((_, i) => data[2 * i]! + data[2 * i + 1]!)
    return [{ name: 'y', datatype: 'FP32', shape: [y.length], data: y }]
  },
}

function gate() {
  return createGate({
    models: [{ name: 'sum', backend: sum }],
    plugins: [stamp, requireKey, maskName],
  })
}

describe('protect', () => {
  it('runs the plugins first: a rejected request never reaches the route handler', async () => {
    let calls = 0
    const app = express()
    app.post(
      '/score',
      express.json(),
      protect(gate(), (_req, res) => {
        calls++
        res.json({ ok: true })
      }),
    )
    const url = await listen(app)
    const res = await fetch(`${url}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada' }),
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('www-authenticate')).toBe('ApiKey')
    expect(await res.json()).toEqual({ error: 'api key required', code: 'unauthorized' })
    expect(calls).toBe(0)
  })

  it('gives the handler the body the plugins saw, after express.json(), and applies outer plugins to its response', async () => {
    let calls = 0
    const app = express()
    app.post(
      '/score',
      express.json(),
      protect(
        gate(),
        (req, res) => {
          calls++
          res.status(201).set('x-handler', 'yes').json({ received: req.body })
        },
        { operation: 'predict', model: 'sum' },
      ),
    )
    const url = await listen(app)
    const res = await fetch(`${url}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k1' },
      body: JSON.stringify({ name: 'Ada', income: 52000 }),
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-handler')).toBe('yes')
    expect(res.headers.get('x-gate')).toBe('seen')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(await res.json()).toEqual({ received: { name: '***', income: 52000 }, stamped: true })
    expect(calls).toBe(1)
  })

  it('streams the body itself when no body parser ran', async () => {
    const app = express()
    app.post(
      '/echo',
      protect(gate(), (req, res) => {
        res.json(req.body)
      }),
    )
    const url = await listen(app)
    const res = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k1' },
      body: '{"name":"Grace","n":[1,2]}',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ name: '***', n: [1, 2], stamped: true })
  })

  it('captures send, type, append, sendStatus and end without touching the socket early', async () => {
    const app = express()
    const g = gate()
    app.get(
      '/text',
      protect(g, (_req, res) => {
        res.type('text').append('set-cookie', 'a=1').append('set-cookie', 'b=2').send('plain words')
      }),
    )
    app.get(
      '/gone',
      protect(g, (_req, res) => {
        res.sendStatus(410)
      }),
    )
    app.get(
      '/chunks',
      protect(g, (_req, res) => {
        res.statusCode = 202
        res.setHeader('content-type', 'text/csv')
        res.write('a,b\n')
        res.end('1,2\n')
      }),
    )
    app.get(
      '/later',
      protect(g, (_req, res) => {
        setTimeout(() => res.json([1, 2, 3]), 10)
      }),
    )
    const url = await listen(app)
    const headers = { 'x-api-key': 'k1' }

    const text = await fetch(`${url}/text`, { headers })
    expect(text.status).toBe(200)
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(text.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await text.text()).toBe('plain words')

    const gone = await fetch(`${url}/gone`, { headers })
    expect(gone.status).toBe(410)
    expect(await gone.text()).toBe('Gone')

    const chunks = await fetch(`${url}/chunks`, { headers })
    expect(chunks.status).toBe(202)
    expect(chunks.headers.get('content-type')).toBe('text/csv')
    expect(await chunks.text()).toBe('a,b\n1,2\n')

    const later = await fetch(`${url}/later`, { headers })
    expect(await later.json()).toEqual([1, 2, 3])
  })

  it('turns handler errors into JSON errors, never HTML', async () => {
    const errors: unknown[] = []
    const g = createGate({ models: [], plugins: [requireKey], onError: (e) => errors.push(e) })
    const app = express()
    app.get(
      '/throws',
      protect(g, () => {
        throw new Error('secret database password in message')
      }),
    )
    app.get(
      '/rejects',
      protect(g, async () => {
        await Promise.resolve()
        throw new Error('async failure')
      }),
    )
    app.get(
      '/next-error',
      protect(g, (_req, _res, next) => {
        next(
          Object.assign(new Error('quota exceeded for this form'), { status: 422, expose: true }),
        )
      }),
    )
    app.get(
      '/next',
      protect(g, (_req, _res, next) => next()),
    )
    const url = await listen(app)
    const headers = { 'x-api-key': 'k1' }

    for (const path of ['/throws', '/rejects']) {
      const res = await fetch(`${url}${path}`, { headers })
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toBe('application/json')
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({ error: 'internal error', code: 'internal' })
      expect(text).not.toMatch(/secret|<html|at /i)
    }
    expect(errors).toHaveLength(2)

    const unprocessable = await fetch(`${url}/next-error`, { headers })
    expect(unprocessable.status).toBe(422)
    expect(await unprocessable.json()).toEqual({
      error: 'quota exceeded for this form',
      code: 'handler_error',
    })

    const skipped = await fetch(`${url}/next`, { headers })
    expect(skipped.status).toBe(404)
    expect(await skipped.json()).toMatchObject({ code: 'not_found' })
  })

  it('checks its arguments when the route is declared', () => {
    expect(() => protect(gate(), (_req, res) => res.end(), { model: 'nope' })).toThrow(
      /unknown model/,
    )
    expect(() => protect(gate(), undefined as never)).toThrow(TypeError)
  })
})

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express, { type Express } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { createGate, type ModelBackend, type Plugin } from '@modelgate/core'
import { createExpressApp } from './app.js'
import { gateHandler } from './handler.js'
import { peerCertificateOf } from './peer.js'

const servers: Server[] = []

async function listen(server: Server): Promise<number> {
  servers.push(server)
  if (!server.listening) server.listen(0, '127.0.0.1')
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return (server.address() as AddressInfo).port
}

const urlOf = async (app: Express) => `http://127.0.0.1:${await listen(app.listen(0, '127.0.0.1'))}`

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

/** y = x0 * x1 per row; waits for the abort signal when x0 is 0 and reports it. */
function product(onAbort?: () => void): ModelBackend {
  return {
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
    async infer([x], options) {
      const data = x!.data as Float32Array
      if (data[0] === 0) {
        await new Promise<void>((resolve) =>
          options?.signal?.addEventListener('abort', () => {
            onAbort?.()
            resolve()
          }),
        )
      }
      const y = new Float32Array(data.length / 2).map((_, i) => data[2 * i]! * data[2 * i + 1]!)
      return [{ name: 'y', datatype: 'FP32', shape: [y.length], data: y }]
    },
  }
}

const inferBody = (a: number, b: number) =>
  JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [a, b] }] })
const post = { method: 'POST', headers: { 'content-type': 'application/json' } }

describe('gateHandler', () => {
  it('uses the path relative to the mount point', async () => {
    const app = express()
    app.use('/ml', gateHandler(createGate({ models: [{ name: 'p', backend: product() }] })))
    const url = await urlOf(app)
    const res = await fetch(`${url}/ml/v2/models/p/infer`, { ...post, body: inferBody(3, 4) })
    expect(res.status).toBe(200)
    expect((await res.json()).outputs[0].data).toEqual([12])
    expect((await fetch(`${url}/ml/v2/health/live`)).status).toBe(200)
  })

  it('rebuilds the body when express.json() already read it', async () => {
    const app = express()
    app.use(
      express.json(),
      gateHandler(createGate({ models: [{ name: 'p', backend: product() }] })),
    )
    const url = await urlOf(app)
    const res = await fetch(`${url}/v2/models/p/infer`, {
      ...post,
      body: `  ${inferBody(2, 5)}  `,
    })
    expect(res.status).toBe(200)
    expect((await res.json()).outputs[0].data).toEqual([10])
    const v1 = await fetch(`${url}/v1/models/p:predict`, { ...post, body: '{"instances":[[6,7]]}' })
    expect(await v1.json()).toEqual({ predictions: [42] })
  })

  it('answers 400 for a body express.json() parsed but that nests too deeply to rebuild', async () => {
    const errors: unknown[] = []
    const gate = createGate({
      models: [{ name: 'p', backend: product() }],
      onError: (error) => errors.push(error),
    })
    const app = express()
    app.use(express.json({ limit: '1mb' }), gateHandler(gate))
    const url = await urlOf(app)
    const deep = '{"inputs":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}'
    const res = await fetch(`${url}/v2/models/p/infer`, { ...post, body: deep })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('json_too_deep')
    expect(errors).toEqual([])
  })

  it('writes every header back, repeated set-cookie included', async () => {
    const cookies: Plugin = async function cookies(ctx, next) {
      await next()
      ctx.headers.append('set-cookie', 'a=1; Path=/')
      ctx.headers.append('set-cookie', 'b=2; HttpOnly')
      ctx.headers.set('cache-control', 'no-store')
    }
    const app = express()
    app.use(gateHandler(createGate({ models: [], plugins: [cookies] })))
    const res = await fetch(`${await urlOf(app)}/v2/health/live`)
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-powered-by')).toBe('Express')
  })

  it('aborts the request signal when the client disconnects', async () => {
    let aborted!: () => void
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve))
    const app = express()
    app.use(gateHandler(createGate({ models: [{ name: 'p', backend: product(() => aborted()) }] })))
    const url = await urlOf(app)
    const client = new AbortController()
    const pending = fetch(`${url}/v2/models/p/infer`, {
      ...post,
      body: inferBody(0, 1),
      signal: client.signal,
    })
    setTimeout(() => client.abort(), 100)
    await expect(pending).rejects.toThrow()
    await expect(Promise.race([sawAbort.then(() => 'aborted'), sleep(3000)])).resolves.toBe(
      'aborted',
    )
  })

  it('turns a failing handler or response body into a JSON 500, never next(err)', async () => {
    const app = express()
    let nextCalled = false
    app.use(
      '/throws',
      gateHandler({ fetch: () => Promise.reject(new Error('boom at /secret/path')) }),
    )
    app.use(
      '/broken-body',
      gateHandler({
        fetch: async () =>
          new Response(
            new ReadableStream({
              pull: (c) => c.error(new Error('stream failed')),
            }),
            { headers: { 'content-type': 'text/html' } },
          ),
      }),
    )
    app.use(
      (
        _err: unknown,
        _req: express.Request,
        _res: express.Response,
        next: express.NextFunction,
      ) => {
        nextCalled = true
        next()
      },
    )
    const url = await urlOf(app)
    for (const path of ['/throws', '/broken-body']) {
      const res = await fetch(`${url}${path}`)
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(await res.json()).toEqual({ error: 'internal error', code: 'internal' })
    }
    expect(nextCalled).toBe(false)
  })

  it('answers 413 from content-length without reading the body, then closes the connection', async () => {
    const app = createExpressApp(createGate({ models: [{ name: 'p', backend: product() }] }))
    const port = await listen(app.listen(0, '127.0.0.1'))
    const reply = await rawExchange(
      port,
      `POST /v2/models/p/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 41943040\r\n\r\n{"inputs":[`,
    )
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /)
    expect(reply.text).toMatch(/\r\nconnection: close\r\n/i)
    expect(reply.text).toContain('"code":"payload_too_large"')
    expect(reply.closedAfterMs).toBeLessThan(3000)
    const after = await fetch(`http://127.0.0.1:${port}/v2/models/p/infer`, {
      ...post,
      body: inferBody(2, 2),
    })
    expect(after.status).toBe(200)
  })
})

describe('createExpressApp', () => {
  it('serves JSON only: no x-powered-by, JSON 404 outside the gate, JSON errors from setup middleware', async () => {
    const gate = createGate({ models: [{ name: 'p', backend: product() }] })
    const app = createExpressApp(gate, {
      basePath: '/ml',
      setup(app) {
        app.get('/explode', () => {
          throw new Error('internal detail')
        })
        app.post('/parsed', express.json(), (req, res) => res.json({ got: req.body }))
      },
    })
    const url = await urlOf(app)

    const ok = await fetch(`${url}/ml/v2/models/p`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-powered-by')).toBeNull()

    const missing = await fetch(`${url}/elsewhere`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'no such route', code: 'not_found' })

    const boom = await fetch(`${url}/explode`)
    expect(boom.status).toBe(500)
    expect(await boom.text()).toBe('{"error":"internal error","code":"internal"}')

    const bad = await fetch(`${url}/parsed`, { ...post, body: '{"a":' })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toBe('application/json')
    expect((await bad.json()).code).toBe('entity_parse_failed')
  })

  it('never echoes the body or headers of a request a body parser refused', async () => {
    const gate = createGate({ models: [{ name: 'p', backend: product() }] })
    const app = createExpressApp(gate, { setup: (app) => app.use(express.json({ limit: 64 })) })
    const url = await urlOf(app)
    const bad = await fetch(`${url}/v2/models/p/infer`, {
      ...post,
      body: '{"ssn":"512-34-8821","ok":tru}',
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: 'bad request', code: 'entity_parse_failed' })
    const charset = await fetch(`${url}/v2/models/p/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=x-secret-4539' },
      body: '{}',
    })
    expect(charset.status).toBe(415)
    expect(await charset.json()).toEqual({
      error: 'unsupported media type',
      code: 'charset_unsupported',
    })
    const large = await fetch(`${url}/v2/models/p/infer`, { ...post, body: `"${'x'.repeat(100)}"` })
    expect(large.status).toBe(413)
    expect(await large.json()).toEqual({ error: 'payload too large', code: 'entity_too_large' })
  })
})

describe('peerCertificateOf', () => {
  it('puts the verified mTLS client certificate on the request for plugins', async () => {
    const pki = makePki()
    try {
      const whoami: Plugin = async function whoami(ctx, next) {
        await next()
        const cert = peerCertificateOf(ctx.request)
        ctx.headers.set('x-client', cert ? String(cert.subject.CN) : 'none')
      }
      const app = createExpressApp(createGate({ models: [], plugins: [whoami] }))
      const server = createHttpsServer(
        {
          key: pki.serverKey,
          cert: pki.serverCert,
          ca: pki.ca,
          requestCert: true,
          rejectUnauthorized: false,
        },
        app,
      )
      const port = await listen(server)
      const ask = (client: { key?: Buffer; cert?: Buffer }) =>
        new Promise<string | undefined>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/v2/health/live',
              ca: pki.ca,
              servername: 'localhost',
              ...client,
            },
            (res) => {
              res.resume()
              res.on('end', () => resolve(res.headers['x-client'] as string | undefined))
            },
          )
          req.on('error', reject)
          req.end()
        })
      expect(await ask({ key: pki.clientKey, cert: pki.clientCert })).toBe('scoring-service')
      expect(await ask({})).toBe('none')
      expect(await ask({ key: pki.rogueKey, cert: pki.rogueCert })).toBe('none')
    } finally {
      pki.cleanup()
    }
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Sends raw bytes, reads until the server closes; never sends the rest of the declared body. */
function rawExchange(port: number, head: string): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const started = Date.now()
    let text = ''
    socket.on('data', (d) => (text += d.toString('latin1')))
    socket.on('error', reject)
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }))
    socket.write(head)
  })
}

function makePki() {
  const dir = mkdtempSync(join(tmpdir(), 'modelgate-pki-'))
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const key = (name: string) =>
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`)
  const selfSigned = (name: string, cn: string) => {
    key(name)
    run(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '2',
      '-out',
      `${name}.crt`,
    )
  }
  const signed = (name: string, cn: string, ca: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`)
    key(name)
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`)
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    )
  }
  selfSigned('ca', 'test ca')
  selfSigned('rogue-ca', 'rogue ca')
  signed('server', 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1')
  signed('client', 'scoring-service', 'ca', 'extendedKeyUsage=clientAuth')
  signed('rogue', 'intruder', 'rogue-ca', 'extendedKeyUsage=clientAuth')
  const read = (f: string) => readFileSync(join(dir, f))
  return {
    ca: read('ca.crt'),
    serverKey: read('server.key'),
    serverCert: read('server.crt'),
    clientKey: read('client.key'),
    clientCert: read('client.crt'),
    rogueKey: read('rogue.key'),
    rogueCert: read('rogue.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

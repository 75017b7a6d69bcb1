import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:https'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { authenticate } from '@modelgate/access'
import * as testing from '@modelgate/backend-remote/testing'
import { createGate } from '@modelgate/core'
import type { FeatureSchemaDefinition, Plugin } from '@modelgate/core'
import { createJweDecryptor, decrypt, encrypt, generateJwk } from '@modelgate/crypto'
import { createCa, issueCertificate } from '@modelgate/crypto/node'
import type { CertificateBundle } from '@modelgate/crypto/node'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import type { NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import { explain } from '@modelgate/explain'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHybridBackend, createSealedFetch, forwardExplain, routeHeaders } from '../index.js'
import type { RouteEvent } from '../index.js'
import { createMtlsFetch } from '../node/index.js'
import type { MtlsFetch } from '../node/index.js'

const CANARIES = ['Zelda Canarywick', 'zelda.canary@example.org', '078-05-1120']

const schema: FeatureSchemaDefinition = {
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
    { name: 'c', type: 'numeric' },
    { name: 'name', type: 'passthrough' },
    { name: 'email', type: 'passthrough' },
    { name: 'ssn', type: 'passthrough' },
  ],
}
const application = { a: 1, b: 2, c: 3, name: CANARIES[0], email: CANARIES[1], ssn: CANARIES[2] }

let ca: CertificateBundle
let edgeCert: CertificateBundle
let strangerCert: CertificateBundle
let otherCa: CertificateBundle
let cloudKey: Awaited<ReturnType<typeof generateJwk>>
let cloud: Server
let cloudUrl: string
/** The bytes every connection brought to the cloud gate, after TLS: what it received. */
const wire: Buffer[] = []
const principals: string[] = []
const transports: MtlsFetch[] = []

function cloudGate() {
  const who: Plugin = async function who(ctx, next) {
    principals.push(`${ctx.principal?.kind}:${ctx.principal?.id}`)
    await next()
  }
  return createGate({
    models: [{ name: 'linear', backend: testing.createLinearBackend(), schema }],
    plugins: [
      decrypt({ keys: [cloudKey.privateJwk] }),
      authenticate({ mtls: {} }),
      who,
      encrypt({}),
      explain({ defaults: { background: { data: [[0, 0, 0]] }, method: 'exact_shap' } }),
    ],
  })
}

const mtlsAs = (identity: CertificateBundle, trust = ca) => {
  const transport = createMtlsFetch({
    cert: identity.certPem,
    key: identity.keyPem,
    ca: trust.certPem,
  })
  transports.push(transport)
  return transport
}

async function edgeWith(transport: typeof fetch) {
  const events: RouteEvent[] = []
  const sealed = createSealedFetch({ gateKey: cloudKey.publicJwk, fetch: transport })
  const gate = createGate({
    models: [
      {
        name: 'linear',
        backend: createHybridBackend({
          local: testing.createLinearBackend(),
          remote: { url: cloudUrl, protocol: 'v2', model: 'linear', fetch: sealed },
          policy: { confidence: { output: 'y', minTop: 100 }, latencyBudgetMs: 2000 },
          onRoute: (e) => events.push(e),
        }),
        schema,
      },
    ],
    plugins: [routeHeaders(), forwardExplain({ url: cloudUrl, fetch: sealed })],
  })
  const server = await serveNode(toFetchModule(gate), { port: 0 })
  return { server, events }
}

let edge: NodeServer

beforeAll(async () => {
  ;[ca, otherCa] = await Promise.all([
    createCa({ commonName: 'hybrid test CA', keyBits: 2048 }),
    createCa({ commonName: 'another CA', keyBits: 2048 }),
  ])
  const [server, client, stranger, key] = await Promise.all([
    issueCertificate(ca, { kind: 'server', commonName: 'cloud', ipAddresses: ['127.0.0.1'] }),
    issueCertificate(ca, { kind: 'client', commonName: 'edge-1', uris: ['spiffe://test/edge-1'] }),
    issueCertificate(otherCa, {
      kind: 'client',
      commonName: 'edge-1',
      uris: ['spiffe://test/edge-1'],
    }),
    generateJwk('ECDH-ES+A256KW', 'cloud-1'),
  ])
  edgeCert = client
  strangerCert = stranger
  cloudKey = key
  const gate = cloudGate()
  await gate.ready()
  cloud = createServer(
    {
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    createExpressApp(gate),
  )
  cloud.on('secureConnection', (socket) => socket.on('data', (chunk: Buffer) => wire.push(chunk)))
  await new Promise<void>((resolve) => cloud.listen(0, '127.0.0.1', resolve))
  cloudUrl = `https://127.0.0.1:${(cloud.address() as AddressInfo).port}`
  edge = (await edgeWith(mtlsAs(edgeCert))).server
}, 60_000)

afterAll(async () => {
  await edge?.close()
  for (const t of transports) t.close()
  cloud?.closeAllConnections()
  await new Promise<void>((resolve) => cloud?.close(() => resolve()))
})

/** The POST requests in the captured bytes: content type and body (by content-length). */
function received(): Array<{ type: string | undefined; body: string }> {
  const text = Buffer.concat(wire).toString('latin1')
  const out: Array<{ type: string | undefined; body: string }> = []
  for (let at = text.indexOf('POST '); at >= 0; at = text.indexOf('POST ', at + 1)) {
    const end = text.indexOf('\r\n\r\n', at)
    const head = text.slice(at, end).toLowerCase()
    const length = Number(/\r\ncontent-length: *(\d+)/.exec(head)?.[1] ?? 0)
    out.push({
      type: /\r\ncontent-type: *([^\r]+)/.exec(head)?.[1],
      body: text.slice(end + 4, end + 4 + length),
    })
  }
  return out
}

const post = (base: string, path: string, body: unknown) =>
  fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('the edge → cloud hop: JWE over mTLS', () => {
  it('routes a request to the cloud as a JWE: no plaintext and no canary PII on the wire', async () => {
    wire.length = 0
    principals.length = 0
    const predict = await post(edge.url, '/v1/models/linear:predict', { instances: [application] })
    expect(predict.status).toBe(200)
    expect(predict.headers.get('x-modelgate-route')).toBe('cloud')
    expect(predict.headers.get('x-modelgate-degraded')).toBeNull()
    const explaining = await post(edge.url, '/v1/models/linear:explain', {
      instances: [application],
    })
    expect(explaining.status).toBe(200)
    expect(explaining.headers.get('x-modelgate-route')).toBe('cloud')
    const explained = await explaining.json()
    expect(explained.explanations[0].feature_names).toEqual(['a', 'b', 'c'])
    expect(explained.explanations[0].data).toEqual([[1, 2, 3]])

    const raw = Buffer.concat(wire).toString('latin1')
    for (const text of [...CANARIES, '"inputs"', '"instances"', '"a"'])
      expect(raw).not.toContain(text)
    const requests = received()
    expect(requests).toHaveLength(2)
    expect(principals).toEqual(['mtls:spiffe://test/edge-1', 'mtls:spiffe://test/edge-1'])
    const header = (jwe: string) =>
      JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString('utf8'))
    const open = createJweDecryptor({ keys: [cloudKey.privateJwk] })
    const opened: string[] = []
    for (const { type, body } of requests) {
      expect(type).toBe('application/jose')
      expect(body).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(header(body)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'cloud-1' })
      for (const text of [...CANARIES, '"inputs"', '"instances"', 'linear']) {
        expect(body).not.toContain(text)
      }
      opened.push(new TextDecoder().decode((await open(body)).plaintext))
    }
    // What the cloud decrypts: the escalated tensor, and the tensor of the explained record.
    for (const text of opened) {
      expect(JSON.parse(text).inputs[0]).toMatchObject({ datatype: 'FP32', data: [1, 2, 3] })
      expect(text).not.toContain('instances')
    }
    for (const canary of CANARIES) expect(opened.join('\n')).not.toContain(canary)
  })

  it('the cloud refuses plaintext bodies, even over mTLS', async () => {
    const res = await mtlsAs(edgeCert)(`${cloudUrl}/v2/models/linear/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      }),
    })
    expect(res.status).toBe(415)
    expect((await res.json()).code).toBe('jwe_required')
  })

  it('the cloud refuses a client certificate from another CA in the handshake', async () => {
    const before = wire.length
    await expect(
      mtlsAs(strangerCert)(`${cloudUrl}/v2/health/live`, { method: 'GET' }),
    ).rejects.toThrow(/alert|socket hang up|ECONNRESET|certificate/i)
    const { server, events } = await edgeWith(mtlsAs(strangerCert))
    try {
      const res = await post(server.url, '/v1/models/linear:predict', { instances: [application] })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-modelgate-route')).toBe('edge')
      expect(res.headers.get('x-modelgate-degraded')).toBe('cloud_error')
      expect(events.map((e) => [e.route, e.degraded, e.reason])).toEqual([
        ['edge', true, 'cloud_error'],
      ])
    } finally {
      await server.close()
    }
    expect(wire.length).toBe(before)
  })

  it('the edge falls back, marked degraded, when it cannot verify the cloud', async () => {
    // The edge trusts another CA: the handshake fails on the edge's side.
    const { server, events } = await edgeWith(mtlsAs(edgeCert, otherCa))
    try {
      const started = performance.now()
      const res = await post(server.url, '/v2/models/linear/infer', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      })
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.outputs[0].parameters).toEqual({
        route: 'edge',
        degraded: true,
        cloud_rows: [],
        degraded_reason: 'cloud_error',
      })
      expect(events[0]?.reason).toBe('cloud_error')
      expect(performance.now() - started).toBeLessThan(2000)
    } finally {
      await server.close()
    }
  })

  it('refuses an answer that is not encrypted, and bad options at factory time', async () => {
    const plain = createHttpServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[]}')
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`
    const sealed = createSealedFetch({ gateKey: cloudKey.publicJwk })
    try {
      await expect(
        sealed(`${url}/v2/models/linear/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
          }),
        }),
      ).rejects.toMatchObject({ code: 'client_response_not_encrypted' })
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()))
    }
    expect(() => createSealedFetch({ gateKey: cloudKey.privateJwk })).toThrow(/public/)
    expect(() => createSealedFetch({ gateKey: cloudKey.publicJwk, timeout: 5 } as never)).toThrow(
      'createSealedFetch: unknown option "timeout" (did you mean "timeoutMs"?)',
    )
    expect(() =>
      createMtlsFetch({
        cert: edgeCert.certPem,
        key: edgeCert.keyPem,
        ca: ca.certPem,
        keepalive: true,
      } as never),
    ).toThrow('createMtlsFetch: unknown option "keepalive" (did you mean "keepAlive"?)')
    expect(() => createMtlsFetch({ cert: 'x', key: edgeCert.keyPem, ca: ca.certPem })).toThrow(
      /PEM/,
    )
    await expect(mtlsAs(edgeCert)(`http://127.0.0.1:1/v2/health/live`)).rejects.toThrow(/https/)
  })
})

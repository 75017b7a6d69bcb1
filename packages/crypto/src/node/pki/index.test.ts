import { X509Certificate } from 'node:crypto'
import { request, createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '@modelgate/access'
import { createExpressApp } from '@modelgate/express'
import { createCa, issueCertificate, type CertificateBundle } from '../index.js'
import { gateWith, inferBody } from '../../../test/helpers.js'

let ca: CertificateBundle
let otherCa: CertificateBundle
let server: CertificateBundle
let client: CertificateBundle
let stranger: CertificateBundle

beforeAll(async () => {
  ;[ca, otherCa] = await Promise.all([
    createCa({ commonName: 'modelgate test CA', organization: 'Acme', keyBits: 2048 }),
    createCa({ commonName: 'other CA', keyBits: 2048 }),
  ])
  server = await issueCertificate(ca, {
    kind: 'server',
    commonName: 'cloud-gate',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  })
  client = await issueCertificate(ca, {
    kind: 'client',
    commonName: 'edge-1',
    uris: ['spiffe://acme/edge-1'],
  })
  stranger = await issueCertificate(otherCa, {
    kind: 'client',
    commonName: 'edge-1',
    uris: ['spiffe://acme/edge-1'],
  })
})

describe('PKI', () => {
  it('makes a CA and leaf certificates with the right constraints, SANs and usages', () => {
    const caCert = new X509Certificate(ca.certPem)
    expect(caCert.ca).toBe(true)
    expect(caCert.subject).toContain('CN=modelgate test CA')
    const leaf = new X509Certificate(server.certPem)
    expect(leaf.ca).toBe(false)
    expect(leaf.checkIssued(caCert)).toBe(true)
    expect(leaf.verify(caCert.publicKey)).toBe(true)
    expect(leaf.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1')
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    expect(new X509Certificate(client.certPem).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2'])
    expect(new X509Certificate(client.certPem).subjectAltName).toBe('URI:spiffe://acme/edge-1')
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000
    expect(Math.round(days)).toBe(397)
    expect(new X509Certificate(stranger.certPem).verify(caCert.publicKey)).toBe(false)
  })

  it('refuses bad requests', async () => {
    await expect(createCa({ commonName: '' })).rejects.toThrow(TypeError)
    await expect(createCa({ commonName: 'ca', validityDay: 10 } as never)).rejects.toThrow(
      'createCa: unknown option "validityDay" (did you mean "validityDays"?)',
    )
    await expect(
      issueCertificate(ca, { kind: 'client', commonName: 'x', uri: ['spiffe://a/b'] } as never),
    ).rejects.toThrow('issueCertificate: unknown option "uri" (did you mean "uris"?)')
    await expect(issueCertificate(ca, { kind: 'server', commonName: 'x' })).rejects.toThrow(
      /dnsNames/,
    )
    await expect(
      issueCertificate(ca, { kind: 'server', commonName: 'x', ipAddresses: ['999.1.1.1'] }),
    ).rejects.toThrow(/IP/)
    await expect(
      issueCertificate(ca, { kind: 'server', commonName: 'x', dnsNames: ['bad name'] }),
    ).rejects.toThrow(/DNS/)
    await expect(issueCertificate(ca, { kind: 'admin' as never, commonName: 'x' })).rejects.toThrow(
      /kind/,
    )
  })
})

describe('mTLS between gates on loopback', () => {
  let https: Server
  let port: number
  let seen: string[] = []
  let calls: () => number

  beforeAll(async () => {
    const made = gateWith([
      authenticate({ mtls: {} }),
      async function recordPrincipal(ctx, next) {
        seen.push(`${ctx.principal?.kind}:${ctx.principal?.id}`)
        await next()
      },
    ])
    calls = made.calls
    await made.gate.ready()
    https = createServer(
      {
        cert: server.certPem,
        key: server.keyPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      createExpressApp(made.gate),
    )
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
    port = (https.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => https.close(() => resolve())))

  const call = (identity: CertificateBundle) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v2/models/adder/infer',
          method: 'POST',
          ca: ca.certPem,
          cert: identity.certPem,
          key: identity.keyPem,
          headers: { 'content-type': 'application/json' },
          agent: false,
        },
        (res) => {
          let body = ''
          res.on('data', (c) => (body += c))
          res.on('end', () => resolve({ status: res.statusCode!, body }))
        },
      )
      req.on('error', reject)
      req.end(inferBody(1, 2))
    })

  it('a client certificate from the CA completes the handshake; the access plugin maps it to a principal', async () => {
    const res = await call(client)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).outputs[0].data).toEqual([3])
    expect(seen).toEqual(['mtls:spiffe://acme/edge-1'])
    expect(calls()).toBe(1)
  })

  it('a certificate from another CA is refused in the handshake', async () => {
    await expect(call(stranger)).rejects.toThrow(/alert|socket hang up|ECONNRESET|certificate/i)
    expect(calls()).toBe(1)
  })
})

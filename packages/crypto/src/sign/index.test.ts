import { describe, expect, it } from 'vitest'
import {
  decrypt,
  encrypt,
  encryptJwe,
  generateJwk,
  sign,
  signingPublicKey,
  verifyResponseSignature,
  type DecryptionKey,
} from '../index.js'
import { gateWith, inferBody, INFER_URL, joseRequest } from '../../test/helpers.js'
import { UnauthorizedError, type Plugin } from '@modelgate/core'
import { exportJWK, generateKeyPair } from 'jose'

const post = (body = inferBody(), headers: Record<string, string> = {}) =>
  new Request(INFER_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })

describe('sign', () => {
  it('refuses bad options at factory time', async () => {
    const { privateJwk, publicJwk } = await generateJwk('ES256', 'sig-1')
    expect(() => sign({ key: publicJwk as never })).toThrow(/private/)
    expect(() => sign({ key: { ...privateJwk, alg: 'RS256' } as never })).toThrow(/ES256 or EdDSA/)
    expect(() => sign({ key: { ...privateJwk, alg: 'EdDSA' } as never })).toThrow(/Ed25519/)
    expect(() => sign({ key: { ...privateJwk, kid: '' } as never })).toThrow(/kid/)
    expect(() => sign({ key: privateJwk as never, header: 'bad header' })).toThrow(/header/)
    expect(() => sign({ key: privateJwk as never, haeder: 'x-sig' } as never)).toThrow(
      'sign: unknown option "haeder" (did you mean "header"?)',
    )
  })

  it.each(['ES256', 'EdDSA'] as const)(
    '%s: the client proves what the gate answered, and any change breaks it',
    async (alg) => {
      const { privateJwk, publicJwk } = await generateJwk(alg, `sig-${alg}`)
      const { gate } = gateWith([sign({ key: privateJwk as never })])
      const res = await gate.fetch(post(inferBody(3, 4), { 'x-request-id': 'req-sig-1' }))
      const body = new Uint8Array(await res.arrayBuffer())
      const jws = res.headers.get('x-modelgate-signature')!
      expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/)
      const requestId = res.headers.get('x-request-id')!
      const verified = await verifyResponseSignature(body, jws, [publicJwk], {
        requestId,
        clientRequestId: 'req-sig-1',
        status: 200,
        method: 'POST',
        path: '/v2/models/adder/infer',
      })
      expect(verified).toMatchObject({
        kid: `sig-${alg}`,
        alg,
        requestId,
        clientRequestId: 'req-sig-1',
        status: 200,
        method: 'POST',
        path: '/v2/models/adder/infer',
      })
      const changed = body.slice()
      changed[changed.length - 3]! ^= 0x01
      await expect(verifyResponseSignature(changed, jws, [publicJwk])).rejects.toThrow(
        'signature does not verify',
      )
      await expect(
        verifyResponseSignature(body, jws, [publicJwk], { requestId: 'req-sig-1' }),
      ).rejects.toThrow(/another request/)
      await expect(
        verifyResponseSignature(body, jws, [publicJwk], { clientRequestId: 'other' }),
      ).rejects.toThrow(/another request/)
      await expect(
        verifyResponseSignature(body, jws, [publicJwk], { status: 201 }),
      ).rejects.toThrow(/another status/)
      await expect(
        verifyResponseSignature(body, jws, [publicJwk], {
          path: '/v2/models/adder/versions/1/infer',
        }),
      ).rejects.toThrow(/another route/)
      await expect(
        verifyResponseSignature(body, jws, [publicJwk], { method: 'GET' }),
      ).rejects.toThrow(/another route/)
      const stranger = await generateJwk(alg, `sig-${alg}`)
      await expect(verifyResponseSignature(body, jws, [stranger.publicJwk])).rejects.toThrow(
        'signature does not verify',
      )
      await expect(
        verifyResponseSignature(body, jws, [{ ...publicJwk, kid: 'x' }]),
      ).rejects.toThrow(/no key/)
      expect(signingPublicKey(privateJwk)).not.toHaveProperty('d')
    },
  )

  it('outside encrypt, signs the JWE bytes that are sent', async () => {
    const gateKey = await generateJwk('ECDH-ES+A256KW', 'gate')
    const sig = await generateJwk('EdDSA', 'sig')
    const client = await generateKeyPair('ECDH-ES+A256KW', { extractable: true })
    const { gate } = gateWith([
      decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }),
      sign({ key: sig.privateJwk as never }),
      encrypt(),
    ])
    const jwe = await encryptJwe({
      key: gateKey.publicJwk as DecryptionKey,
      plaintext: inferBody(),
      header: { rjwk: await exportJWK(client.publicKey) },
    })
    const res = await gate.fetch(joseRequest(jwe))
    const text = await res.text()
    expect(res.headers.get('content-type')).toBe('application/jose')
    expect(text.split('.')).toHaveLength(5)
    await verifyResponseSignature(
      new TextEncoder().encode(text),
      res.headers.get('x-modelgate-signature')!,
      [sig.publicJwk],
      {
        requestId: res.headers.get('x-request-id')!,
        status: 200,
      },
    )
  })

  it('signs error answers too, whatever refused the request and wherever sign sits', async () => {
    const sig = await generateJwk('EdDSA', 'sig-errors')
    const refuseAll: Plugin = async function refuseAll(ctx, next) {
      if (ctx.requestHeaders.get('x-refuse') === 'yes') throw new UnauthorizedError()
      await next()
    }
    // `refuseAll` runs before `sign` in the list, so sign's own code never runs for its refusals.
    const { gate } = gateWith([refuseAll, sign({ key: sig.privateJwk as never })])
    const cases: Array<[Request, number, string]> = [
      [post(inferBody(), { 'x-refuse': 'yes' }), 401, '/v2/models/adder/infer'],
      [
        new Request('http://gate.test/v2/models/nope/infer', { method: 'POST', body: inferBody() }),
        404,
        '/v2/models/nope/infer',
      ],
      [new Request('http://gate.test/no/such/route'), 404, '/no/such/route'],
      [new Request('http://gate.test/v2/models/adder/infer'), 405, '/v2/models/adder/infer'],
      [post('{"inputs":'), 400, '/v2/models/adder/infer'],
    ]
    for (const [request, status, path] of cases) {
      const res = await gate.fetch(request)
      expect(res.status).toBe(status)
      const body = new Uint8Array(await res.arrayBuffer())
      expect(JSON.parse(new TextDecoder().decode(body))).toHaveProperty('code')
      await verifyResponseSignature(
        body,
        res.headers.get('x-modelgate-signature')!,
        [sig.publicJwk],
        {
          requestId: res.headers.get('x-request-id')!,
          status,
          method: request.method,
          path,
        },
      )
    }
  })

  it('signs the empty body a HEAD answer sends, and leaves streamed bodies unsigned', async () => {
    const sig = await generateJwk('ES256', 'sig-head')
    const stream: Plugin = Object.assign(
      async function stream(_ctx: Parameters<Plugin>[0], next: () => Promise<void>) {
        await next()
      },
      {
        routes: [
          {
            name: 'events',
            methods: ['GET'],
            path: '/events',
            operation: 'custom' as const,
            async terminal(ctx: Parameters<Plugin>[0]) {
              ctx.headers.set('content-type', 'text/event-stream')
              ctx.body = new Response('data: 1\n\n').body
            },
          },
        ],
      },
    )
    const { gate } = gateWith([sign({ key: sig.privateJwk as never }), stream])
    const head = await gate.fetch(
      new Request('http://gate.test/v2/health/ready', { method: 'HEAD' }),
    )
    expect(head.status).toBe(200)
    await verifyResponseSignature(
      new Uint8Array(0),
      head.headers.get('x-modelgate-signature')!,
      [sig.publicJwk],
      {
        requestId: head.headers.get('x-request-id')!,
        status: 200,
        method: 'HEAD',
      },
    )
    const events = await gate.fetch(new Request('http://gate.test/events'))
    expect(await events.text()).toBe('data: 1\n\n')
    expect(events.headers.get('x-modelgate-signature')).toBeNull()
  })
})

import { compactDecrypt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { decrypt, encrypt, encryptJwe, generateJwk, type DecryptionKey } from '../index.js'
import { gateWith, inferBody, joseRequest, responseKey } from '../../test/helpers.js'

let gateKey: { privateJwk: JWK; publicJwk: JWK }
let partner: { privateJwk: JWK; publicJwk: JWK }
let rsaPartner: { privateJwk: JWK; publicJwk: JWK }

beforeAll(async () => {
  ;[gateKey, partner, rsaPartner] = await Promise.all([
    generateJwk('ECDH-ES+A256KW', 'gate'),
    generateJwk('ECDH-ES+A256KW', 'partner-ec'),
    generateJwk('RSA-OAEP-256', 'partner-rsa'),
  ])
})

const toGate = (header: Record<string, unknown>, jti?: string) =>
  encryptJwe({
    key: gateKey.publicJwk as DecryptionKey,
    plaintext: inferBody(2, 5),
    header,
    ...(jti ? { jti } : {}),
  })

async function open(res: Response, key: JWK) {
  const alg = key.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW'
  const { plaintext, protectedHeader } = await compactDecrypt(
    await res.text(),
    await importJWK({ ...key, alg }, alg),
    {
      keyManagementAlgorithms: [alg],
      contentEncryptionAlgorithms: ['A256GCM'],
    },
  )
  return { body: JSON.parse(new TextDecoder().decode(plaintext)), header: protectedHeader }
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')

describe('encrypt', () => {
  it('refuses bad options at factory time', () => {
    expect(() => encrypt({ clientKeys: [{ kty: 'EC' }] })).toThrow(/kid/)
    expect(() => encrypt({ clientKeys: [partner.privateJwk] })).toThrow(/public/)
    expect(() => encrypt({ clientKeys: [partner.publicJwk, partner.publicJwk] })).toThrow(
      /duplicate/,
    )
    expect(() => encrypt({ clientKeys: 'x' as never })).toThrow(TypeError)
  })

  it('refuses unknown option keys, including the dropped `required` (no plaintext answers)', () => {
    expect(() => encrypt({ allowEphemerl: false } as never)).toThrow(
      'encrypt: unknown option "allowEphemerl" (did you mean "allowEphemeral"?)',
    )
    expect(() => encrypt({ required: false } as never)).toThrow(
      'encrypt: unknown option "required"',
    )
  })

  it.each([
    ['EC', () => partner],
    ['RSA', () => rsaPartner],
  ] as const)(
    'answers to a registered %s key named by rkid, bound to the request',
    async (kty, who) => {
      const { gate, calls } = gateWith([
        decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }),
        encrypt({ clientKeys: [partner.publicJwk, rsaPartner.publicJwk] }),
      ])
      const res = await gate.fetch(
        joseRequest(await toGate({ rkid: who().publicJwk.kid }, 'jti-registered-' + kty), {
          'x-request-id': 'rid-' + kty,
        }),
      )
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/jose')
      expect(res.headers.get('cache-control')).toBe('no-store')
      const { body, header } = await open(res, who().privateJwk)
      expect(body.outputs[0].data).toEqual([7])
      expect(header).toMatchObject({
        kid: who().publicJwk.kid,
        rid: res.headers.get('x-request-id'),
        rjti: 'jti-registered-' + kty,
        enc: 'A256GCM',
      })
      expect(calls()).toBe(1)
    },
  )

  it('refuses, before the model runs, encrypted requests without a usable response key', async () => {
    const { gate, calls } = gateWith([
      decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }),
      encrypt({ clientKeys: [partner.publicJwk], allowEphemeral: false }),
    ])
    const codes = []
    for (const header of [
      {},
      { rkid: 'unknown' },
      { rjwk: partner.publicJwk },
      { rjwk: partner.privateJwk },
      { rjwk: 'nope' },
    ]) {
      const res = await gate.fetch(joseRequest(await toGate(header)))
      expect(res.status).toBe(400)
      codes.push(((await res.json()) as { code: string }).code)
    }
    expect(codes).toEqual(Array(5).fill('jwe_response_key'))
    expect(calls()).toBe(0)
  })

  it('validates an ephemeral key fully before the model: off-curve EC, small-order X25519, bogus RSA', async () => {
    const ec = await exportJWK(
      (await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })).publicKey,
    )
    const y = new Uint8Array(Buffer.from(ec.y!, 'base64url'))
    y[31]! ^= 0x01
    const offCurve = { ...ec, y: b64u(y) }
    const x25519 = await exportJWK(
      (await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true })).publicKey,
    )
    const smallOrder = { ...x25519, x: b64u(new Uint8Array(32)) }
    const rsa = rsaPartner.publicJwk
    const evenExponent = { kty: 'RSA', n: rsa.n, e: b64u(new Uint8Array([1, 0, 0])) }
    for (const order of ['decrypt first', 'encrypt first']) {
      const plugins = [decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }), encrypt()]
      const { gate, calls } = gateWith(order === 'decrypt first' ? plugins : plugins.reverse())
      for (const rjwk of [offCurve, smallOrder, evenExponent]) {
        for (const path of ['infer', 'explain']) {
          const res = await gate.fetch(
            joseRequest(await toGate({ rjwk }), {}, `http://gate.test/v2/models/adder/${path}`),
          )
          expect(res.status, `${order} ${path} ${rjwk.kty}`).toBe(400)
          expect(((await res.json()) as { code: string }).code).toBe('jwe_response_key')
        }
      }
      // A usable key still works through the same gate.
      const client = await responseKey()
      const ok = await gate.fetch(joseRequest(await toGate({ rjwk: client.rjwk })))
      expect(
        ((await client.open(ok)).body as { outputs: Array<{ data: number[] }> }).outputs[0]!.data,
      ).toEqual([7])
      expect(calls()).toBe(1)
    }
  })

  it('leaves plaintext requests alone when decryption is optional', async () => {
    const { gate } = gateWith([
      decrypt({ keys: [gateKey.privateJwk as DecryptionKey], required: false }),
      encrypt(),
    ])
    const res = await gate.fetch(
      new Request('http://gate.test/v2/models/adder/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: inferBody(),
      }),
    )
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(((await res.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual(
      [3],
    )
  })

  it('answers an error to an encrypted request in clear JSON, never a plaintext success', async () => {
    const client = await responseKey()
    const { gate, calls } = gateWith([
      encrypt(),
      decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }),
    ])
    const bad = await encryptJwe({
      key: gateKey.publicJwk as DecryptionKey,
      plaintext: JSON.stringify({ instances: [{ a: 1, b: 2, c: 3 }] }),
      header: { rjwk: client.rjwk },
    })
    const res = await gate.fetch(joseRequest(bad, {}, 'http://gate.test/v1/models/adder:predict'))
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(((await res.json()) as { code: string }).code).toBe('bad_request')
    expect(calls()).toBe(0)
  })
})

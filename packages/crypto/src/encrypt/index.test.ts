import { compactDecrypt, importJWK, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { decrypt, encrypt, encryptJwe, generateJwk, type DecryptionKey } from '../index.js'
import { gateWith, inferBody, joseRequest } from '../../test/helpers.js'

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

describe('encrypt', () => {
  it('refuses bad options at factory time', () => {
    expect(() => encrypt({ clientKeys: [{ kty: 'EC' }] })).toThrow(/kid/)
    expect(() => encrypt({ clientKeys: [partner.privateJwk] })).toThrow(/public/)
    expect(() => encrypt({ clientKeys: [partner.publicJwk, partner.publicJwk] })).toThrow(
      /duplicate/,
    )
    expect(() => encrypt({ clientKeys: 'x' as never })).toThrow(TypeError)
  })

  it.each([
    ['EC', () => partner],
    ['RSA', () => rsaPartner],
  ] as const)(
    'answers to a registered %s key named by rkid, bound to the request',
    async (_kty, who) => {
      const { gate, calls } = gateWith([
        decrypt({ keys: [gateKey.privateJwk as DecryptionKey] }),
        encrypt({ clientKeys: [partner.publicJwk, rsaPartner.publicJwk] }),
      ])
      const res = await gate.fetch(
        joseRequest(await toGate({ rkid: who().publicJwk.kid }, 'jti-registered-' + _kty), {
          'x-request-id': 'rid-' + _kty,
        }),
      )
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/jose')
      const { body, header } = await open(res, who().privateJwk)
      expect(body.outputs[0].data).toEqual([7])
      expect(header).toMatchObject({
        kid: who().publicJwk.kid,
        rid: 'rid-' + _kty,
        rjti: 'jti-registered-' + _kty,
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
})

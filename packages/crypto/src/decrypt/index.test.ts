import { CompactEncrypt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { deflateRawSync } from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { createJwtVerifier } from '@modelgate/access'
import { MemoryStore } from '@modelgate/core'
import { decrypt, encrypt, encryptJwe, generateJwk, type DecryptionKey } from '../index.js'
import {
  gateWith,
  inferBody,
  INFER_URL,
  joseRequest,
  responseKey,
  type ResponseKey,
} from '../../test/helpers.js'

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')
const unb64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'))

let ec: { privateJwk: JWK; publicJwk: JWK }
let rsa: { privateJwk: JWK; publicJwk: JWK }
let dir: { privateJwk: JWK; publicJwk: JWK }
let keys: DecryptionKey[]
let client: ResponseKey

beforeAll(async () => {
  ec = await generateJwk('ECDH-ES+A256KW', 'gate-ec')
  rsa = await generateJwk('RSA-OAEP-256', 'gate-rsa')
  dir = await generateJwk('dir', 'gate-dir')
  keys = [ec.privateJwk, rsa.privateJwk, dir.privateJwk] as DecryptionKey[]
  client = await responseKey()
})

/** A JWE to the gate that names the client's response key. */
const seal = (key: JWK, body = inferBody(), header: Record<string, unknown> = {}) =>
  encryptJwe({
    key: key as DecryptionKey,
    plaintext: body,
    header: { rjwk: client.rjwk, ...header },
  })

const outputOf = async (res: Response) =>
  ((await client.open(res)).body as { outputs: Array<{ data: number[] }> }).outputs[0]!.data

describe('decrypt', () => {
  it('refuses bad options at factory time', () => {
    expect(() => decrypt({ keys: [] })).toThrow(TypeError)
    expect(() => decrypt({ keys: [{ ...ec.privateJwk, kid: undefined } as never] })).toThrow(/kid/)
    expect(() => decrypt({ keys: [ec.publicJwk as DecryptionKey] })).toThrow(/private/)
    expect(() => decrypt({ keys: [{ ...ec.privateJwk, alg: 'RSA1_5' } as never] })).toThrow(/alg/)
    expect(() =>
      decrypt({ keys: [{ ...rsa.privateJwk, alg: 'ECDH-ES+A256KW' } as never] }),
    ).toThrow(/EC/)
    expect(() => decrypt({ keys, algorithms: ['ECDH-ES+A256KW'] })).toThrow(/not in algorithms/)
    expect(() => decrypt({ keys, maxBytes: 10 })).toThrow(/maxBytes/)
    expect(() => decrypt({ keys, replay: { windowSeconds: 0 } })).toThrow(/windowSeconds/)
  })

  it('refuses unknown option keys, naming the path and the nearest valid key', () => {
    expect(() => decrypt({ keys, requireBindng: true } as never)).toThrow(
      'decrypt: unknown option "requireBindng" (did you mean "requireBinding"?)',
    )
    expect(() => decrypt({ keys, replay: { windowSecond: 60 } } as never)).toThrow(
      'decrypt: unknown option "replay.windowSecond" (did you mean "replay.windowSeconds"?)',
    )
    expect(() =>
      decrypt({
        keys,
        nestedJwt: { verifier: { verify: async () => ({}) }, bodyclaim: 'b' },
      } as never),
    ).toThrow(/"nestedJwt\.bodyclaim" \(did you mean "nestedJwt\.bodyClaim"\?\)/)
  })

  it('without encrypt, refuses every encrypted request before the model (500 response_unsealed)', async () => {
    const { gate, calls } = gateWith([decrypt({ keys })])
    const res = await gate.fetch(joseRequest(await seal(ec.publicJwk)))
    expect(res.status).toBe(500)
    expect(((await res.json()) as { code: string }).code).toBe('response_unsealed')
    expect(calls()).toBe(0)
  })

  it.each(['ECDH-ES+A256KW', 'RSA-OAEP-256', 'dir'] as const)(
    'runs the model on a %s request',
    async (alg) => {
      const key = {
        'ECDH-ES+A256KW': ec.publicJwk,
        'RSA-OAEP-256': rsa.publicJwk,
        dir: dir.privateJwk,
      }[alg]
      const { gate, calls } = gateWith([decrypt({ keys }), encrypt()])
      const res = await gate.fetch(joseRequest(await seal(key, inferBody(2, 3))))
      expect(res.status).toBe(200)
      expect(await outputOf(res)).toEqual([5])
      expect(calls()).toBe(1)
    },
  )

  it('accepts X25519 keys for ECDH-ES+A256KW', async () => {
    const pair = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true })
    const x = {
      ...(await exportJWK(pair.privateKey)),
      kid: 'gate-x25519',
      alg: 'ECDH-ES+A256KW',
    } as DecryptionKey
    const { gate } = gateWith([decrypt({ keys: [x] }), encrypt()])
    const jwe = await seal(
      { ...(await exportJWK(pair.publicKey)), kid: 'gate-x25519', alg: 'ECDH-ES+A256KW' },
      inferBody(10, 1),
    )
    expect(await outputOf(await gate.fetch(joseRequest(jwe)))).toEqual([11])
  })

  it('decrypts a body an outer plugin already read (the body is read once, through the context)', async () => {
    const x = await generateJwk('ECDH-ES+A256KW', 'gate-read-first')
    const sizes: number[] = []
    const { gate } = gateWith([
      async function measure(ctx, next) {
        sizes.push((await ctx.bodyBytes()).byteLength)
        await next()
      },
      decrypt({ keys: [x.privateJwk as DecryptionKey] }),
      encrypt(),
    ])
    const jwe = await seal(x.publicJwk, inferBody(2, 3))
    const res = await gate.fetch(joseRequest(jwe))
    expect(res.status).toBe(200)
    expect(await outputOf(res)).toEqual([5])
    expect(sizes).toEqual([jwe.length])
  })

  it('refuses plaintext bodies on predict but not health', async () => {
    const { gate, calls } = gateWith([decrypt({ keys })])
    const res = await gate.fetch(
      new Request(INFER_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: inferBody(),
      }),
    )
    expect(res.status).toBe(415)
    expect(((await res.json()) as { code: string }).code).toBe('jwe_required')
    expect((await gate.fetch(new Request('http://gate.test/v2/health/live'))).status).toBe(200)
    expect(calls()).toBe(0)
  })

  it('accepts a jti once and only within the iat window', async () => {
    let now = Date.now()
    const { gate, calls } = gateWith([
      decrypt({ keys, replay: { store: new MemoryStore(), windowSeconds: 60 }, clock: () => now }),
      encrypt(),
    ])
    const jwe = await seal(ec.publicJwk)
    expect((await gate.fetch(joseRequest(jwe))).status).toBe(200)
    const again = await gate.fetch(joseRequest(jwe))
    expect(again.status).toBe(400)
    expect(((await again.json()) as { code: string }).code).toBe('jwe_replayed')
    now += 120_000
    const late = await gate.fetch(
      joseRequest(
        await encryptJwe({
          key: ec.publicJwk as DecryptionKey,
          plaintext: inferBody(),
          iat: Math.floor(Date.now() / 1000),
          header: { rjwk: client.rjwk },
        }),
      ),
    )
    expect(((await late.json()) as { code: string }).code).toBe('jwe_stale')
    const noJti = await gate.fetch(
      joseRequest(
        await new CompactEncrypt(new TextEncoder().encode(inferBody()))
          .setProtectedHeader({
            alg: 'dir',
            enc: 'A256GCM',
            kid: 'gate-dir',
            iat: Math.floor(now / 1000),
            rjwk: client.rjwk,
          })
          .encrypt(unb64u(dir.privateJwk.k!)),
      ),
    )
    expect(((await noJti.json()) as { code: string }).code).toBe('jwe_stale')
    expect(calls()).toBe(1)
  })

  it('refuses a JWE on another method or route than it was sealed for (htm, htp)', async () => {
    const { gate, calls } = gateWith([decrypt({ keys }), encrypt()])
    const bound = { htm: 'POST', htp: '/v2/models/adder/infer' }
    expect(
      (await gate.fetch(joseRequest(await seal(ec.publicJwk, inferBody(), bound)))).status,
    ).toBe(200)
    const elsewhere = [
      { ...bound, htp: '/v2/models/adder/versions/2/infer' },
      { ...bound, htm: 'PUT' },
      { htp: bound.htp },
      { htm: 'POST', htp: 7 },
    ]
    for (const header of elsewhere) {
      const res = await gate.fetch(joseRequest(await seal(ec.publicJwk, inferBody(), header)))
      expect(res.status).toBe(400)
      expect(((await res.json()) as { code: string }).code).toBe('jwe_request_mismatch')
    }
    // The same sealed body, delivered to another model's route.
    const forAdder = await seal(ec.publicJwk, inferBody(), bound)
    const rerouted = await gate.fetch(
      new Request('http://gate.test/v2/models/other/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/jose' },
        body: forAdder,
      }),
    )
    expect(((await rerouted.json()) as { code: string }).code).toBe('jwe_request_mismatch')
    expect(calls()).toBe(1)

    const strict = gateWith([decrypt({ keys, requireBinding: true }), encrypt()])
    const unbound = await strict.gate.fetch(joseRequest(await seal(ec.publicJwk)))
    expect(unbound.status).toBe(400)
    expect(((await unbound.json()) as { code: string }).code).toBe('jwe_unbound')
    const ok = await strict.gate.fetch(joseRequest(await seal(ec.publicJwk, inferBody(), bound)))
    expect(ok.status).toBe(200)
    expect(strict.calls()).toBe(1)
  })

  it('verifies a nested JWT with the access package and uses its body claim', async () => {
    const signer = await generateKeyPair('ES256', { extractable: true })
    const publicJwk = { ...(await exportJWK(signer.publicKey)), kid: 'idp-1', alg: 'ES256' }
    const { SignJWT } = await import('jose')
    const verifier = createJwtVerifier({
      issuers: [{ issuer: 'https://idp.test', jwks: { keys: [publicJwk] }, audience: 'gate' }],
      algorithms: ['ES256'],
    })
    const facts: unknown[] = []
    const { gate, calls } = gateWith([
      decrypt({ keys, nestedJwt: { verifier } }),
      encrypt(),
      async function requirePrincipal(ctx, next) {
        expect(ctx.principal?.id).toBe('analyst-7')
        await next()
        facts.push({ ...ctx.facts })
      },
    ])
    const jwt = await new SignJWT({ body: JSON.parse(inferBody(4, 4)) })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' })
      .setIssuer('https://idp.test')
      .setAudience('gate')
      .setSubject('analyst-7')
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .setExpirationTime('2m')
      .sign(signer.privateKey)
    const nestedJwe = (token: string) =>
      encryptJwe({
        key: ec.publicJwk as DecryptionKey,
        plaintext: token,
        cty: 'JWT',
        header: { rjwk: client.rjwk },
      })
    const ok = await gate.fetch(joseRequest(await nestedJwe(jwt)))
    expect(ok.status).toBe(200)
    expect(await outputOf(ok)).toEqual([8])
    expect(facts[0]).toMatchObject({
      principal: 'analyst-7',
      authMethod: 'nested_jwt',
      encryption: { alg: 'ECDH-ES+A256KW', kid: 'gate-ec' },
    })
    const forged = await new SignJWT({ body: {} })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' })
      .setIssuer('https://idp.test')
      .setAudience('gate')
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign((await generateKeyPair('ES256')).privateKey)
    const refused = await gate.fetch(joseRequest(await nestedJwe(forged)))
    expect(refused.status).toBe(401)
    const { gate: plainGate } = gateWith([decrypt({ keys }), encrypt()])
    const notAccepted = await plainGate.fetch(joseRequest(await nestedJwe(jwt)))
    expect(((await notAccepted.json()) as { code: string }).code).toBe('jwe_content_type')
    expect(calls()).toBe(1)
  })

  it('stops reading a streamed JWE at maxBytes, without a Content-Length', async () => {
    const { gate, calls } = gateWith([decrypt({ keys, maxBytes: 4096 })])
    let pulled = 0
    const chunk = new TextEncoder().encode('A'.repeat(1024))
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength
        if (pulled > 1024 * 1024) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const res = await gate.fetch(
      new Request(INFER_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/jose' },
        body: endless,
        duplex: 'half',
      } as RequestInit),
    )
    expect(res.status).toBe(413)
    expect(((await res.json()) as { code: string }).code).toBe('jwe_too_large')
    // Refused within a few chunks of the limit, not after the gate's 10 MiB.
    expect(pulled).toBeLessThan(16 * 1024)
    expect(calls()).toBe(0)
  })

  it('lets encrypt answer to the ephemeral key the request carried, bound to the request', async () => {
    const { gate } = gateWith([decrypt({ keys }), encrypt()])
    const jwe = await encryptJwe({
      key: ec.publicJwk as DecryptionKey,
      plaintext: inferBody(1, 1),
      jti: 'request-jti-0001',
      header: { rjwk: client.rjwk },
    })
    const res = await gate.fetch(joseRequest(jwe, { 'x-request-id': 'req-42' }))
    expect(res.headers.get('content-type')).toBe('application/jose')
    expect(res.headers.get('x-client-request-id')).toBe('req-42')
    const { body, header } = await client.open(res)
    // rid is the gate's own id (the client's id is never a key), echoed in x-request-id.
    expect(header).toMatchObject({
      rid: res.headers.get('x-request-id'),
      rjti: 'request-jti-0001',
      cty: 'application/json',
    })
    expect(header.rid).not.toBe('req-42')
    expect((body as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual([2])
  })
})

describe('tamper suite: refused within 50 ms, the model never runs', () => {
  let gate: ReturnType<typeof gateWith>['gate']
  let calls: () => number
  let valid: string

  beforeAll(async () => {
    ;({ gate, calls } = gateWith([decrypt({ keys, replay: false }), encrypt()]))
    const warm = await gate.fetch(joseRequest(await seal(ec.publicJwk)))
    expect(warm.status).toBe(200)
    await gate.fetch(joseRequest(await seal(rsa.publicJwk)))
    valid = await seal(ec.publicJwk)
  })

  const flipPart = (jwe: string, part: number, at = 0.5) => {
    const parts = jwe.split('.')
    const bytes = unb64u(parts[part]!)
    bytes[Math.floor(bytes.length * at)]! ^= 0x01
    parts[part] = b64u(bytes)
    return parts.join('.')
  }
  const withHeader = (jwe: string, edit: (h: Record<string, unknown>) => void) => {
    const parts = jwe.split('.')
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString())
    edit(header)
    parts[0] = Buffer.from(JSON.stringify(header)).toString('base64url')
    return parts.join('.')
  }

  const cases: Array<[string, () => Promise<string> | string, number, string]> = [
    [
      'a bit flip in the header (authenticated jti)',
      () =>
        withHeader(
          valid,
          (h) => (h.jti = String(h.jti).replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))),
        ),
      400,
      'jwe_decrypt_failed',
    ],
    ['a bit flip in the raw header bytes', () => flipPart(valid, 0, 0.9), 400, ''],
    ['a bit flip in the encrypted key', () => flipPart(valid, 1), 400, 'jwe_decrypt_failed'],
    ['a bit flip in the IV', () => flipPart(valid, 2), 400, 'jwe_decrypt_failed'],
    ['a bit flip in the ciphertext', () => flipPart(valid, 3), 400, 'jwe_decrypt_failed'],
    ['a bit flip in the tag', () => flipPart(valid, 4), 400, 'jwe_decrypt_failed'],
    [
      'a truncated tag',
      () => {
        const p = valid.split('.')
        p[4] = b64u(unb64u(p[4]!).subarray(0, 15))
        return p.join('.')
      },
      400,
      'jwe_malformed',
    ],
    [
      'an empty tag',
      () => {
        const p = valid.split('.')
        p[4] = ''
        return p.join('.')
      },
      400,
      'jwe_malformed',
    ],
    [
      'an empty IV',
      () => {
        const p = valid.split('.')
        p[2] = ''
        return p.join('.')
      },
      400,
      'jwe_malformed',
    ],
    [
      'an RSA encrypted key under a flipped bit',
      async () => flipPart(await seal(rsa.publicJwk), 1),
      400,
      'jwe_decrypt_failed',
    ],
    [
      'a wrong key under the same kid',
      async () => {
        const other = await generateJwk('ECDH-ES+A256KW', 'gate-ec')
        return seal(other.publicJwk)
      },
      400,
      'jwe_decrypt_failed',
    ],
    [
      'an invalid-curve epk',
      () =>
        withHeader(valid, (h) => {
          const epk = h.epk as { x: string; y: string }
          const y = unb64u(epk.y)
          y[31]! ^= 0x01
          epk.y = b64u(y)
        }),
      400,
      'jwe_decrypt_failed',
    ],
    ['an unknown kid', () => withHeader(valid, (h) => (h.kid = 'nope')), 400, 'jwe_unknown_kid'],
    [
      "an alg that is not the kid's",
      () => withHeader(valid, (h) => (h.kid = 'gate-rsa')),
      400,
      'jwe_alg_mismatch',
    ],
    [
      'RSA1_5',
      () => withHeader(valid, (h) => ((h.alg = 'RSA1_5'), (h.kid = 'gate-rsa'))),
      400,
      'jwe_alg_not_allowed',
    ],
    [
      'RSA-OAEP (SHA-1), made by jose',
      async () =>
        new CompactEncrypt(new TextEncoder().encode(inferBody()))
          .setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'gate-rsa' })
          .encrypt(await importJWK({ ...rsa.publicJwk, alg: 'RSA-OAEP' }, 'RSA-OAEP')),
      400,
      'jwe_alg_not_allowed',
    ],
    [
      'A128CBC-HS256, made by jose',
      async () =>
        new CompactEncrypt(new TextEncoder().encode(inferBody()))
          .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A128CBC-HS256', kid: 'gate-ec' })
          .encrypt(await importJWK({ ...ec.publicJwk }, 'ECDH-ES+A256KW')),
      400,
      'jwe_enc_not_allowed',
    ],
    [
      'PBES2 with a huge p2c',
      () =>
        withHeader(valid, (h) =>
          Object.assign(h, {
            alg: 'PBES2-HS512+A256KW',
            p2c: 2 ** 31,
            p2s: 'c2FsdHNhbHRzYWx0c2FsdA',
            kid: 'gate-dir',
          }),
        ),
      400,
      'jwe_alg_not_allowed',
    ],
    [
      'a zip bomb (zip: DEF, 64 MiB of zeros)',
      async () => {
        const header = b64u(
          new TextEncoder().encode(
            JSON.stringify({
              alg: 'dir',
              enc: 'A256GCM',
              zip: 'DEF',
              kid: 'gate-dir',
              iat: 0,
              jti: 'zip-bomb-000',
            }),
          ),
        )
        const iv = crypto.getRandomValues(new Uint8Array(12))
        const key = await crypto.subtle.importKey(
          'raw',
          unb64u(dir.privateJwk.k!),
          'AES-GCM',
          false,
          ['encrypt'],
        )
        const sealed = new Uint8Array(
          await crypto.subtle.encrypt(
            { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(header) },
            key,
            deflateRawSync(Buffer.alloc(64 << 20)),
          ),
        )
        return [
          header,
          '',
          b64u(iv),
          b64u(sealed.subarray(0, -16)),
          b64u(sealed.subarray(-16)),
        ].join('.')
      },
      400,
      'jwe_zip_not_allowed',
    ],
    [
      'crit extensions',
      () => withHeader(valid, (h) => (h.crit = ['exp'])),
      400,
      'jwe_crit_not_allowed',
    ],
    ['not a JWE at all', () => 'hello.world', 400, 'jwe_malformed'],
    ['an oversized body (1 MiB + 1)', () => 'a'.repeat(1024 * 1024 + 1), 413, ''],
  ]

  it.each(cases)('%s', async (_name, make, status, code) => {
    const jwe = await make()
    const started = performance.now()
    const res = await gate.fetch(joseRequest(jwe))
    const body = (await res.json()) as { code: string; error: string }
    const elapsed = performance.now() - started
    expect(res.status).toBe(status)
    if (code) expect(body.code).toBe(code)
    if (status === 413) expect(res.headers.get('connection')).toBe('close')
    expect(body.error).not.toMatch(/"d"|"k"|BEGIN|at \w+ \(/)
    expect(elapsed).toBeLessThan(50)
    expect(calls()).toBe(2)
  })
})

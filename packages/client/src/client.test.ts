import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGate, type Gate } from '@modelgate/core'
import { createExpressApp } from '@modelgate/express'
import { decrypt, encrypt, generateJwk, sign, type DecryptionKey } from '@modelgate/crypto'
import type { JWK } from 'jose'
import { echoRoute, inputsAsAttributions, linearBackend } from '@modelgate/testkit/fixtures'
import { requireToken } from '../test/helpers.js'
import { createClient, ModelgateError, type ClientOptions } from './index.js'

const adder = linearBackend([1, 1], { output: 'sum' })
// Explains the adder with its inputs as attributions (exact for a sum), so the client's handling
// of explanation answers is checked without depending on the explain package.
const inputsAsSumAttributions = inputsAsAttributions({
  model: 'adder',
  output: 'sum',
  featureNames: ['a', 'b'],
})

let gateEc: { privateJwk: JWK; publicJwk: JWK }
let gateSig: { privateJwk: JWK; publicJwk: JWK }
let partner: { privateJwk: JWK; publicJwk: JWK }
const servers: Server[] = []

async function serve(gate: Gate): Promise<string> {
  await gate.ready()
  const server = createServer(createExpressApp(gate))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let secureUrl: string
let plainUrl: string
let signedUrl: string

beforeAll(async () => {
  ;[gateEc, gateSig, partner] = await Promise.all([
    generateJwk('ECDH-ES+A256KW', 'gate-ec'),
    generateJwk('EdDSA', 'gate-sig'),
    generateJwk('RSA-OAEP-256', 'partner'),
  ])
  secureUrl = await serve(
    createGate({
      models: [
        {
          name: 'adder',
          backend: adder,
          schema: {
            input: 'x',
            features: [
              { name: 'a', type: 'numeric' },
              { name: 'b', type: 'numeric' },
            ],
          },
        },
      ],
      routes: [echoRoute],
      plugins: [
        encrypt({ clientKeys: [partner.publicJwk] }),
        inputsAsSumAttributions,
        decrypt({ keys: [gateEc.privateJwk as DecryptionKey] }),
        requireToken,
        sign({ key: gateSig.privateJwk as never }),
      ],
    }),
  )
  plainUrl = await serve(createGate({ models: [{ name: 'adder', backend: adder }] }))
  signedUrl = await serve(
    createGate({
      models: [
        { name: 'adder', version: '1', backend: adder },
        { name: 'adder', version: '2', backend: adder },
      ],
      plugins: [sign({ key: gateSig.privateJwk as never })],
    }),
  )
})
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

const secure = (extra: Partial<ClientOptions> = {}) =>
  createClient({
    baseUrl: secureUrl,
    token: async () => 't-1',
    encryption: { gateKey: gateEc.publicJwk },
    signature: { keys: [gateSig.publicJwk] },
    ...extra,
  })

describe('createClient against a gate over HTTP', () => {
  it('infer: encrypts the request, verifies the signature, decrypts the response', async () => {
    const before = adder.calls
    const res = await secure().infer('adder', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }],
    })
    expect(res.outputs[0]).toMatchObject({ name: 'sum', shape: [2, 1], data: [3, 7] })
    expect(adder.calls).toBe(before + 1)
    const raw = await secure().request(
      'POST',
      '/v2/models/adder/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 1] }] },
      { requestId: 'client-req-1' },
    )
    expect(raw).toMatchObject({
      status: 200,
      clientRequestId: 'client-req-1',
      encrypted: true,
      signedBy: 'gate-sig',
    })
    // The gate names the request with an id of its own; the client's id is only recorded.
    expect(raw.requestId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('gets sealed answers from a contributed route and from explain, whatever the plugin order', async () => {
    const echoed = await secure().request('POST', '/echo', { hello: 'world' })
    expect(echoed).toMatchObject({
      encrypted: true,
      signedBy: 'gate-sig',
      body: { echoed: { hello: 'world' } },
    })
    const explained = await secure().request<{ explanations: unknown[] }>(
      'POST',
      '/v2/models/adder/explain',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [2, 3] }] },
    )
    expect(explained.encrypted).toBe(true)
    expect(explained.body.explanations).toHaveLength(1)
  })

  it('predict (V1) with a registered RSA response key, and explain with typed explanations', async () => {
    const client = secure({
      encryption: { gateKey: gateEc.publicJwk, responseKey: partner.privateJwk },
    })
    const { predictions } = await client.predict<number>('adder', [
      { a: 1, b: 5 },
      { a: 2, b: 2 },
    ])
    expect(predictions).toEqual([6, 4])
    const explained = await client.explain('adder', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [3, 4] }],
      parameters: { explainer: 'exact_shap' },
    })
    expect(explained.explanations[0]).toMatchObject({
      method: 'exact_shap',
      feature_names: ['a', 'b'],
      values: [[3, 4]],
    })
  })

  it('turns gate errors into ModelgateError with status and code, once their signature verifies', async () => {
    const err = await secure()
      .infer('nope', { inputs: [] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ModelgateError)
    expect(err).toMatchObject({ status: 404, code: 'model_not_found' })
    expect((err as ModelgateError).requestId).toMatch(/^[0-9a-f-]{36}$/)
    // A refusal made up on the way (a proxy, an attacker) is not taken for the gate's.
    const forged: typeof fetch = async () =>
      new Response('{"error":"rate limit exceeded","code":"rate_limited"}', {
        status: 429,
        headers: { 'content-type': 'application/json' },
      })
    await expect(secure({ fetch: forged }).infer('adder', { inputs: [] })).rejects.toMatchObject({
      status: 429,
      code: 'client_signature_missing',
    })
    const relabelled: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      const text = (await res.text()).replace('model_not_found', 'not_ready')
      return new Response(text, { status: res.status, headers: res.headers })
    }
    await expect(secure({ fetch: relabelled }).infer('nope', { inputs: [] })).rejects.toMatchObject(
      {
        status: 404,
        code: 'client_signature_invalid',
      },
    )
    const noToken = await secure({ token: 'wrong' })
      .infer('adder', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 1] }] })
      .catch((e: unknown) => e)
    expect(noToken).toMatchObject({ status: 401 })
  })

  it('binds a request to its route: a proxy that reroutes it is caught by the gate or the client', async () => {
    const before = adder.calls
    const rerouting: typeof fetch = async (input, init) =>
      fetch(String(input).replace('/models/adder/versions/2/', '/models/adder/versions/1/'), init)
    const body = {
      inputs: [{ name: 'x' as const, datatype: 'FP32' as const, shape: [1, 2], data: [1, 1] }],
    }
    // Sealed: the gate refuses the JWE at the other version before the model runs, and its
    // signed refusal names the other route, which the client reports.
    await expect(
      secure({ fetch: rerouting }).infer('adder', body, { version: '2' }),
    ).rejects.toMatchObject({ status: 400, code: 'client_signature_invalid' })
    const unsigned = createClient({
      baseUrl: secureUrl,
      token: 't-1',
      encryption: { gateKey: gateEc.publicJwk },
      fetch: rerouting,
    })
    await expect(unsigned.infer('adder', body, { version: '2' })).rejects.toMatchObject({
      status: 400,
      code: 'jwe_request_mismatch',
    })
    expect(adder.calls).toBe(before)
    // Signed only: the gate answers the other version, and the client refuses its signature.
    const signedOnly = createClient({
      baseUrl: signedUrl,
      signature: { keys: [gateSig.publicJwk] },
      fetch: rerouting,
    })
    await expect(signedOnly.infer('adder', body, { version: '2' })).rejects.toMatchObject({
      code: 'client_signature_invalid',
    })
    const direct = createClient({ baseUrl: signedUrl, signature: { keys: [gateSig.publicJwk] } })
    expect((await direct.infer('adder', body, { version: '1' })).outputs[0]!.data).toEqual([2])
    // Names that would resolve to another route never leave the client.
    for (const name of ['..', '.'])
      await expect(direct.infer(name, body)).rejects.toThrow(TypeError)
    await expect(direct.infer('adder', body, { version: '..' })).rejects.toThrow(TypeError)
    const mounted = createClient({ baseUrl: `${signedUrl}/ml` })
    await expect(mounted.request('GET', '../v2/health/live')).rejects.toThrow(/leaves the base URL/)
  })

  it('refuses a response swapped in from another request', async () => {
    let kept: Response | undefined
    const replaying: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      if (!kept) {
        kept = res.clone()
        return res
      }
      return kept.clone()
    }
    const client = secure({ fetch: replaying })
    const body = {
      inputs: [{ name: 'x' as const, datatype: 'FP32' as const, shape: [1, 2], data: [1, 1] }],
    }
    await client.infer('adder', body)
    await expect(client.infer('adder', body)).rejects.toMatchObject({
      code: 'client_signature_invalid',
    })
    const unsigned = createClient({
      baseUrl: secureUrl,
      token: 't-1',
      encryption: { gateKey: gateEc.publicJwk },
      fetch: replaying,
    })
    await expect(unsigned.infer('adder', body)).rejects.toMatchObject({
      code: 'client_decrypt_failed',
    })
    kept = undefined
    const registered = createClient({
      baseUrl: secureUrl,
      token: 't-1',
      encryption: { gateKey: gateEc.publicJwk, responseKey: partner.privateJwk },
      fetch: replaying,
    })
    await registered.infer('adder', body)
    await expect(registered.infer('adder', body)).rejects.toMatchObject({
      code: 'client_response_unbound',
    })
  })

  it('refuses a tampered body and an unsigned answer when signatures are required', async () => {
    const flipping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      const bytes = new Uint8Array(await res.arrayBuffer())
      bytes[bytes.length - 5]! ^= 0x01
      return new Response(bytes, { status: res.status, headers: res.headers })
    }
    const body = {
      inputs: [{ name: 'x' as const, datatype: 'FP32' as const, shape: [1, 2], data: [1, 1] }],
    }
    await expect(secure({ fetch: flipping }).infer('adder', body)).rejects.toMatchObject({
      code: 'client_signature_invalid',
    })
    const plain = createClient({ baseUrl: plainUrl, signature: { keys: [gateSig.publicJwk] } })
    await expect(plain.infer('adder', body)).rejects.toMatchObject({
      code: 'client_signature_missing',
    })
    expect(
      (await createClient({ baseUrl: plainUrl }).infer('adder', body)).outputs[0]!.data,
    ).toEqual([2])
  })

  it('refuses bad options at creation', () => {
    expect(() => createClient({ baseUrl: 'relative/path' })).toThrow(TypeError)
    expect(() =>
      createClient({
        baseUrl: secureUrl,
        signature: { keys: [gateSig.publicJwk], requird: false },
      } as never),
    ).toThrow(
      'createClient: unknown option "signature.requird" (did you mean "signature.required"?)',
    )
    expect(() =>
      createClient({ baseUrl: secureUrl, encryption: { gateKey: gateEc.privateJwk } }),
    ).toThrow(/public/)
    expect(() =>
      createClient({
        baseUrl: secureUrl,
        encryption: { gateKey: { ...gateEc.publicJwk, alg: 'RSA1_5' } },
      }),
    ).toThrow(/alg/)
    expect(() => createClient({ baseUrl: secureUrl, signature: { keys: [] } })).toThrow(/keys/)
    expect(() => createClient({ baseUrl: secureUrl, timeoutMs: 0 })).toThrow(/timeoutMs/)
  })
})

import type { GateReply, Plugin } from '@modelgate/core'
import { echoRoute, inputsAsAttributions } from '@modelgate/testkit/fixtures'
import type { JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  decrypt,
  encrypt,
  encryptJwe,
  generateJwk,
  sign,
  verifyResponseSignature,
  type DecryptionKey,
} from '../index.js'
import { gateWith, inferBody, responseKey, type ResponseKey } from '../../test/helpers.js'

const explainer = inputsAsAttributions({ model: 'adder', output: 'y', featureNames: ['a', 'b'] })
const routes: Plugin = Object.assign(
  async function routes(_ctx: Parameters<Plugin>[0], next: () => Promise<void>) {
    await next()
  },
  { routes: [echoRoute] },
)

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items]
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  )
}

const ROUTES = [
  { name: 'v2 infer', path: '/v2/models/adder/infer', body: inferBody(1, 2) },
  { name: 'v1 predict', path: '/v1/models/adder:predict', body: '{"instances":[{"a":1,"b":2}]}' },
  { name: 'v2 explain', path: '/v2/models/adder/explain', body: inferBody(1, 2) },
  { name: 'v1 explain', path: '/v1/models/adder:explain', body: '{"instances":[{"a":1,"b":2}]}' },
  { name: 'contributed route', path: '/echo', body: '{"a":1}' },
  { name: 'protect() handler', path: '/score', body: '{"a":1}' },
] as const

let gateKey: { privateJwk: JWK; publicJwk: JWK }
let sigKey: { privateJwk: JWK; publicJwk: JWK }
let client: ResponseKey

beforeAll(async () => {
  ;[gateKey, sigKey] = await Promise.all([
    generateJwk('ECDH-ES+A256KW', 'gate'),
    generateJwk('EdDSA', 'sig'),
  ])
  client = await responseKey()
})

const toResponse = (reply: GateReply) =>
  new Response(reply.body as BodyInit | null, { status: reply.status, headers: reply.headers })

describe('an encrypted request gets a sealed, signed answer on every route, in every order', () => {
  const orders = permutations(['decrypt', 'encrypt', 'sign', 'explainer'] as const)

  it.each(orders.map((o) => [o.join(' → '), o] as const))('%s', async (_name, order) => {
    const plugins = order.map((name) =>
      name === 'decrypt'
        ? decrypt({ keys: [gateKey.privateJwk as DecryptionKey] })
        : name === 'encrypt'
          ? encrypt()
          : name === 'sign'
            ? sign({ key: sigKey.privateJwk as never })
            : explainer,
    )
    const { gate, calls } = gateWith([...plugins, routes])
    await gate.ready()
    for (const route of ROUTES) {
      const jti = crypto.randomUUID()
      const jwe = await encryptJwe({
        key: gateKey.publicJwk as DecryptionKey,
        plaintext: route.body,
        jti,
        header: { rjwk: client.rjwk, htm: 'POST', htp: route.path },
      })
      const request = new Request(`http://gate.test${route.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', 'x-request-id': `c-${jti}` },
        body: jwe,
      })
      const res =
        route.path === '/score'
          ? toResponse(
              await gate.handleRoute(request, {
                name: 'protect:/score',
                operation: 'predict',
                model: 'adder',
                terminal: async (ctx) => {
                  ctx.body = { scored: await ctx.json() }
                },
              }),
            )
          : await gate.fetch(request)
      const where = `${route.name} (${order.join(', ')})`
      expect(res.status, where).toBe(200)
      expect(res.headers.get('content-type'), where).toBe('application/jose')
      const sent = new Uint8Array(await res.arrayBuffer())
      const requestId = res.headers.get('x-request-id')!
      await verifyResponseSignature(
        sent,
        res.headers.get('x-modelgate-signature')!,
        [sigKey.publicJwk],
        {
          requestId,
          clientRequestId: `c-${jti}`,
          status: 200,
          method: 'POST',
          path: route.path,
        },
      )
      const { body, header } = await client.open(new TextDecoder().decode(sent))
      expect(header, where).toMatchObject({ rid: requestId, rjti: jti })
      const answer = body as Record<string, unknown>
      if (route.name === 'contributed route') expect(answer).toEqual({ echoed: { a: 1 } })
      else if (route.name === 'protect() handler') expect(answer).toEqual({ scored: { a: 1 } })
      else if (route.name.startsWith('v1')) expect(answer.predictions).toEqual([3])
      else expect((answer.outputs as Array<{ data: number[] }>)[0]!.data).toEqual([3])
      if (route.name.endsWith('explain'))
        expect((answer.explanations as Array<{ values: number[][] }>)[0]!.values).toEqual([[1, 2]])
    }
    expect(calls()).toBe(4)
  })
})

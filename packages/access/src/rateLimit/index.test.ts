import { createGate, MemoryStore, type Plugin } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { countingBackend, inferRequest } from '../../test/helpers.js'
import { authenticate } from '../authenticate/index.js'
import { createApiKey } from '../apikeys.js'
import type { RateLimitRule } from '../types.js'
import { rateLimit } from './index.js'

const pepper = 'a-pepper-of-at-least-thirty-two-bytes!'

async function setup(
  rules: RateLimitRule[],
  order: 'authenticate first' | 'limit first' = 'authenticate first',
) {
  let now = Date.UTC(2026, 0, 1)
  const store = new MemoryStore({ now: () => now })
  const alice = await createApiKey({ pepper, principal: { id: 'alice', tenant: 'acme' } })
  const bob = await createApiKey({ pepper, principal: { id: 'bob', tenant: 'acme' } })
  const carol = await createApiKey({ pepper, principal: { id: 'carol', tenant: 'globex' } })
  const backend = countingBackend()
  const plugins: Plugin[] = [
    authenticate({ apiKeys: { pepper, records: [alice.record, bob.record, carol.record] } }),
    rateLimit({ rules, store }),
  ]
  if (order === 'limit first') plugins.reverse()
  const gate = createGate({
    models: [
      { name: 'credit', backend },
      { name: 'fraud', backend },
    ],
    plugins,
  })
  await gate.ready()
  const call = (key: string, model = 'credit') =>
    gate.fetch(inferRequest({ 'x-api-key': key }, model))
  return {
    gate,
    backend,
    call,
    keys: { alice: alice.key, bob: bob.key, carol: carol.key },
    advance: (ms: number) => (now += ms),
  }
}

describe('rateLimit', () => {
  it('limits per principal and tenant listed before authenticate too, never skipping a bucket', async () => {
    const { backend, call, keys } = await setup(
      [
        { by: 'principal', capacity: 2, refillPerSecond: 0 },
        { by: 'tenant', capacity: 3, refillPerSecond: 0 },
      ],
      'limit first',
    )
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await call(keys.alice)).status)
    expect(statuses).toEqual([200, 200, 429])
    expect((await call(keys.bob)).status).toBe(200)
    expect((await call(keys.bob)).status).toBe(429)
    expect((await call('not-a-key')).status).toBe(401)
    expect(backend.calls).toBe(3)
  })

  it('charges by request size: bytes in KiB or records, so one big request costs what many small ones do', async () => {
    const records = await setup([
      { by: 'principal', capacity: 5, refillPerSecond: 0, cost: 'records' },
    ])
    const rows = (n: number) =>
      new Request('http://gate/v1/models/credit:predict', {
        method: 'POST',
        headers: { 'x-api-key': records.keys.alice, 'content-type': 'application/json' },
        body: JSON.stringify({ instances: Array.from({ length: n }, () => [1, 2]) }),
      })
    expect((await records.gate.fetch(rows(4))).status).toBe(200)
    expect((await records.gate.fetch(rows(2))).status).toBe(429)
    expect((await records.gate.fetch(rows(1))).status).toBe(200)
    const bytes = await setup([{ by: 'principal', capacity: 8, refillPerSecond: 0, cost: 'bytes' }])
    const sized = (kib: number) =>
      new Request('http://gate/v1/models/credit:predict', {
        method: 'POST',
        headers: { 'x-api-key': bytes.keys.alice, 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[1, 2]], pad: 'x'.repeat(kib * 1024) }),
      })
    expect((await bytes.gate.fetch(sized(6))).status).not.toBe(429)
    expect((await bytes.gate.fetch(sized(2))).status).toBe(429)
    expect(() =>
      rateLimit({
        rules: [{ by: 'global', capacity: 1, refillPerSecond: 1, cost: 'rows' as never }],
      }),
    ).toThrow(/cost must be/)
  })

  it('limits per principal with 429 and Retry-After, refills over time, and never runs the model when limited', async () => {
    const { backend, call, keys, advance } = await setup([
      { by: 'principal', capacity: 3, refillPerSecond: 0.5 },
    ])
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await call(keys.alice)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await call(keys.alice)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(await limited.json()).toEqual({ error: 'rate limit exceeded', code: 'rate_limited' })
    expect((await call(keys.bob)).status).toBe(200)
    expect(backend.calls).toBe(4)
    advance(2000)
    const again = await call(keys.alice)
    expect(again.status).toBe(200)
    expect(again.headers.get('ratelimit-remaining')).toBe('0')
  })

  it('limits per tenant and per model, bucket by bucket', async () => {
    const { call, keys } = await setup([
      { by: 'tenant', capacity: 2, refillPerSecond: 0 },
      { by: 'model', capacity: 3, refillPerSecond: 0 },
    ])
    expect((await call(keys.alice)).status).toBe(200)
    expect((await call(keys.bob)).status).toBe(200)
    expect((await call(keys.bob)).status).toBe(429)
    expect((await call(keys.carol)).status).toBe(200)
    expect((await call(keys.carol)).status).toBe(429)
    expect((await call(keys.carol, 'fraud')).status).toBe(429)
    const fresh = await setup([{ by: 'model', capacity: 1, refillPerSecond: 0 }])
    expect((await fresh.call(fresh.keys.carol, 'credit')).status).toBe(200)
    expect((await fresh.call(fresh.keys.carol, 'fraud')).status).toBe(200)
    expect((await fresh.call(fresh.keys.alice, 'fraud')).status).toBe(429)
  })

  it('charges a per-request cost, skips health routes and unauthenticated requests never reach it', async () => {
    const { gate, call, keys } = await setup([
      { by: 'global', capacity: 10, refillPerSecond: 0, cost: () => 4 },
    ])
    for (let i = 0; i < 5; i++)
      expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    expect((await gate.fetch(inferRequest())).status).toBe(401)
    expect((await call(keys.alice)).status).toBe(200)
    expect((await call(keys.bob)).status).toBe(200)
    expect((await call(keys.carol)).status).toBe(429)
  })

  it('keeps no bucket for a model name that is not registered', async () => {
    const inner = new MemoryStore()
    const taken: string[] = []
    const store = {
      take: (key: string, bucket: { capacity: number; refillPerSecond: number }, cost?: number) => {
        taken.push(key)
        return inner.take(key, bucket, cost)
      },
    }
    const alice = await createApiKey({ pepper, principal: { id: 'alice' } })
    const gate = createGate({
      models: [{ name: 'credit', backend: countingBackend() }],
      plugins: [
        authenticate({ apiKeys: { pepper, records: [alice.record] } }),
        rateLimit({ rules: [{ by: 'model', capacity: 5, refillPerSecond: 1 }], store }),
      ],
    })
    await gate.ready()
    for (const model of ['nope-1', 'nope-2', 'credit']) {
      const res = await gate.fetch(inferRequest({ 'x-api-key': alice.key }, model))
      expect(res.status).toBe(model === 'credit' ? 200 : 404)
    }
    expect(taken).toEqual(['rl:model:credit'])
  })

  it('validates its rules at factory time', () => {
    expect(() => rateLimit({ rules: [] })).toThrow(TypeError)
    expect(() =>
      rateLimit({ rules: [{ by: 'user' as never, capacity: 1, refillPerSecond: 1 }] }),
    ).toThrow(/by must be/)
    expect(() =>
      rateLimit({ rules: [{ by: 'principal', capacity: 0, refillPerSecond: 1 }] }),
    ).toThrow(/capacity/)
    expect(() =>
      rateLimit({ rules: [{ by: 'principal', capacity: 5, refillPerSecond: -1 }] }),
    ).toThrow(/refill/)
    expect(() =>
      rateLimit({ rules: [{ by: 'principal', capacity: 5, refillPerSecond: 1, cost: 6 }] }),
    ).toThrow(/cost/)
    expect(() =>
      rateLimit({ rules: [{ by: 'principal', capacity: 5, refilPerSecond: 1 }] } as never),
    ).toThrow(
      'rateLimit: unknown option "rules[0].refilPerSecond" (did you mean "rules[0].refillPerSecond"?)',
    )
    expect(() =>
      rateLimit({
        rules: [{ by: 'principal', capacity: 5, refillPerSecond: 1 }],
        exemptOperation: ['health'],
      } as never),
    ).toThrow('(did you mean "exemptOperations"?)')
  })
})

import { createGate, type Gate, type Plugin } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { createRedisStores, type RedisLike } from '@modelgate/store-redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type TestRedis } from '../../store-redis/src/redis-server.test-util.js'
import { llm } from './index.js'
import { createStandIn, type StandIn } from './testing/index.js'

// Two replicas of one gate on one Redis: token budgets and placeholders are shared, as they are
// between processes behind a load balancer.

let redis: TestRedis
let standIn: StandIn
const clients: Redis[] = []
const gates: Gate[] = []
const KEY = 'k'.repeat(43)

beforeAll(async () => {
  redis = await startRedis()
  standIn = createStandIn()
})

afterAll(async () => {
  for (const g of gates) await g.close()
  for (const c of clients) c.disconnect()
  await redis?.stop()
})

const tenant: Plugin = async function tenant(ctx, next) {
  ctx.principal = { id: 'u1', kind: 'test', roles: [], scopes: [], tenant: 'acme' }
  await next()
}

function replica(prefix: string, withPrincipal: boolean): Gate {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  clients.push(client)
  const stores = createRedisStores(client as unknown as RedisLike, { prefix })
  const gate = createGate({
    models: [],
    plugins: [
      ...(withPrincipal ? [tenant] : []),
      mask({ key: KEY, vault: stores.vault }),
      llm({
        budgets: [{ by: 'tenant', tokens: 200, perSeconds: 3600 }],
        budgetStore: stores.rateLimits,
        models: [
          {
            name: 'chat',
            upstream: {
              type: 'openai',
              url: 'http://standin/v1',
              fetch: (url, init) => standIn.fetch(new Request(url, init)),
            },
          },
        ],
      }),
    ],
  })
  gates.push(gate)
  return gate
}

const post = (gate: Gate, content: string, headers: Record<string, string> = {}) =>
  gate.fetch(
    new Request('http://gate/v1/chat/completions', {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
    }),
  )

describe('two replicas on one Redis', () => {
  it('hold one token budget', async () => {
    const prompt = 'Please summarise the quarterly figures for the board meeting next week.'
    const run = async (a: Gate, b: Gate) => {
      const statuses: number[] = []
      for (let i = 0; i < 12; i++) {
        const res = await post(i % 2 === 0 ? a : b, prompt)
        statuses.push(res.status)
        await res.arrayBuffer()
      }
      return statuses
    }
    const shared = await run(replica('mg:budget:', true), replica('mg:budget:', true))
    const apart = await run(replica('mg:one:', true), replica('mg:two:', true))
    const served = (s: number[]) => s.filter((x) => x === 200).length
    const usage = standIn.calls.at(-1)!
    expect(usage.body.messages).toEqual([{ role: 'user', content: prompt }])
    // Each call uses the same tokens; 200 of them serve that many calls in all, across both.
    const direct = await standIn.fetch(
      new Request('http://s/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify(usage.body),
      }),
    )
    const perCall: number = (await direct.json()).usage.total_tokens
    expect(served(shared)).toBe(Math.floor(200 / perCall))
    expect(shared.slice(served(shared))).toEqual(new Array(12 - served(shared)).fill(429))
    // With a budget per replica, every call fits: only the shared one refuses.
    expect(served(shared)).toBeLessThan(12)
    expect(served(apart)).toBe(12)
  })

  it('share placeholders: a conversation started on one resumes on the other', async () => {
    const [a, b] = [replica('mg:ph:', false), replica('mg:ph:', false)]
    const first = await post(a, 'I am Ana Lopez, mail ana.lopez@example.org')
    const conversation = first.headers.get('x-modelgate-conversation')!
    expect((await first.json()).choices[0].message.content).toBe(
      'I am Ana Lopez, mail ana.lopez@example.org',
    )
    const sentA = JSON.stringify(standIn.calls.at(-1)!.body)
    const second = await post(b, 'Write to ana.lopez@example.org', {
      'x-modelgate-conversation': conversation,
    })
    expect((await second.json()).choices[0].message.content).toBe('Write to ana.lopez@example.org')
    const sentB = JSON.stringify(standIn.calls.at(-1)!.body)
    const email = /<EMAIL_\d+>/.exec(sentA)![0]
    expect(sentB).toContain(email)
    expect(sentA + sentB).not.toContain('ana.lopez@example.org')
    const keys = await clients[0]!.keys('mg:ph:*')
    const values = await Promise.all(keys.map((k) => clients[0]!.get(k)))
    expect(keys.length).toBeGreaterThan(0)
    expect(JSON.stringify([keys, values])).not.toContain('ana.lopez')
  })
})

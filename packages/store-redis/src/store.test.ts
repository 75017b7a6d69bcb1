import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { GateError, MemoryStore } from '@modelgate/core'
import { createRedisStores, RedisStore } from './index.js'
import { freePort, startRedis, type TestRedis } from './redis-server.test-util.js'

let server: TestRedis
let redis: Redis
beforeAll(async () => {
  server = await startRedis()
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
})
afterAll(async () => {
  redis.disconnect()
  await server.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('RedisStore as a KeyValueStore', () => {
  it('gets, sets, deletes under its prefix', async () => {
    const store = new RedisStore(redis, { prefix: 't1:' })
    expect(await store.get('a')).toBeUndefined()
    await store.set('a', 'one')
    expect(await store.get('a')).toBe('one')
    expect(await redis.get('t1:a')).toBe('one')
    expect(await redis.pttl('t1:a')).toBe(-1)
    await store.delete('a')
    expect(await store.get('a')).toBeUndefined()
  })

  it('expires keys after their TTL', async () => {
    const store = new RedisStore(redis, { prefix: 't2:' })
    await store.set('k', 'v', 150)
    const pttl = await redis.pttl('t2:k')
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(150)
    await sleep(250)
    expect(await store.get('k')).toBeUndefined()
    await expect(store.set('k', 'v', 0)).rejects.toThrow(TypeError)
  })

  it('setIfAbsent is SET NX PX: one winner among concurrent callers, free again after the TTL', async () => {
    const store = new RedisStore(redis, { prefix: 't3:' })
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.setIfAbsent('jti:x', '1', 200)),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
    await sleep(300)
    expect(await store.setIfAbsent('jti:x', '1', 200)).toBe(true)
  })
})

describe('RedisStore as a RateLimitStore', () => {
  it('matches MemoryStore on the same sequence of takes', async () => {
    const store = new RedisStore(redis, { prefix: 't4:' })
    const memory = new MemoryStore()
    const bucket = { capacity: 3, refillPerSecond: 0.001 }
    const fromRedis = []
    const fromMemory = []
    for (const cost of [1, 1, 1, 1, 2]) {
      fromRedis.push((await store.take('k', bucket, cost)).allowed)
      fromMemory.push((await memory.take('k', bucket, cost)).allowed)
    }
    expect(fromRedis).toEqual([true, true, true, false, false])
    expect(fromRedis).toEqual(fromMemory)
    const denied = await store.take('k', bucket)
    expect(denied.remaining).toBe(0)
    expect(denied.retryAfterMs).toBeGreaterThan(900_000)
  })

  it('is atomic under concurrency: exactly capacity takes succeed', async () => {
    const store = new RedisStore(redis, { prefix: 't5:' })
    const results = await Promise.all(
      Array.from({ length: 200 }, () => store.take('shared', { capacity: 50, refillPerSecond: 0 })),
    )
    expect(results.filter((r) => r.allowed)).toHaveLength(50)
    expect(results.find((r) => !r.allowed)?.retryAfterMs).toBe(Infinity)
  })

  it('refills by elapsed time and expires an idle bucket', async () => {
    const store = new RedisStore(redis, { prefix: 't6:' })
    const bucket = { capacity: 2, refillPerSecond: 20 }
    expect((await store.take('r', bucket, 2)).allowed).toBe(true)
    const empty = await store.take('r', bucket)
    expect(empty.allowed).toBe(false)
    expect(empty.retryAfterMs).toBeGreaterThan(0)
    expect(empty.retryAfterMs).toBeLessThanOrEqual(50)
    await sleep(120)
    expect((await store.take('r', bucket)).allowed).toBe(true)
    const pttl = await redis.pttl('t6:r')
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(1100)
  })

  it('still works after the script cache is flushed', async () => {
    const store = new RedisStore(redis, { prefix: 't7:' })
    await redis.script('FLUSH')
    expect((await store.take('a', { capacity: 1, refillPerSecond: 1 })).allowed).toBe(true)
  })
})

describe('failures', () => {
  it('maps a refused connection to 503 store_unavailable, and fails open only where asked', async () => {
    const port = await freePort()
    const down = new Redis({
      port,
      host: '127.0.0.1',
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    })
    down.on('error', () => undefined)
    const reported: unknown[] = []
    const stores = createRedisStores(down, { report: (e) => reported.push(e) })
    const error = await stores.replay.setIfAbsent('jti:1', '1', 1000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GateError)
    expect(error).toMatchObject({
      status: 503,
      code: 'store_unavailable',
      headers: { 'retry-after': '1' },
    })
    await expect(
      stores.rateLimits.take('k', { capacity: 1, refillPerSecond: 1 }),
    ).rejects.toMatchObject({ status: 503 })
    expect(await stores.explanations.get('e')).toBeUndefined()
    await stores.explanations.set('e', 'v')
    expect(reported.length).toBeGreaterThanOrEqual(4)
    down.disconnect()
  })

  it('maps a Redis that does not answer to 503 after timeoutMs', async () => {
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
    client.on('error', () => undefined)
    const store = new RedisStore(client, { timeoutMs: 100 })
    const start = Date.now()
    await expect(store.get('k')).rejects.toMatchObject({ status: 503, code: 'store_unavailable' })
    expect(Date.now() - start).toBeLessThan(1000)
    client.disconnect()
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  it('rejects bad options at construction', () => {
    expect(() => new RedisStore({} as never)).toThrow(TypeError)
    expect(() => new RedisStore(redis, { timeoutMs: 0 })).toThrow(TypeError)
    expect(() => new RedisStore(redis, { onError: 'maybe' as never })).toThrow(TypeError)
    expect(() => new RedisStore(redis, { report: 'log' as never })).toThrow(TypeError)
    expect(() => new RedisStore(redis, { prefx: 'mg:' } as never)).toThrow(
      'RedisStore: unknown option "prefx" (did you mean "prefix"?)',
    )
    expect(() => createRedisStores(redis, { onError: 'open' } as never)).toThrow(/set per store/)
    expect(() => createRedisStores(redis, { timeoutMS: 500 } as never)).toThrow(
      'createRedisStores: unknown option "timeoutMS" (did you mean "timeoutMs"?)',
    )
  })
})

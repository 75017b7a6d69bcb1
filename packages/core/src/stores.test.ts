import { describe, expect, it } from 'vitest'
import { MemoryStore } from './stores.js'

describe('MemoryStore', () => {
  it('lets exactly one of many concurrent setIfAbsent calls win', async () => {
    const store = new MemoryStore()
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.setIfAbsent('jti:a', '1', 60_000)),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await store.setIfAbsent('jti:a', '1', 60_000)).toBe(false)
  })

  it('sets a key again once it expired', async () => {
    let now = 0
    const store = new MemoryStore({ now: () => now })
    expect(await store.setIfAbsent('k', '1', 1000)).toBe(true)
    now = 999
    expect(await store.setIfAbsent('k', '2', 1000)).toBe(false)
    now = 1000
    expect(await store.setIfAbsent('k', '3', 1000)).toBe(true)
    expect(await store.get('k')).toBe('3')
  })
})

import { describe, expect, it } from 'vitest'
import { BadRequestError, PayloadTooLargeError } from './errors.js'
import { parseJsonSafe, readBodyLimited } from './json.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('parseJsonSafe', () => {
  it('parses ordinary JSON', () => {
    expect(parseJsonSafe(bytes('{"a":[1,{"b":"c\\"}"}]}'), { maxDepth: 8 })).toEqual({
      a: [1, { b: 'c"}' }],
    })
  })

  it('rejects 100k-deep nesting in linear time without parsing it', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    const start = performance.now()
    expect(() => parseJsonSafe(bytes(deep), { maxDepth: 64 })).toThrow(/nesting exceeds 64/)
    expect(performance.now() - start).toBeLessThan(500)
  })

  it('does not count brackets inside strings', () => {
    const s = JSON.stringify({ text: '['.repeat(1000) })
    expect(parseJsonSafe(bytes(s), { maxDepth: 2 })).toEqual({ text: '['.repeat(1000) })
  })

  it.each([
    '{"__proto__":{"polluted":1}}',
    '{"a":{"constructor":{"prototype":{"x":1}}}}',
    '{"a" : [ {"prototype" :1} ]}',
    '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":1}}',
  ])('rejects forbidden keys: %s', (json) => {
    expect(() => parseJsonSafe(bytes(json), { maxDepth: 8 })).toThrow(/forbidden key/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('allows forbidden words as values', () => {
    expect(parseJsonSafe(bytes('{"k":"__proto__"}'), { maxDepth: 8 })).toEqual({ k: '__proto__' })
  })

  it('rejects invalid UTF-8, empty and malformed bodies with 400', () => {
    for (const b of [new Uint8Array([0x7b, 0xff, 0x7d]), bytes('  '), bytes('{"a":')]) {
      expect(() => parseJsonSafe(b, { maxDepth: 8 })).toThrow(BadRequestError)
    }
  })
})

describe('readBodyLimited', () => {
  it('refuses from Content-Length without reading', async () => {
    let pulled = 0
    const body = new ReadableStream({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(1024))
      },
    })
    const request = new Request('http://x/', {
      method: 'POST',
      body,
      headers: { 'content-length': String(40 * 1024 * 1024) },
      duplex: 'half',
    } as RequestInit)
    await expect(readBodyLimited(request, 1024)).rejects.toBeInstanceOf(PayloadTooLargeError)
    expect(pulled).toBeLessThanOrEqual(1)
  })

  it('stops streaming once the limit is passed', async () => {
    let pulled = 0
    const body = new ReadableStream({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(1024))
      },
    })
    const request = new Request('http://x/', {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    await expect(readBodyLimited(request, 10 * 1024)).rejects.toBeInstanceOf(PayloadTooLargeError)
    expect(pulled).toBeLessThan(20)
  })

  it('concatenates chunks', async () => {
    const request = new Request('http://x/', { method: 'POST', body: 'hello world' })
    expect(new TextDecoder().decode(await readBodyLimited(request, 100))).toBe('hello world')
  })
})

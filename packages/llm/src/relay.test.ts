import { describe, expect, it } from 'vitest'
import { openAiHandler } from './openai.js'
import { relay, type EventHandler, type StreamSummary } from './relay.js'
import type { UpstreamResult } from './types.js'

const bytes = (...parts: Array<string | number[]>) =>
  parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : new Uint8Array(p)))

/** Relays these upstream reads with no placeholders to restore; the reads the client gets. */
async function relayed(reads: Uint8Array[]): Promise<Uint8Array[]> {
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < reads.length) c.enqueue(reads[i++]!)
      else c.close()
    },
  })
  const result: UpstreamResult = {
    response: new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    attempts: 1,
    idleTimeoutMs: 10_000,
    abort() {},
    done() {},
  }
  const out: Uint8Array[] = []
  const handler = openAiHandler(undefined, { stripUsage: false, countText: false })
  const reader = relay(result, handler, () => undefined).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.push(value)
  }
}

const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8')

describe('relay', () => {
  it('passes whole events on as the upstream sent them, without a copy', async () => {
    const reads = bytes('data: {"a":"é"}\n\n', 'data: {"b":1}\n\ndata: [DONE]\n\n')
    const out = await relayed(reads)
    expect(out).toHaveLength(2)
    expect(out[0]).toBe(reads[0])
    expect(out[1]).toBe(reads[1])
  })

  it('re-encodes what it cannot pass on whole: split events and characters, other spellings', async () => {
    // "é" is C3 A9: the first read ends after a whole event and the first byte of the next one's "é".
    const reads = bytes('data: {"a":1}\n\ndata: {"b":"', [0xc3], [0xa9], '"}\n\ndata:{"c":2}\n\n')
    const out = await relayed(reads)
    expect(text(out)).toBe('data: {"a":1}\n\ndata: {"b":"é"}\n\ndata: {"c":2}\n\n')
    for (const chunk of out) expect(reads).not.toContain(chunk)
  })

  it('never passes on a read that ends inside a character, even right after a whole event', async () => {
    const first = new Uint8Array([...new TextEncoder().encode('data: {"a":1}\n\n'), 0xc3])
    const reads = [first, ...bytes([0xa9], ': comment\n\ndata: {"b":2}\n\n')]
    const out = await relayed(reads)
    expect(out[0]).not.toBe(first)
    // "é: comment" is a line of an unknown field, which the event-stream format ignores.
    expect(text(out)).toBe('data: {"a":1}\n\ndata: {"b":2}\n\n')
  })
})

describe('relay failing closed', () => {
  it('ends with an error event, stops the upstream and says so once when a handler throws', async () => {
    let cancelled: unknown
    let aborted: unknown
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new TextEncoder().encode('data: {"n":1}\n\n')),
      cancel: (reason) => void (cancelled = reason ?? true),
    })
    const result: UpstreamResult = {
      response: new Response(body),
      attempts: 1,
      idleTimeoutMs: 10_000,
      abort: (reason) => void (aborted = reason ?? true),
      done() {},
    }
    const inner = openAiHandler(undefined, { stripUsage: false, countText: false })
    let events = 0
    const handler: EventHandler = {
      ...inner,
      usage: inner.usage,
      channels: inner.channels,
      event(e) {
        if (++events === 3) throw new Error('a bug in a handler')
        return inner.event(e)
      },
    }
    const ends: StreamSummary[] = []
    const out = await new Response(relay(result, handler, (s) => ends.push(s))).text()
    expect(out.split('\n\n').filter(Boolean)).toEqual([
      'data: {"n":1}',
      'data: {"n":1}',
      'data: {"error":{"message":"the gate could not relay the answer","type":"upstream_error","code":"upstream_error"}}',
    ])
    expect(aborted).toBeTruthy()
    expect(cancelled).toBeTruthy()
    expect(ends.map((e) => e.end)).toEqual(['upstream_error'])
  })
  it('ends the stream even when the summary callback throws', async () => {
    for (const upstreamFails of [false, true]) {
      let reads = 0
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (reads++ === 0) c.enqueue(new TextEncoder().encode('data: {"n":1}\n\n'))
          else if (upstreamFails) c.error(new Error('reset'))
          else c.close()
        },
      })
      const result: UpstreamResult = {
        response: new Response(body),
        attempts: 1,
        idleTimeoutMs: 10_000,
        abort() {},
        done() {},
      }
      const handler = openAiHandler(undefined, { stripUsage: false, countText: false })
      const stream = relay(result, handler, () => {
        throw new Error('a bug in onEnd')
      })
      const out = await new Response(stream).text()
      expect(out.startsWith('data: {"n":1}\n\n')).toBe(true)
      expect(out.includes('upstream_error')).toBe(upstreamFails)
    }
  })
})

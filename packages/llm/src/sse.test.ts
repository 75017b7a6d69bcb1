import { describe, expect, it } from 'vitest'
import { encodeSse, SseDecoder, type SseEvent } from './sse.js'

const bytes = (s: string) => new TextEncoder().encode(s)

function decodeIn(pieces: Uint8Array[]): SseEvent[] {
  const d = new SseDecoder()
  return [...pieces.flatMap((p) => d.push(p)), ...d.end()]
}

describe('SseDecoder', () => {
  it('joins data lines, keeps event names, ids and comments', () => {
    const events = decodeIn([
      bytes(
        ': keep-alive\n\nevent: delta\nid: 7\ndata: {"a":1}\ndata: {"b":2}\n\ndata: [DONE]\n\n',
      ),
    ])
    expect(events).toEqual([
      { data: '', comment: 'keep-alive' },
      { event: 'delta', id: '7', data: '{"a":1}\n{"b":2}' },
      { data: '[DONE]' },
    ])
  })

  it('gives the same events whatever the read boundaries, CR/LF and split UTF-8 included', () => {
    const text =
      'event: x\r\ndata: h\u00e9llo \u4f60\u597d \ud83d\ude00\r\n\r\ndata: a\rdata: b\r\rdata:c\n\n'
    const whole = decodeIn([bytes(text)])
    expect(whole).toEqual([
      { event: 'x', data: 'h\u00e9llo \u4f60\u597d \ud83d\ude00' },
      { data: 'a\nb' },
      { data: 'c' },
    ])
    const all = bytes(text)
    let seed = 7
    for (let round = 0; round < 200; round++) {
      const pieces: Uint8Array[] = []
      for (let i = 0; i < all.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        const n = 1 + (seed % 5)
        pieces.push(all.slice(i, i + n))
        i += n
      }
      expect(decodeIn(pieces)).toEqual(whole)
    }
  })

  it('reads one whole event per read as it reads the same bytes in one piece', () => {
    const events = [
      'data: {"a":1}\n\n',
      'data: \n\n',
      'data:x\n\n',
      'data:  two spaces\n\n',
      'data: a\n\ndata: b\n\n',
      'data: a\ndata: b\n\n',
      'event: ping\ndata: {}\n\n',
      'data: [DONE]\n\n',
    ]
    const whole = decodeIn([bytes(events.join(''))])
    expect(decodeIn(events.map(bytes))).toEqual(whole)
    expect(whole).toContainEqual({ data: '' })
    expect(whole).toContainEqual({ data: ' two spaces' })
    // A read that only ends an event opened by the one before it is not an event of its own.
    expect(decodeIn([bytes('data: a\n'), bytes('data: b\n\n')])).toEqual([{ data: 'a\nb' }])
  })

  it('dispatches an event left without its blank line when the body ends', () => {
    expect(decodeIn([bytes('data: tail')])).toEqual([{ data: 'tail' }])
  })
})

describe('encodeSse', () => {
  it('round-trips through the decoder, multi-line data included', () => {
    const events: SseEvent[] = [
      { event: 'message_start', data: '{"type":"message_start"}' },
      { data: 'line one\nline two' },
      { id: '3', retry: 1000, data: 'x' },
    ]
    expect(decodeIn([bytes(events.map(encodeSse).join(''))])).toEqual(events)
  })
})

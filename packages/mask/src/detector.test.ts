import { describe, expect, it } from 'vitest'
import { birthHints, createDetector } from './detector.js'
import type { Span } from './types.js'
import { bareDomains, hostOk, wwwHostOk } from './web.js'

// The pattern recognizers alone; the NER layer has its own tests (ner/index.test.ts).
const detector = createDetector({ ner: false })
const found = (text: string) =>
  detector.detect(text).map((s) => [s.type, text.slice(s.start, s.end)])

describe('createDetector', () => {
  it('finds each entity type with validated values', () => {
    const text =
      'Card 4111 1111 1111 1111, call (212) 736-5000, mail ana.lopez@example.org, SSN 536-22-1234, ' +
      'IBAN DE89 3704 0044 0532 0130 00, from 192.168.1.20 and 2001:db8::8a2e:370:7334, see https://example.com/a?b=1. ' +
      'Born 03/12/1984. BTC 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 and bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4. Signed, John Smith'
    expect(found(text)).toEqual([
      ['CREDIT_CARD', '4111 1111 1111 1111'],
      ['PHONE_NUMBER', '(212) 736-5000'],
      ['EMAIL_ADDRESS', 'ana.lopez@example.org'],
      ['US_SSN', '536-22-1234'],
      ['IBAN_CODE', 'DE89 3704 0044 0532 0130 00'],
      ['IP_ADDRESS', '192.168.1.20'],
      ['IP_ADDRESS', '2001:db8::8a2e:370:7334'],
      ['URL', 'https://example.com/a?b=1'],
      ['DATE_OF_BIRTH', '03/12/1984'],
      ['CRYPTO', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2'],
      ['CRYPTO', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'],
      ['PERSON', 'John Smith'],
    ])
  })

  it('drops values whose validator fails', () => {
    const text =
      'order 4111 1111 1111 1112, SSN 666-22-1234 and 912-34-5678, IBAN DE89 3704 0044 0532 0130 01, ' +
      'ip 300.1.2.3, upgraded to 4.16.65.168, at 2024-03-12T10:22:01Z, ISBN 978-0-306-40615-7, ' +
      'btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3, stamp 10:22:01'
    expect(found(text)).toEqual([])
  })

  it('needs birth context for a date and context for weak candidates', () => {
    expect(found('deployed 1984-03-12')).toEqual([])
    expect(found('date of birth: 1984-03-12')).toEqual([['DATE_OF_BIRTH', '1984-03-12']])
    expect(found('id 536221234')).toEqual([])
    expect(found('my ssn is 536221234')).toEqual([['US_SSN', '536221234']])
    expect(found('Mark the ticket as done')).toEqual([])
  })

  it('keeps JavaScript string offsets after non-ASCII text', () => {
    const text = 'Grüße 😀🇩🇪 — 名前: ana@example.org, Karte 4111111111111111'
    const spans = detector.detect(text)
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([
      'ana@example.org',
      '4111111111111111',
    ])
  })

  it('honours allow lists, deny lists, custom recognizers and entity filters', () => {
    const d = createDetector({
      ner: false,
      allowList: ['support@acme.test'],
      denyList: [{ type: 'PERSON', values: ['Zed Quinlan'] }],
      recognizers: [
        { type: 'EMPLOYEE_ID', pattern: /\bEMP-\d{6}\b/, score: 0.4, context: ['employee'] },
      ],
    })
    const text =
      'write support@acme.test or ana@example.org; Zed Quinlan, employee EMP-123456; ' +
      'x '.repeat(40) +
      'EMP-654321'
    expect(d.detect(text).map((s) => [s.type, text.slice(s.start, s.end)])).toEqual([
      ['EMAIL_ADDRESS', 'ana@example.org'],
      ['PERSON', 'Zed Quinlan'],
      ['EMPLOYEE_ID', 'EMP-123456'],
    ])
    const onlyEmail = createDetector({ entities: ['EMAIL_ADDRESS'] })
    expect(onlyEmail.detect('ana@example.org 4111111111111111').map((s) => s.type)).toEqual([
      'EMAIL_ADDRESS',
    ])
  })

  it('finds every URL the whole-text pattern finds, at schemes and www. only, and bare domains', () => {
    // Reference: the URL pattern run over the whole text, as a global scan, keeping URLs whose
    // host is a dotted name (`http://microsoft` is not a URL, `www.` needs a known top-level
    // domain), plus the bare domains that do not overlap one of them.
    const pattern = /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^]{1,2048}/g
    const reference = (text: string) => {
      const schemed = [...text.matchAll(pattern)].flatMap((m) => {
        let end = m.index + m[0].length
        while (end > m.index && '.,;:!?)]\'"'.includes(text[end - 1]!)) end--
        const www = m[0].startsWith('www.')
        const rest = text.slice(www ? m.index : text.indexOf('//', m.index) + 2, end)
        const host = /^(?:[^/?#@\s]*@)?(\[[^\]]*\]|[^/?#:\s]*)/.exec(rest)![1]!
        return end - m.index > 7 && (www ? wwwHostOk(host) : hostOk(host)) ? [[m.index, end]] : []
      })
      const bare = bareDomains(text).filter(([s, e]) => schemed.every(([a, b]) => e <= a || b <= s))
      return [...schemed, ...bare].sort((x, y) => x[0]! - y[0]!)
    }
    const urls = createDetector({ entities: ['URL'] })
    const parts =
      'http:// https:// www. :// ahttp:// xwww. https://www. a.b/c example.org q?x=1 w h é . ) " microsoft localhost .com README.md'
        .split(' ')
        .concat([' ', '\n'])
    let seed = 1
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
    for (let i = 0; i < 3000; i++) {
      let text = ''
      for (let k = rnd(12); k >= 0; k--) text += parts[rnd(parts.length)]
      const got = urls.detect(text).map((s) => [s.start, s.end])
      expect(got, text).toEqual(reference(text))
    }
  })

  it('finds the birth hints a left-to-right pattern scan finds', () => {
    const pattern =
      /[bB](?:[oO][rR][nN]|[iI][rR][tT][hH]|[dD][aA][yY])|[dD](?:[oO][bB]|\.[oO]\.[bB])/g
    const letters = 'bBdDoO.rRnNiItThHaAyYx '
    let seed = 3
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
    expect(birthHints('DOB: 1984-03-12, born in Lyon')).toEqual([0, 17])
    for (let i = 0; i < 20000; i++) {
      let text = ''
      for (let k = rnd(24); k > 0; k--) text += letters[rnd(letters.length)]
      expect(birthHints(text), text).toEqual([...text.matchAll(pattern)].map((m) => m.index))
    }
  })

  it('trims trailing digit groups off card candidates', () => {
    expect(found('card 4111 1111 1111 1111 123456')).toEqual([
      ['CREDIT_CARD', '4111 1111 1111 1111'],
    ])
    expect(found('card 4111-1111-1111-1111 99')).toEqual([['CREDIT_CARD', '4111-1111-1111-1111']])
    expect(found('paid 1234 5500 0000 0000 0004 by card')).toEqual([
      ['CREDIT_CARD', '5500 0000 0000 0004'],
    ])
  })

  it('finds hyphenated capitalised names', () => {
    expect(found('Signed, Mary-Jane Smith')).toEqual([['PERSON', 'Mary-Jane Smith']])
    expect(found('Dr. Smith-Jones will call')).toEqual([['PERSON', 'Smith-Jones']])
    expect(found('Jean-Luc Picard')).toEqual([])
  })

  it('reports overlapping spans of different types on request, never two of one type', () => {
    const d = createDetector({ threshold: 0 })
    const text = 'passport 912803456'
    const types = (spans: Span[]) => spans.map((s) => s.type).sort()
    const one = d.detect(text)
    expect(one).toHaveLength(1)
    const all = d.detect(text, { overlapping: true })
    expect(types(all)).toEqual(['US_BANK_NUMBER', 'US_DRIVER_LICENSE', 'US_ITIN', 'US_PASSPORT'])
    expect(all.every((s) => text.slice(s.start, s.end) === '912803456')).toBe(true)
    expect(all).toContainEqual(one[0])
    // An IPv6 host inside a URL.
    const url = 'Visit http://[2001:db8::1]/path'
    expect(d.detect(url).map((s) => s.type)).toEqual(['URL'])
    expect(d.detect(url, { overlapping: true }).map((s) => url.slice(s.start, s.end))).toEqual([
      'http://[2001:db8::1]/path',
      '2001:db8::1',
    ])
    // Within a type, overlaps are resolved as usual, and spans come sorted by start.
    const names = 'Dear Richard Milhous Nixon, call +1 212 736 5000'
    const spans = d.detect(names, { overlapping: true })
    for (const type of new Set(spans.map((s) => s.type))) {
      const of = spans.filter((s) => s.type === type)
      for (let i = 1; i < of.length; i++)
        expect(of[i]!.start).toBeGreaterThanOrEqual(of[i - 1]!.end)
    }
    expect(spans.map((s) => s.start)).toEqual([...spans.map((s) => s.start)].sort((a, b) => a - b))
  })

  it('rejects bad options at construction', () => {
    expect(() => createDetector({ threshold: 2 })).toThrow(TypeError)
    expect(() => createDetector({ defaultRegion: 'usa' })).toThrow(TypeError)
    expect(() =>
      createDetector({ recognizers: [{ type: 'X', pattern: 'x' as unknown as RegExp }] }),
    ).toThrow(TypeError)
  })

  it.each([
    ['a@ repeated', 'a@'.repeat(1 << 19)],
    ['digits and dashes', '1-2-'.repeat(1 << 18)],
    ['one long digit run', '4'.repeat(1 << 20)],
    ['digit groups', '4444 '.repeat(1 << 18)],
    ['dotted digits', '1.1.'.repeat(1 << 18)],
    ['colons and hex', 'a:b:'.repeat(1 << 18)],
    ['capitalised words', 'John '.repeat(1 << 18)],
    ['long local part', 'a'.repeat(1 << 20) + '@example.com'],
    ['url without end', 'https://' + 'x'.repeat(1 << 20)],
  ])('stays linear on adversarial input: %s', (_name, text) => {
    const t0 = performance.now()
    detector.detect(text)
    expect(performance.now() - t0).toBeLessThan(3000)
  })
})

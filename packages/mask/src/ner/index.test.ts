import { describe, expect, it } from 'vitest'
import { createDetector } from '../detector.js'
import { createMasker } from '../masker.js'
import { dateTimes } from './dates.js'
import { HINTS } from './features.js'
import { hintOf } from './index.js'
import { tokenize } from './tokens.js'

const ner = createDetector()
const found = (text: string, types?: string[]) =>
  ner
    .detect(text)
    .filter((s) => !types || types.includes(s.type))
    .map((s) => [s.type, text.slice(s.start, s.end)])

describe('NER layer (on by default)', () => {
  // Rows in the spirit of Presidio's recognizer tests: one text, the spans expected of one type.
  it.each([
    ['my name is Dan', [['PERSON', 'Dan']]],
    ['Bob Li', [['PERSON', 'Bob Li']]],
    ['Dan Tailor called twice', [['PERSON', 'Dan Tailor']]],
    ['Richard Milhous Nixon', [['PERSON', 'Richard Milhous Nixon']]],
    ['Zara said she would call back', [['PERSON', 'Zara']]],
    ['Jean-Luc Müller wrote about the refund', [['PERSON', 'Jean-Luc Müller']]],
    ['Leila Asante asked for a new card', [['PERSON', 'Leila Asante']]],
  ])('finds PERSON in %j', (text, want) => {
    expect(found(text, ['PERSON'])).toEqual(want)
  })

  it('keeps a possessive outside the name', () => {
    expect(found("Kate's social security number", ['PERSON'])).toEqual([['PERSON', 'Kate']])
  })

  it('finds organisations and places with context', () => {
    expect(found('Leila Asante works at Acme Corp', ['ORGANIZATION'])).toEqual([
      ['ORGANIZATION', 'Acme Corp'],
    ])
    expect(found('She moved to Lisbon on Tuesday morning.', ['LOCATION', 'DATE_TIME'])).toEqual([
      ['LOCATION', 'Lisbon'],
      ['DATE_TIME', 'Tuesday morning'],
    ])
    expect(found('I live in Berlin, Germany.', ['LOCATION'])).toEqual([
      ['LOCATION', 'Berlin'],
      ['LOCATION', 'Germany'],
    ])
  })

  it('leaves technical words, sentence starts, headings and product names alone', () => {
    for (const text of [
      'Subnet 10.20.0.0/16 is reserved for the workers.',
      'README updated with the setup steps.',
      'mixed 10:2F:33-AC-29-C3 separators',
      'The S3 bucket and the EKS cluster live in the same VPC.',
      'Deployed build 4.2.1 to eu-west-1: 12 pods ready.',
      'Pedestrians must use the side entrance during repairs.',
      'Action & Adventure, Comedy, Drama, Kids & Family',
      'Please restart the Kafka worker and check the Grafana dashboard.',
      'Collateral: BTC held at the exchange, ISBN and DOB on file.',
      'Thanks for your patience, we will get back to you soon.',
    ]) {
      expect(found(text, ['PERSON', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS']), text).toEqual(
        [],
      )
    }
  })

  it('reports an address written in a sentence whole, and a postal block by its parts', () => {
    expect(
      found('Please send it to 42 Harbour Road, Apt. 3, Springfield, IL 62704.', [
        'STREET_ADDRESS',
      ]),
    ).toEqual([['STREET_ADDRESS', '42 Harbour Road, Apt. 3, Springfield, IL 62704']])
    const block = 'Ana Pereira\n42 Harbour Road\nSpringfield\nUnited States'
    expect(found(block, ['PERSON', 'LOCATION', 'STREET_ADDRESS'])).toEqual([
      ['PERSON', 'Ana Pereira'],
      ['STREET_ADDRESS', '42 Harbour Road'],
      ['LOCATION', 'Springfield'],
      ['LOCATION', 'United States'],
    ])
  })

  it('never takes reference codes, ticket ids, order numbers or SKUs for addresses or names', () => {
    const types = ['PERSON', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS']
    for (const text of [
      'C-1',
      'A-77',
      'INC-20231',
      'PO-4471',
      'See case C-1 for details',
      'Ticket INC-20231 opened',
      'Ticket #INC-20231 was escalated',
      'order PO-4471 shipped',
      'SKU AB-1234',
      'SKU: AB-1234-XY',
      'Applicant A-77 submitted the form',
      'Part No. X-15 replaced',
      'Maria-12 was closed',
      'CVE-2024-3094 affects xz',
      // Upper-case letter groups and numbers with no street or unit word are codes too.
      'Invoice INV 2024 0031',
      'Tracking code ZX 12 9981',
      'ID: AB 12',
      'The plate number is ABJ-123XY for this vehicle',
      '35 JK 12',
    ]) {
      expect(found(text, types), text).toEqual([])
    }
    // The codes do not hide the names and addresses around them.
    expect(found('Case C-1: Ana Lopez called about A-77.', types)).toEqual([
      ['PERSON', 'Ana Lopez'],
    ])
    expect(found('Ticket JIRA-4471 assigned to Maria Garcia', types)).toEqual([
      ['PERSON', 'Maria Garcia'],
    ])
  })

  it('keeps a code after a unit word as the unit of an address', () => {
    expect(found('Suite B-12', ['STREET_ADDRESS'])).toEqual([['STREET_ADDRESS', 'Suite B-12']])
    expect(found('Apt. C-1', ['STREET_ADDRESS'])).toEqual([['STREET_ADDRESS', 'Apt. C-1']])
    expect(
      found('Ship to 42 Harbour Road, Apt. 3, Springfield, IL 62704', ['STREET_ADDRESS']),
    ).toEqual([['STREET_ADDRESS', '42 Harbour Road, Apt. 3, Springfield, IL 62704']])
    expect(found('Send to PSC 1234, Box 5678', ['STREET_ADDRESS'])).toEqual([
      ['STREET_ADDRESS', 'PSC 1234, Box 5678'],
    ])
  })

  it('never puts a number inside a name', () => {
    // Each of these had a name with its number (`Ticket T 1`, `Beiteveien 2`, `Cicha 86`).
    const names = [
      'Ticket T 1',
      'The address is the corner of Beiteveien 2 and Sieda Radial',
      'Please send the card to the corner of ul. Cicha 86 and Leokadia Trail?',
    ].flatMap((text) => found(text, ['PERSON']).map(([, value]) => value))
    expect(names.filter((name) => /\d/.test(name))).toEqual([])
  })

  it('finds names in dialogue lines and lists, and companies by their context', () => {
    expect(found('Halvard: Are you coming tonight?', ['PERSON'])).toEqual([['PERSON', 'Halvard']])
    expect(
      found('The founders, Okafor, Lindqvist and Brennan, met at university.', ['PERSON']),
    ).toEqual([
      ['PERSON', 'Okafor'],
      ['PERSON', 'Lindqvist'],
      ['PERSON', 'Brennan'],
    ])
    expect(
      found('I was charged twice by Brightwell Analytics for one subscription.', ['ORGANIZATION']),
    ).toEqual([['ORGANIZATION', 'Brightwell Analytics']])
  })

  it('stays linear on a long run of capitalised names', () => {
    const text = 'John Smith '.repeat(1 << 13)
    const t0 = performance.now()
    const spans = createDetector({ budget: false }).detect(text)
    expect(performance.now() - t0).toBeLessThan(3000)
    expect(spans.length).toBeGreaterThan(0)
  })

  it('lets validated patterns win over tagged spans', () => {
    const text = 'Ship to Ana Lopez, card 4111 1111 1111 1111'
    expect(found(text, ['CREDIT_CARD', 'STREET_ADDRESS'])).toEqual([
      ['CREDIT_CARD', '4111 1111 1111 1111'],
    ])
  })

  it('reports nothing of its own types when off, and entity types stay selectable', () => {
    const off = createDetector({ ner: false })
    expect(off.entities).not.toContain('LOCATION')
    expect(off.detect('We flew to Paris on Tuesday.')).toEqual([])
    const onlyPlaces = createDetector({ ner: true, entities: ['LOCATION'] })
    expect(onlyPlaces.detect('Leila Asante moved to Lisbon last year').map((s) => s.type)).toEqual([
      'LOCATION',
    ])
    expect(() => createDetector({ ner: 'yes' as unknown as boolean })).toThrow(/ner/)
  })
})

describe('DATE_TIME patterns', () => {
  const dates = (text: string) => dateTimes(text).map((d) => [text.slice(d.start, d.end), d.score])
  it('scores written dates above the default threshold', () => {
    expect(dates('Due on March 3, 2024.')).toEqual([['March 3, 2024', 0.6]])
    expect(dates('Today is 5/20/2021')).toEqual([['5/20/2021', 0.6]])
    expect(dates('signed 12 May 2023 in Lyon')).toEqual([['12 May 2023', 0.6]])
    expect(dates('the club was founded in 1990')).toEqual([['1990', 0.6]])
    expect(dates('it happened in the year 1972')).toEqual([['year 1972', 0.6]])
  })

  it('scores log timestamps, bare times and bare years low', () => {
    expect(dates('2024-03-12T10:22:01.123Z INFO worker started')).toEqual([
      ['2024-03-12T10:22:01.123Z', 0.2],
    ])
    expect(dates('[2024-03-12 10:22:01] GET /api 200')).toEqual([['2024-03-12 10:22:01', 0.2]])
    expect(dates('took 10:22 of 1990 budget')).toEqual([
      ['10:22', 0.3],
      ['1990', 0.6],
    ])
    expect(dates('version 1.2.2024 and 10.15.8.231')).toEqual([])
  })

  it('leaves log timestamps unmasked under the default threshold', () => {
    const line = '2025-01-04T10:22:01.123Z INFO retry 2/5 for job 3fa9 after 120 ms'
    expect(ner.detect(line).filter((s) => s.type === 'DATE_TIME')).toEqual([])
    const low = createDetector({ ner: true, threshold: 0.2, entities: ['DATE_TIME'] })
    expect(low.detect(line).map((s) => [s.type, s.score])).toEqual([['DATE_TIME', 0.2]])
  })
})

describe('field hints', () => {
  it('maps field names and labels to hint categories', () => {
    expect(hintOf('full_name')).toBe(HINTS.person)
    expect(hintOf('customerName')).toBe(HINTS.person)
    expect(hintOf('shipping_address')).toBe(HINTS.address)
    expect(hintOf('City')).toBe(HINTS.location)
    expect(hintOf('employer')).toBe(HINTS.organization)
    expect(hintOf('status')).toBe(0)
  })

  it('masks name fields under scanStrings with the model off or on', async () => {
    for (const detector of [{ ner: false }, {}]) {
      const masker = createMasker({ detector })
      const { value } = await masker.applyPolicy([
        { name: 'Ana Pereira', contact: 'Bob Li', status: 'Pending' },
      ])
      expect(value).toEqual([{ name: '<PERSON>', contact: '<PERSON>', status: 'Pending' }])
    }
  })
})

describe('tokenize', () => {
  it('keeps exact UTF-16 offsets and splits possessives', () => {
    const text = "😀 Kate's café in Zürich, 5-20-2021"
    const t = tokenize(text)
    const words = Array.from({ length: t.n }, (_, k) => text.slice(t.start[k], t.end[k]))
    expect(words).toEqual(['😀', 'Kate', "'s", 'café', 'in', 'Zürich', ',', '5-20-2021'])
  })
})

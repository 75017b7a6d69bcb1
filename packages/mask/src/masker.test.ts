import { MemoryStore } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { createMasker } from './masker.js'
import { TokenVault } from './vault.js'

const key = crypto.getRandomValues(new Uint8Array(32))
const randomDigits = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => String(b % 10)).join('')

describe('operators', () => {
  const m = createMasker({ key })
  const s = { tenant: 'acme', type: 'CREDIT_CARD', field: 'card' }

  it('replace, redact and mask keep what they promise', async () => {
    expect(await m.maskValue('4111-1111-1111-1234', { op: 'replace' }, s)).toBe('<CREDIT_CARD>')
    expect(await m.maskValue('4111-1111-1111-1234', { op: 'redact' }, s)).toBe('')
    expect(await m.maskValue('4111-1111-1111-1234', { op: 'mask' }, s)).toBe('****-****-****-1234')
    expect(
      await m.maskValue('ana@example.org', { op: 'mask', keepFirst: 1, keepLast: 0, char: '#' }, s),
    ).toBe('a##@#######.###')
  })

  it('hash is keyed, deterministic per tenant and differs across keys and tenants', async () => {
    const h1 = await m.maskValue('ana@example.org', { op: 'hash' }, { tenant: 'acme' })
    expect(h1).toMatch(/^[0-9a-f]{32}$/)
    expect(await m.maskValue('ana@example.org', { op: 'hash' }, { tenant: 'acme' })).toBe(h1)
    expect(await m.maskValue('ana@example.org', { op: 'hash' }, { tenant: 'other' })).not.toBe(h1)
    const other = createMasker({ key: crypto.getRandomValues(new Uint8Array(32)) })
    expect(await other.maskValue('ana@example.org', { op: 'hash' }, { tenant: 'acme' })).not.toBe(
      h1,
    )
  })

  it('fpe keeps a card 16 digits with its separators and round-trips', async () => {
    for (let i = 0; i < 50; i++) {
      const card = randomDigits(16).replace(/(\d{4})(?=\d)/g, '$1-')
      const c = (await m.maskValue(card, { op: 'fpe' }, s)) as string
      expect(c).toMatch(/^\d{4}-\d{4}-\d{4}-\d{4}$/)
      expect(await m.unmaskValue(c, { op: 'fpe' }, s)).toBe(card)
    }
  })

  it('encrypt, pseudonymize and dateShift round-trip; pseudonyms are consistent per tenant', async () => {
    for (let i = 0; i < 30; i++) {
      const v = `user${randomDigits(6)}@example.org`
      const e = (await m.maskValue(v, { op: 'encrypt' }, { tenant: 'acme' })) as string
      expect(e.startsWith('enc:v1:')).toBe(true)
      expect(await m.unmaskValue(e, { op: 'encrypt' }, { tenant: 'acme' })).toBe(v)
      expect(await m.unmaskValue(e, { op: 'encrypt' }, { tenant: 'other' })).toBe(e)
      const p = (await m.maskValue(
        v,
        { op: 'pseudonymize' },
        { tenant: 'acme', type: 'EMAIL_ADDRESS' },
      )) as string
      expect(p).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
      expect(
        await m.maskValue(v, { op: 'pseudonymize' }, { tenant: 'acme', type: 'EMAIL_ADDRESS' }),
      ).toBe(p)
      expect(await m.unmaskValue(p, { op: 'pseudonymize' }, { tenant: 'acme' })).toBe(v)
      expect(await m.unmaskValue(p, { op: 'pseudonymize' }, { tenant: 'other' })).toBe(p)
      const date = `19${randomDigits(2)}-0${1 + (i % 9)}-1${i % 10}`
      const shifted = (await m.maskValue(
        date,
        { op: 'dateShift' },
        { subject: `patient-${i}` },
      )) as string
      expect(shifted).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(shifted).not.toBe(date)
      expect(await m.maskValue(date, { op: 'dateShift' }, { subject: `patient-${i}` })).toBe(
        shifted,
      )
      expect(await m.unmaskValue(shifted, { op: 'dateShift' }, { subject: `patient-${i}` })).toBe(
        date,
      )
    }
  })

  it('generalize and noise keep datatypes', async () => {
    expect(await m.maskValue(37, { op: 'generalize', kind: 'age' })).toBe(30)
    expect(await m.maskValue('37', { op: 'generalize', kind: 'age' })).toBe('30-39')
    expect(await m.maskValue('94107', { op: 'generalize' })).toBe('941**')
    expect(await m.maskValue('1984-03-12', { op: 'generalize' }, { type: 'DATE_OF_BIRTH' })).toBe(
      '1984',
    )
    const noisy = []
    for (let i = 0; i < 2000; i++)
      noisy.push((await m.maskValue(100, { op: 'noise', epsilon: 1, sensitivity: 1 })) as number)
    const mean = noisy.reduce((a, b) => a + b, 0) / noisy.length
    const meanAbs = noisy.reduce((a, b) => a + Math.abs(b - 100), 0) / noisy.length
    expect(Math.abs(mean - 100)).toBeLessThan(0.2)
    expect(meanAbs).toBeGreaterThan(0.85)
    expect(meanAbs).toBeLessThan(1.15)
  })

  it('rejects bad rules and keyed operators without a key at construction', () => {
    expect(() => createMasker({ policy: { fields: { a: { op: 'hash' } } } })).toThrow(/needs a key/)
    expect(() =>
      createMasker({ key, policy: { fields: { a: { op: 'noise', epsilon: 0 } } } }),
    ).toThrow(TypeError)
    expect(() => createMasker({ key, policy: { fields: { a: { op: 'nope' } as never } } })).toThrow(
      TypeError,
    )
    expect(() => createMasker({ key: 'c2hvcnQ=' })).toThrow(/32 bytes/)
  })
})

describe('structured data', () => {
  it('masks fields, paths and free text through arrays and nesting, keeping shape and types', async () => {
    const m = createMasker({
      key,
      policy: {
        fields: {
          email: { op: 'hash', type: 'EMAIL_ADDRESS' },
          'address.zip': { op: 'generalize' },
          age: { op: 'generalize', kind: 'age' },
        },
        paths: { '$.meta.owner': { op: 'replace', type: 'PERSON' } },
        entities: { CREDIT_CARD: { op: 'mask' }, '*': { op: 'replace' } },
      },
    })
    const body = {
      meta: { owner: 'Ana Lopez', count: 2 },
      instances: [
        {
          email: 'ana@example.org',
          age: 37,
          address: { zip: '94107', city: 'SF' },
          notes: ['card 4111 1111 1111 1111', 'ok'],
          vip: true,
        },
        {
          email: 'bo@example.org',
          age: 52,
          address: { zip: '10001', city: 'NY' },
          notes: [],
          vip: false,
        },
      ],
    }
    const { value, counts } = await m.applyPolicy(body, { tenant: 'acme' })
    const v = value as typeof body
    expect(v.meta).toEqual({ owner: '<PERSON>', count: 2 })
    expect(v.instances[0]!.email).toMatch(/^[0-9a-f]{32}$/)
    expect(v.instances[0]!.age).toBe(30)
    // Cities are places: the NER layer (on by default) reports them under the `city` field hint.
    expect(v.instances[0]!.address).toEqual({ zip: '941**', city: '<LOCATION>' })
    expect(v.instances[1]!.address).toEqual({ zip: '100**', city: '<LOCATION>' })
    expect(v.instances[0]!.notes).toEqual(['card **** **** **** 1111', 'ok'])
    expect(v.instances[0]!.vip).toBe(true)
    expect(counts).toEqual({ PERSON: 1, EMAIL_ADDRESS: 2, FIELD: 4, CREDIT_CARD: 1, LOCATION: 2 })
  })
})

describe('TokenVault', () => {
  it('stores sealed values, isolates tenants and survives a second vault on the same store', async () => {
    const store = new MemoryStore()
    const a = new TokenVault({ key, store })
    const t = await a.tokenize('ana@example.org', { type: 'EMAIL_ADDRESS', tenant: 't1' })
    const raw = await store.get(`mask:vault:t1:${t}`)
    expect(raw).toBeDefined()
    expect(raw).not.toContain('ana')
    const b = new TokenVault({ key, store })
    expect(await b.detokenize(t, { tenant: 't1' })).toBe('ana@example.org')
    expect(await b.detokenize(t, { tenant: 't2' })).toBeUndefined()
    const tokens = new Set<string>()
    for (let i = 0; i < 2000; i++)
      tokens.add(await a.tokenize(`user${i}@example.org`, { type: 'EMAIL_ADDRESS', tenant: 't1' }))
    expect(tokens.size).toBe(2000)
  })
})

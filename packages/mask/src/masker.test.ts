import { MemoryStore } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { MaskingBudgetError, ScanBudget } from './budget.js'
import { createDetector } from './detector.js'
import { grantsCover, TokenLedger } from './ledger.js'
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

  it('encrypt, fpe and pseudonymize reverse only for the origin they were made for', async () => {
    const origin = { tenant: 'acme', type: 'US_SSN', field: 'ssn', scope: 'request:1' }
    const others = [
      { ...origin, tenant: 'other' },
      { ...origin, type: 'EMAIL_ADDRESS' },
      { ...origin, field: 'note' },
      { ...origin, field: 'ssn', text: true },
      { ...origin, scope: 'request:2' },
    ]
    for (let i = 0; i < 20; i++) {
      const ssn = `${100 + i}-${randomDigits(2)}-${randomDigits(4)}`
      const e = (await m.maskValue(ssn, { op: 'encrypt' }, origin)) as string
      expect(e).toMatch(/^enc:v2:[A-Za-z0-9_-]{38,}$/)
      expect(await m.unmaskValue(e, { op: 'encrypt' }, origin)).toBe(ssn)
      for (const o of others) expect(await m.unmaskValue(e, { op: 'encrypt' }, o)).toBe(e)
      const f = (await m.maskValue(ssn, { op: 'fpe' }, origin)) as string
      expect(f).toMatch(/^\d{3}-\d{2}-\d{4}$/)
      expect(await m.unmaskValue(f, { op: 'fpe' }, origin)).toBe(ssn)
      for (const o of others) expect(await m.unmaskValue(f, { op: 'fpe' }, o)).not.toBe(ssn)
    }
    const v = 'ana@example.org'
    const email = { tenant: 'acme', type: 'EMAIL_ADDRESS', field: 'email', scope: 'conversation:9' }
    const p = (await m.maskValue(v, { op: 'pseudonymize' }, email)) as string
    expect(p).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    // Deterministic per tenant, type and field, whatever the scope; one token, one origin.
    expect(await m.maskValue(v, { op: 'pseudonymize' }, { ...email, scope: 's' })).toBe(p)
    expect(await m.maskValue(v, { op: 'pseudonymize' }, { ...email, field: 'note' })).not.toBe(p)
    expect(await m.maskValue(v, { op: 'pseudonymize' }, { ...email, text: true })).not.toBe(p)
    expect(await m.maskValue(v, { op: 'pseudonymize' }, { ...email, tenant: 'other' })).not.toBe(p)
    expect(await m.unmaskValue(p, { op: 'pseudonymize' }, email)).toBe(v)
    expect(await m.unmaskText(`to ${p}.`, email)).toBe(`to ${v}.`)
    expect(
      await m.unmaskValue(p, { op: 'pseudonymize' }, { ...email, scope: 'conversation:8' }),
    ).toBe(p)
    expect(await m.unmaskValue(p, { op: 'pseudonymize' }, { ...email, tenant: 'other' })).toBe(p)
    expect(await m.unmaskValue(p, { op: 'pseudonymize' }, { ...email, field: 'name' })).toBe(p)
  })

  it('dateShift round-trips per subject', async () => {
    for (let i = 0; i < 30; i++) {
      const date = `19${randomDigits(2)}-0${1 + (i % 9)}-1${i % 10}`
      const at = { subject: `patient-${i}` }
      const shifted = (await m.maskValue(date, { op: 'dateShift' }, at)) as string
      expect(shifted).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(shifted).not.toBe(date)
      expect(await m.maskValue(date, { op: 'dateShift' }, at)).toBe(shifted)
      expect(await m.unmaskValue(shifted, { op: 'dateShift' }, at)).toBe(date)
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
    for (let i = 0; i < 200; i++) {
      const p = (await m.maskValue(0.98, {
        op: 'noise',
        epsilon: 1,
        range: 'probability',
      })) as number
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThanOrEqual(1)
      const r = (await m.maskValue(50, { op: 'noise', epsilon: 0.1, range: [40, 60] })) as number
      expect(r >= 40 && r <= 60).toBe(true)
    }
  })

  it('masks tensors by column, keeping integer datatypes integer', async () => {
    const t = {
      name: 'y',
      datatype: 'INT64' as const,
      shape: [3, 2],
      data: new BigInt64Array([10n, 37n, 20n, 44n, 30n, 58n]),
    }
    const out = await m.maskTensor(
      t,
      (c) => (c === 1 ? { op: 'generalize', size: 10 } : undefined),
      (c) => `c${c}`,
    )
    expect(Array.from(out.data as BigInt64Array)).toEqual([10n, 30n, 20n, 40n, 30n, 50n])
    expect(Array.from(t.data)).toEqual([10n, 37n, 20n, 44n, 30n, 58n])
    const noisy = await m.maskTensor(
      { name: 'n', datatype: 'INT32', shape: [4], data: new Int32Array([5, 5, 5, 5]) },
      () => ({ op: 'noise', epsilon: 0.5, range: [0, 10] }),
      () => 'n',
    )
    for (const v of noisy.data as Int32Array)
      expect(Number.isInteger(v) && v >= 0 && v <= 10).toBe(true)
    const text = await m.maskTensor(
      { name: 's', datatype: 'BYTES', shape: [2], data: ['mail ana@example.org', 'x'] },
      () => undefined,
      () => 's',
    )
    expect(text.data).toEqual(['mail <EMAIL_ADDRESS>', 'x'])
  })

  it('rejects bad rules, unknown keys and keyed operators without a key at construction', () => {
    expect(() => createMasker({ policy: { entites: {} } as never })).toThrow(
      'policy: unknown option "entites" (did you mean "entities"?)',
    )
    expect(() =>
      createMasker({ policy: { fields: { age: { op: 'generalize', sise: 5 } as never } } }),
    ).toThrow('policy.fields.age: unknown option "sise" (did you mean "size"?)')
    expect(() => createMasker({ policy: { paths: { 'a.b': { op: 'redact' } } } })).toThrow(
      /paths start at the root/,
    )
    expect(() => createMasker({ detector: { threshhold: 1 } as never })).toThrow(
      'detector: unknown option "threshhold" (did you mean "threshold"?)',
    )
    expect(() => createMasker({ kye: key } as never)).toThrow('did you mean "key"?')
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

  it('follows declared records and route paths (`[]`, `*`), and nothing else without scanStrings', async () => {
    const m = createMasker({ policy: { fields: { email: { op: 'redact' } } } })
    const body = {
      batch: { applicants: [{ email: 'ana@example.org', note: 'x' }] },
      people: { a: { name: 'Ana Lopez', id: 1 }, b: { name: 'Bo Diaz', id: 2 } },
      email: 'top@example.org',
      free: 'mail cleo@example.org',
    }
    const { value } = await m.applyPolicy(body, {
      records: 'batch.applicants[]',
      paths: { '*.*.name': { op: 'replace', type: 'PERSON' } },
      scanRecords: false,
      scanOther: false,
    })
    expect(value).toEqual({
      batch: { applicants: [{ email: '', note: 'x' }] },
      people: { a: { name: '<PERSON>', id: 1 }, b: { name: '<PERSON>', id: 2 } },
      // `email` is a record field, and this is not a record: key names mean nothing here.
      email: 'top@example.org',
      free: 'mail cleo@example.org',
    })
    // Without records the field rule (redact) applies nowhere; scanning still finds the address.
    const none = await m.applyPolicy(
      { email: 'top@example.org' },
      { records: false, scanOther: true },
    )
    expect(none.value).toEqual({ email: '<EMAIL_ADDRESS>' })
  })

  it('never masks a token of the same request twice, and reveals only granted origins', async () => {
    const m = createMasker({
      key,
      policy: {
        entities: { CREDIT_CARD: { op: 'fpe' }, US_SSN: { op: 'encrypt' }, '*': { op: 'replace' } },
      },
    })
    const ledger = new TokenLedger()
    const at = { tenant: 'acme', scope: 'request:1', ledger, field: 'note' }
    const text = 'card 4111 1111 1111 1111, ssn 536-22-1234, mail ana@example.org'
    const once = await m.maskText(text, at)
    expect(once.text).toMatch(
      /^card \d{4} \d{4} \d{4} \d{4}, ssn enc:v2:\S+, mail <EMAIL_ADDRESS>$/,
    )
    // An FF1 ciphertext can look like a phone number or a card; the ledger knows it is a token.
    expect((await m.maskText(once.text, at)).text).toBe(once.text)
    expect(await m.maskValue(once.text.slice(5, 24), { op: 'fpe', type: 'CREDIT_CARD' }, at)).toBe(
      once.text.slice(5, 24),
    )
    const reveal = (grants: string[]) =>
      ledger.reveal(`copy: ${once.text}`, (o) => grantsCover(new Set(grants), o))
    expect(reveal([])).toBe(`copy: ${once.text}`)
    expect(reveal(['note'])).toBe(
      `copy: card 4111 1111 1111 1111, ssn 536-22-1234, mail <EMAIL_ADDRESS>`,
    )
    expect(reveal(['US_SSN'])).toMatch(/^copy: card \d{4} \d{4} \d{4} \d{4}, ssn 536-22-1234, mail/)
    expect(reveal(['ssn', 'CREDIT'])).toBe(`copy: ${once.text}`)
  })

  it('scans long texts in windows with the same spans as one whole pass, yielding in between', async () => {
    const detector = createDetector()
    const m = createMasker({ detector, policy: { entities: { '*': { op: 'replace' } } } })
    const lines = readFileSync(new URL('../eval/pii-eval.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text)
    const text = [...lines, ...lines].join('\n')
    expect(text.length).toBeGreaterThan(1 << 18)
    const whole = detector.detect(text)
    let yields = 0
    const tick = setInterval(() => yields++, 0)
    const budget = new ScanBudget({ maxScanBytes: 1 << 24, maxScanMs: 60_000 })
    const windowed = await m.maskText(text, { budget })
    clearInterval(tick)
    expect(windowed.spans).toEqual(whole)
    expect(whole.length).toBeGreaterThan(2000)
    expect(yields).toBeGreaterThan(0)
  })
})

describe('ScanBudget', () => {
  it('refuses text past its bytes (413) and scanning past its time (422)', async () => {
    const b = new ScanBudget({ maxScanBytes: 10, maxScanMs: 5 })
    b.charge('ééééé')
    expect(() => b.charge('x')).toThrow(MaskingBudgetError)
    try {
      new ScanBudget({ maxScanBytes: 3 }).charge('😀')
    } catch (error) {
      expect((error as MaskingBudgetError).status).toBe(413)
      expect((error as MaskingBudgetError).code).toBe('masking_budget_exceeded')
    }
    const slow = new ScanBudget({ maxScanMs: 5 })
    const spin = () => {
      const end = performance.now() + 8
      while (performance.now() < end);
    }
    expect(() => slow.time(spin)).toThrow(expect.objectContaining({ status: 422 }))
  })

  it('breaks for the event loop after 10 ms of scanning, not after 10 ms of waiting', async () => {
    /** Whether `pause()` let a macrotask run before it resolved. */
    const yielded = async (b: ScanBudget) => {
      let ran = false
      const immediate = setImmediate(() => (ran = true))
      await b.pause()
      clearImmediate(immediate)
      return ran
    }
    const queued = new ScanBudget()
    await new Promise((resolve) => setTimeout(resolve, 25))
    queued.time(() => 1)
    expect(await yielded(queued)).toBe(false)
    const busy = new ScanBudget()
    for (let i = 0; i < 3; i++)
      busy.time(() => {
        const end = performance.now() + 4
        while (performance.now() < end);
      })
    expect(await yielded(busy)).toBe(true)
    expect(await yielded(busy)).toBe(false)
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

  it('resolves a scoped token only in its scope, with the origin it was made for', async () => {
    const store = new MemoryStore()
    const vault = new TokenVault({ key, store })
    const made = { type: 'PERSON', tenant: 'acme', scope: 'conversation:1' }
    const t = await vault.tokenize('Ana Lopez', { ...made, field: 'messages', text: true })
    expect(await vault.tokenize('Ana Lopez', { ...made, field: 'messages', text: true })).toBe(t)
    expect(await vault.tokenize('Ana Lopez', { ...made, field: 'name' })).not.toBe(t)
    expect(await vault.lookup(t, { tenant: 'acme', scope: 'conversation:1' })).toEqual({
      value: 'Ana Lopez',
      origins: [
        { tenant: 'acme', type: 'PERSON', field: 'messages', text: true, scope: 'conversation:1' },
      ],
    })
    expect(await vault.detokenize(t, { tenant: 'acme', scope: 'conversation:2' })).toBeUndefined()
    expect(await vault.detokenize(t, { tenant: 'acme' })).toBeUndefined()
    expect(await vault.detokenize(t, { tenant: 'other', scope: 'conversation:1' })).toBeUndefined()
    expect(() => new TokenVault({ key, stroe: store } as never)).toThrow('did you mean "store"?')
  })
})

import { MemoryStore, type KeyValueStore } from '@modelgate/core'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { PLACEHOLDER_PATTERN, PlaceholderVault } from './placeholders.js'

/** A store that is not this process's MemoryStore, as Redis is not: values must go in sealed. */
class SharedStore implements KeyValueStore {
  readonly inner = new MemoryStore()
  readonly raw = new Map<string, string>()
  get = (k: string) => this.inner.get(k)
  async set(k: string, v: string, ttl?: number) {
    this.raw.set(k, v)
    await this.inner.set(k, v, ttl)
  }
  async setIfAbsent(k: string, v: string, ttl?: number) {
    const set = await this.inner.setIfAbsent(k, v, ttl)
    if (set) this.raw.set(k, v)
    return set
  }
  delete = (k: string) => this.inner.delete(k)
}

const key = () => crypto.getRandomValues(new Uint8Array(32))

describe('PlaceholderVault', () => {
  it('numbers values per label and scope: equal values alike, different values apart', async () => {
    const vault = new PlaceholderVault()
    const scope = await vault.scope({ tenant: 't', conversation: 'c' })
    const s = vault.session(scope)
    expect(await s.placeholder('PERSON', 'Alice Smith')).toBe('<PERSON_1>')
    expect(await s.placeholder('PERSON', 'Bob Jones')).toBe('<PERSON_2>')
    expect(await s.placeholder('EMAIL_ADDRESS', 'a@example.org')).toBe('<EMAIL_1>')
    const again = vault.session(scope)
    expect(await again.placeholder('PERSON', 'Bob Jones')).toBe('<PERSON_2>')
    const other = vault.session(await vault.scope({ tenant: 't', conversation: 'd' }))
    expect(await other.placeholder('PERSON', 'Bob Jones')).toBe('<PERSON_1>')
  })

  it('gives concurrent replicas on one store one number per value, never one number to two values', async () => {
    const store = new SharedStore()
    const k = key()
    const replicas = [
      new PlaceholderVault({ key: k, store }),
      new PlaceholderVault({ key: k, store }),
    ]
    const scope = await replicas[0]!.scope({ tenant: 't', conversation: 'c' })
    const values = Array.from({ length: 20 }, (_, i) => `person ${i % 10}`)
    const got = await Promise.all(
      values.map((v, i) => replicas[i % 2]!.session(scope).placeholder('PERSON', v)),
    )
    const byValue = new Map<string, Set<string>>()
    values.forEach((v, i) => byValue.set(v, (byValue.get(v) ?? new Set()).add(got[i]!)))
    for (const set of byValue.values()) expect(set.size).toBe(1)
    expect(new Set(got).size).toBe(10)
  })

  it('keeps no value in clear in a shared store and reads it back with the same key only', async () => {
    const store = new SharedStore()
    const k = key()
    const vault = new PlaceholderVault({ key: k, store })
    const scope = await vault.scope({ tenant: 't', principal: 'p', conversation: 'c' })
    await vault.session(scope).placeholder('US_SSN', '536-22-8745')
    expect(JSON.stringify([...store.raw])).not.toContain('536-22-8745')
    const resumed = vault.session(scope)
    await resumed.adopt('what about <SSN_1>?')
    expect(resumed.restore('<SSN_1>')).toBe('536-22-8745')
    const stranger = new PlaceholderVault({ key: key(), store })
    const theirs = stranger.session(scope)
    await theirs.adopt('<SSN_1>')
    expect(theirs.restore('<SSN_1>')).toBe('<SSN_1>')
  })

  it('keeps its own copy of each value in memory, not the prompt the value was cut from', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const vault = new PlaceholderVault()
    const scope = await vault.scope({ tenant: 't', conversation: 'c' })
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 100; i++) {
      // A distinct 256 KB prompt each time, of which the vault keeps a 20-character value.
      const prompt = `${i} ${'lorem ipsum '.repeat(22_000)} name${String(i).padStart(4, '0')}@example.org`
      const value = prompt.slice(prompt.lastIndexOf(' ') + 1)
      // One request each: its session ends with it, the conversation stays in the vault.
      const s = vault.session(scope)
      expect(await s.placeholder('EMAIL_ADDRESS', value)).toBe(`<EMAIL_${i + 1}>`)
    }
    gc()
    // Holding the prompts would take 100 × 256 KB = 25 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5_000_000)
    const later = vault.session(scope)
    expect(await later.placeholder('EMAIL_ADDRESS', 'name0006@example.org')).toBe('<EMAIL_7>')
  })

  it('issues conversation ids only it accepts', async () => {
    const vault = new PlaceholderVault()
    const id = await vault.issueConversation()
    expect(await vault.verifyConversation(id)).toBe(true)
    expect(await new PlaceholderVault().verifyConversation(id)).toBe(false)
    expect(await vault.verifyConversation(id.slice(0, -1) + (id.endsWith('A') ? 'B' : 'A'))).toBe(
      false,
    )
    expect(await vault.verifyConversation('nonsense')).toBe(false)
  })

  it('makes keyed tokens that need no store for embeddings', async () => {
    const k = key()
    const a = await new PlaceholderVault({ key: k }).token('t', 'EMAIL_ADDRESS', 'a@example.org')
    const b = await new PlaceholderVault({ key: k }).token('t', 'EMAIL_ADDRESS', 'a@example.org')
    expect(a).toBe(b)
    expect(a).toMatch(/^<EMAIL_[0-9a-f]{10}>$/)
    expect(
      await new PlaceholderVault({ key: k }).token('u', 'EMAIL_ADDRESS', 'a@example.org'),
    ).not.toBe(a)
  })
})

describe('PlaceholderSession restore', () => {
  async function session() {
    const vault = new PlaceholderVault()
    const s = vault.session(await vault.scope({ tenant: 't', conversation: 'c' }))
    await s.placeholder('EMAIL_ADDRESS', 'ana@example.org')
    await s.placeholder('PERSON', 'O"Brien \\ Ana')
    for (let i = 0; i < 11; i++) await s.placeholder('PHONE_NUMBER', `+1 415-555-26${10 + i}`)
    return s
  }

  it('restores plain text and JSON sources, leaving unknown placeholders as text', async () => {
    const s = await session()
    expect(s.restore('to <EMAIL_1>, <PERSON_1>, <EMAIL_2>')).toBe(
      'to ana@example.org, O"Brien \\ Ana, <EMAIL_2>',
    )
    const json = s.restoreJson('{"to":"<EMAIL_1>","name":"<PERSON_1>"}')
    expect(JSON.parse(json)).toEqual({ to: 'ana@example.org', name: 'O"Brien \\ Ana' })
  })

  it('restores a stream cut at every position the same as the whole text', async () => {
    const s = await session()
    const text =
      'Hi <PERSON_1>, mail <EMAIL_1> or <PHONE_1> / <PHONE_11> <<EMAIL_1>> <EMA <x> <PHONE_1'
    const whole = s.restore(text)
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b += 3) {
        const r = s.restorer()
        const out = r.push(text.slice(0, a)) + r.push(text.slice(a, b)) + r.push(text.slice(b))
        expect(out + r.pending).toBe(whole)
      }
    }
  })

  it('holds back only what could still become a placeholder of the request', async () => {
    const s = await session()
    const r = s.restorer()
    expect(r.push('a <EM')).toBe('a ')
    expect(r.pending).toBe('<EM')
    expect(r.push('BER')).toBe('<EMBER')
    expect(r.push(' <PHONE_1')).toBe(' ')
    expect(r.push('1>')).toBe('+1 415-555-2620')
    expect(r.push(' <UNKNOWN')).toBe(' <UNKNOWN')
    const json = s.restorer(true)
    expect(json.push('{"n":"<PER') + json.push('SON_1>"}')).toBe('{"n":"O\\"Brien \\\\ Ana"}')
  })

  it('matches placeholders as the routes write them', () => {
    expect('x <EMAIL_1> <EMPLOYEE_ID_12> <a_1> <EMAIL_0>'.match(PLACEHOLDER_PATTERN)).toEqual([
      '<EMAIL_1>',
      '<EMPLOYEE_ID_12>',
    ])
  })
})

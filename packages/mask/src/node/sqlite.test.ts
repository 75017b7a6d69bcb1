import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqliteKeyValueStore } from './sqlite.js'
import { TokenVault } from '../vault.js'

const root = fileURLToPath(new URL('../../../../', import.meta.url))
const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
const KEY = Buffer.alloc(32, 7).toString('base64')
let dir: string

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/mask'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
  dir = await mkdtemp(join(tmpdir(), 'mask-sqlite-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Runs an ES module in a fresh Node process and returns its stdout. */
function node(source: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...env, DIST: dist },
    encoding: 'utf8',
  })
}

describe('SqliteKeyValueStore', () => {
  it('gets, sets, deletes and expires keys', async () => {
    let now = 1_000_000
    const store = new SqliteKeyValueStore({ path: join(dir, 'basic.db'), now: () => now })
    expect(await store.get('a')).toBeUndefined()
    await store.set('a', '1')
    await store.set('b', '2', 1000)
    await store.set('a', '3')
    expect(await store.get('a')).toBe('3')
    expect(await store.get('b')).toBe('2')
    now += 1000
    expect(await store.get('b')).toBeUndefined()
    await store.delete('a')
    expect(await store.get('a')).toBeUndefined()
    await store.set('c', '4', 10)
    await store.set('d', '5', 10_000)
    now += 10
    expect(await store.sweep()).toBe(1)
    expect(await store.get('d')).toBe('5')
    store.close()
    await expect(store.get('d')).rejects.toThrow(/closed/)
  })

  it('sets only absent or expired keys in setIfAbsent', async () => {
    let now = 5_000
    const store = new SqliteKeyValueStore({ path: join(dir, 'nx.db'), now: () => now })
    expect(await store.setIfAbsent('jti:1', 'first', 100)).toBe(true)
    expect(await store.setIfAbsent('jti:1', 'second', 100)).toBe(false)
    expect(await store.get('jti:1')).toBe('first')
    now += 100
    expect(await store.setIfAbsent('jti:1', 'third')).toBe(true)
    expect(await store.setIfAbsent('jti:1', 'fourth')).toBe(false)
    expect(await store.get('jti:1')).toBe('third')
    store.close()
  })

  it('lets exactly one of several concurrent processes win setIfAbsent on each key', async () => {
    const path = join(dir, 'race.db')
    const source = `
      const { SqliteKeyValueStore } = await import(process.env.DIST + 'node/index.js')
      const store = new SqliteKeyValueStore({ path: process.env.DB })
      let won = 0
      for (let i = 0; i < 200; i++) if (await store.setIfAbsent('k' + i, process.env.ID)) won++
      console.log(won)`
    node(
      `const { SqliteKeyValueStore } = await import(process.env.DIST + 'node/index.js')
      await new SqliteKeyValueStore({ path: process.env.DB }).get('init')`,
      { DB: path },
    )
    const runs = ['a', 'b', 'c'].map((id) => ({
      id,
      won: Number(node(source, { DB: path, ID: id })),
    }))
    expect(runs.reduce((n, r) => n + r.won, 0)).toBe(200)
  })

  it('keeps vault tokens across a process restart', () => {
    const path = join(dir, 'vault.db')
    const write = `
      const { SqliteKeyValueStore } = await import(process.env.DIST + 'node/index.js')
      const { TokenVault } = await import(process.env.DIST + 'index.js')
      const store = new SqliteKeyValueStore({ path: process.env.DB })
      const vault = new TokenVault({ key: process.env.KEY, store })
      const token = await vault.tokenize('ana@example.org', { type: 'EMAIL_ADDRESS', tenant: 'acme' })
      store.close()
      console.log(token)`
    const token = node(write, { DB: path, KEY }).trim()
    expect(token).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    const read = `
      const { SqliteKeyValueStore } = await import(process.env.DIST + 'node/index.js')
      const { TokenVault } = await import(process.env.DIST + 'index.js')
      const vault = new TokenVault({ key: process.env.KEY, store: new SqliteKeyValueStore({ path: process.env.DB }) })
      console.log(JSON.stringify([
        await vault.detokenize(process.env.TOKEN, { tenant: 'acme' }),
        await vault.detokenize(process.env.TOKEN, { tenant: 'other' }),
        await vault.tokenize('ana@example.org', { type: 'EMAIL_ADDRESS', tenant: 'acme' }),
      ]))`
    const [value, otherTenant, again] = JSON.parse(node(read, { DB: path, KEY, TOKEN: token }))
    expect(value).toBe('ana@example.org')
    expect(otherTenant).toBeNull()
    expect(again).toBe(token)
  })

  it('serves the token vault in process', async () => {
    const store = new SqliteKeyValueStore({ path: ':memory:' })
    const vault = new TokenVault({ key: KEY, store })
    const token = await vault.tokenize('4111111111111111', { type: 'CREDIT_CARD' })
    expect(await vault.detokenize(token)).toBe('4111111111111111')
    store.close()
  })

  it('rejects bad options at construction', () => {
    expect(() => new SqliteKeyValueStore({ path: '' })).toThrow(TypeError)
    expect(() => new SqliteKeyValueStore({ path: 'x.db', table: 'kv; DROP TABLE x' })).toThrow(
      TypeError,
    )
    expect(() => new SqliteKeyValueStore({ path: 'x.db', tabel: 'kv' } as never)).toThrow(
      'SqliteKeyValueStore: unknown option "tabel" (did you mean "table"?)',
    )
    expect(() => new SqliteKeyValueStore({ path: 'x.db', synchronous: 'fast' as 'full' })).toThrow(
      TypeError,
    )
  })
})

import { checkOptionKeys, type KeyValueStore } from '@modelgate/core'

/**
 * Options of {@link SqliteKeyValueStore}.
 *
 * @example
 * ```ts
 * const options: SqliteKeyValueStoreOptions = { path: '/var/lib/gate/vault.db' }
 * ```
 */
export interface SqliteKeyValueStoreOptions {
  /** Database file (created when missing); `:memory:` for a private in-memory database. */
  path: string
  /** Table name. Default `modelgate_kv`. */
  table?: string
  /** SQLite `synchronous` pragma in WAL mode: `full` (default) syncs every commit to disk. */
  synchronous?: 'full' | 'normal' | 'off'
  /** How long a writer waits for another process's lock, in ms. Default 5000. */
  busyTimeoutMs?: number
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number
}

type Database = import('better-sqlite3').Database
interface Statement<P extends unknown[], R = unknown> {
  run(...params: P): { changes: number }
  get(...params: P): R | undefined
}

interface Prepared {
  db: Database
  get: Statement<[string], { value: string; expires_at: number | null }>
  set: Statement<[string, string, number | null]>
  setIfAbsent: Statement<[{ key: string; value: string; expires: number | null; now: number }]>
  remove: Statement<[string]>
  removeExpired: Statement<[string, number]>
  sweep: Statement<[number]>
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const SWEEP_EVERY = 1024

/**
 * A core `KeyValueStore` in a SQLite file (better-sqlite3 12, WAL mode), so token-vault entries
 * and other state survive a restart and can be shared by processes on one machine. TTLs are kept
 * per key and expired keys are never returned; `setIfAbsent` is one `INSERT … ON CONFLICT`
 * statement, atomic across processes. `better-sqlite3` is an optional peer dependency, loaded on
 * first use; this class is Node-only and lives in the `@modelgate/mask/node` entry point.
 *
 * @example
 * ```ts
 * import { mask } from '@modelgate/mask'
 * import { SqliteKeyValueStore } from '@modelgate/mask/node'
 *
 * const vault = new SqliteKeyValueStore({ path: 'vault.db' })
 * const plugin = mask({ key, vault, policy: { entities: { '*': { op: 'pseudonymize' } } } })
 * // on shutdown
 * vault.close()
 * ```
 */
export class SqliteKeyValueStore implements KeyValueStore {
  private readonly options: Required<Omit<SqliteKeyValueStoreOptions, 'now'>>
  private readonly now: () => number
  private prepared: Promise<Prepared> | undefined
  private writes = 0
  private closed = false

  constructor(options: SqliteKeyValueStoreOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('SqliteKeyValueStore: path must be a non-empty string')
    }
    checkOptionKeys('SqliteKeyValueStore', options, {
      path: true,
      table: true,
      synchronous: true,
      busyTimeoutMs: true,
      now: true,
    })
    const table = options.table ?? 'modelgate_kv'
    if (!TABLE.test(table)) {
      throw new TypeError('SqliteKeyValueStore: table must be a plain SQL identifier')
    }
    const synchronous = options.synchronous ?? 'full'
    if (!['full', 'normal', 'off'].includes(synchronous)) {
      throw new TypeError('SqliteKeyValueStore: synchronous must be "full", "normal" or "off"')
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new TypeError('SqliteKeyValueStore: busyTimeoutMs must be a non-negative integer')
    }
    this.options = { path: options.path, table, synchronous, busyTimeoutMs }
    this.now = options.now ?? Date.now
  }

  async get(key: string): Promise<string | undefined> {
    const p = await this.open()
    const row = p.get.get(key)
    if (!row) return undefined
    const now = this.now()
    if (row.expires_at !== null && row.expires_at <= now) {
      p.removeExpired.run(key, now)
      return undefined
    }
    return row.value
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const p = await this.open()
    p.set.run(key, value, this.expiry(ttlMs))
    this.wrote(p)
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const p = await this.open()
    const now = this.now()
    const changed =
      p.setIfAbsent.run({ key, value, expires: this.expiry(ttlMs, now), now }).changes === 1
    if (changed) this.wrote(p)
    return changed
  }

  async delete(key: string): Promise<void> {
    ;(await this.open()).remove.run(key)
  }

  /** Deletes expired keys now (also done every 1024 writes); resolves to how many were removed. */
  async sweep(): Promise<number> {
    return (await this.open()).sweep.run(this.now()).changes
  }

  /** Closes the database; later calls fail. */
  close(): void {
    this.closed = true
    void this.prepared?.then((p) => p.db.close()).catch(() => undefined)
  }

  private expiry(ttlMs: number | undefined, now = this.now()): number | null {
    if (ttlMs === undefined) return null
    if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs)) {
      throw new TypeError('SqliteKeyValueStore: ttlMs must be a number')
    }
    return ttlMs === Infinity ? null : now + ttlMs
  }

  private wrote(p: Prepared): void {
    if (++this.writes % SWEEP_EVERY === 0) p.sweep.run(this.now())
  }

  private open(): Promise<Prepared> {
    if (this.closed) return Promise.reject(new Error('SqliteKeyValueStore is closed'))
    this.prepared ??= this.connect()
    return this.prepared
  }

  private async connect(): Promise<Prepared> {
    let Sqlite: typeof import('better-sqlite3')
    try {
      Sqlite = (await import('better-sqlite3')).default
    } catch (error) {
      throw new Error(
        `SqliteKeyValueStore needs better-sqlite3@12 (npm install better-sqlite3@12): ${(error as Error).message}`,
      )
    }
    const { path, table, synchronous, busyTimeoutMs } = this.options
    const db = new Sqlite(path, { timeout: busyTimeoutMs })
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`)
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID`,
    )
    const prepare = <P extends unknown[], R = unknown>(sql: string) =>
      db.prepare(sql) as unknown as Statement<P, R>
    return {
      db,
      get: prepare(`SELECT value, expires_at FROM ${table} WHERE key = ?`),
      set: prepare(
        `INSERT INTO ${table} (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      ),
      setIfAbsent: prepare(
        `INSERT INTO ${table} (key, value, expires_at) VALUES (@key, @value, @expires)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
         WHERE ${table}.expires_at IS NOT NULL AND ${table}.expires_at <= @now`,
      ),
      remove: prepare(`DELETE FROM ${table} WHERE key = ?`),
      removeExpired: prepare(
        `DELETE FROM ${table} WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?`,
      ),
      sweep: prepare(`DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ?`),
    }
  }
}

import { createRequire } from 'node:module'
import { checkOptionKeys } from '@modelgate/core'
import { parseAuditLine } from '../../chain.js'
import type { AuditEntry, AuditHead, AuditSink } from '../../types.js'
import type { SqliteSinkOptions } from '../types.js'

/** The part of better-sqlite3's API used here (its own types stay out of our declarations). */
interface Statement {
  run(...params: unknown[]): unknown
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  iterate(...params: unknown[]): IterableIterator<unknown>
}
interface Database {
  pragma(source: string): unknown
  exec(source: string): unknown
  prepare(source: string): Statement
  transaction<A extends unknown[]>(run: (...args: A) => void): (...args: A) => void
  close(): unknown
}
type DatabaseConstructor = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean },
) => Database

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const OPTIONS = { path: true, table: true, synchronous: true } as const

/**
 * Loads better-sqlite3, an optional peer dependency, when a SQLite log is first opened; its
 * absence is an error that says what to install.
 */
export function loadSqlite(): DatabaseConstructor {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor
  } catch (error) {
    throw new Error(
      `SQLite audit logs need the optional peer dependency better-sqlite3 (install better-sqlite3@12 next to @modelgate/audit): ${String((error as Error).message)}`,
    )
  }
}

/** A SQLite identifier, checked (the table name is part of the SQL text). */
export function tableName(table: string | undefined, who: string): string {
  const name = table ?? 'audit_log'
  if (!TABLE.test(name)) throw new TypeError(`${who}: table must be a plain SQL identifier`)
  return name
}

/**
 * A SQLite sink (better-sqlite3 12, WAL mode, one transaction per write). Each row keeps the
 * exact hashed line (`line`) next to queryable columns (`time`, `request_id`, `principal`,
 * `model`, `action`, `status`); verification reads `line` in `id` order.
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sink: sqliteSink({ path: 'audit.db' }) })
 * // later: SELECT time, principal, model, status FROM audit_log WHERE principal = 'user-42'
 * ```
 */
export function sqliteSink(options: SqliteSinkOptions): AuditSink {
  if (!options || typeof options !== 'object') throw new TypeError('sqliteSink: options required')
  checkOptionKeys('sqliteSink', options, OPTIONS)
  if (typeof options.path !== 'string' || options.path === '')
    throw new TypeError('sqliteSink: path must be a non-empty string')
  const table = tableName(options.table, 'sqliteSink')
  const synchronous = options.synchronous ?? 'full'
  if (!['full', 'normal', 'off'].includes(synchronous)) {
    throw new TypeError('sqliteSink: synchronous must be "full", "normal" or "off"')
  }
  let db: Database | undefined
  let insertMany: ((entries: AuditEntry[]) => void) | undefined

  return {
    kind: 'sqlite',
    async open(want): Promise<AuditHead | undefined> {
      const Sqlite = loadSqlite()
      db = new Sqlite(options.path)
      db.pragma('journal_mode = WAL')
      db.pragma(`synchronous = ${synchronous.toUpperCase()}`)
      db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        seq INTEGER NOT NULL,
        line TEXT NOT NULL,
        time TEXT,
        request_id TEXT,
        principal TEXT,
        model TEXT,
        action TEXT,
        status INTEGER
      )`)
      const insert = db.prepare(
        `INSERT INTO ${table} (type, seq, line, time, request_id, principal, model, action, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      insertMany = db.transaction((entries: AuditEntry[]) => {
        for (const e of entries) {
          if (e.type === 'record') {
            const r = e.record
            insert.run(
              'record',
              r.seq,
              e.line,
              r.time,
              r.requestId,
              r.principal,
              r.model,
              r.action,
              r.status,
            )
          } else {
            insert.run(
              'checkpoint',
              e.checkpoint.seq,
              e.line,
              e.checkpoint.time,
              null,
              null,
              null,
              null,
              null,
            )
          }
        }
      })
      const head = lastRecord(db, table)
      if (head && want?.lastCheckpoint) {
        const row = db
          .prepare(`SELECT line FROM ${table} WHERE type = 'checkpoint' ORDER BY id DESC LIMIT 1`)
          .get() as { line: string } | undefined
        const entry = row ? parseAuditLine(row.line) : undefined
        if (entry?.type === 'checkpoint') head.checkpoint = entry.jws
      }
      return head
    },
    async write(entries: AuditEntry[]) {
      if (!insertMany) throw new Error('sqliteSink: not open')
      insertMany(entries)
    },
    async close() {
      db?.close()
      db = undefined
      insertMany = undefined
    },
  }
}

function lastRecord(db: Database, table: string): AuditHead | undefined {
  const last = db
    .prepare(`SELECT type, line FROM ${table} ORDER BY id DESC LIMIT 2`)
    .all() as Array<{ type: string; line: string }>
  let checkpointed = false
  for (const row of last) {
    const entry = parseAuditLine(row.line)
    if (entry.type === 'checkpoint') {
      checkpointed = true
      continue
    }
    if (entry.type === 'invalid')
      throw new Error(`audit table ${table}: last row is damaged (${entry.reason})`)
    return { seq: entry.record.seq, hash: entry.record.hash, checkpointed }
  }
  const record = db
    .prepare(`SELECT line FROM ${table} WHERE type = 'record' ORDER BY id DESC LIMIT 1`)
    .get() as { line: string } | undefined
  if (!record) return undefined
  const entry = parseAuditLine(record.line)
  if (entry.type !== 'record') throw new Error(`audit table ${table}: last record is damaged`)
  return { seq: entry.record.seq, hash: entry.record.hash, checkpointed: true }
}

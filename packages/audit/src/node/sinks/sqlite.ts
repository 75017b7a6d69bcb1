import { createRequire } from 'node:module'
import { parseAuditLine } from '../chain.js'
import type { AuditEntry, AuditHead, AuditSink, SqliteSinkOptions } from '../types.js'

type Database = import('better-sqlite3').Database

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** @internal Loads the optional `better-sqlite3` dependency with a helpful error. */
export function loadSqlite(): typeof import('better-sqlite3') {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3')
  } catch (error) {
    throw new Error(
      `the SQLite audit sink needs better-sqlite3@12 (npm install better-sqlite3@12): ${String((error as Error).message)}`,
    )
  }
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
  if (!options || typeof options.path !== 'string' || options.path === '') {
    throw new TypeError('sqliteSink: path must be a non-empty string')
  }
  const table = options.table ?? 'audit_log'
  if (!TABLE.test(table)) throw new TypeError('sqliteSink: table must be a plain SQL identifier')
  const synchronous = options.synchronous ?? 'full'
  if (!['full', 'normal', 'off'].includes(synchronous)) {
    throw new TypeError('sqliteSink: synchronous must be "full", "normal" or "off"')
  }
  let db: Database | undefined
  let insertMany: ((entries: AuditEntry[]) => void) | undefined

  return {
    kind: 'sqlite',
    async open(): Promise<AuditHead | undefined> {
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

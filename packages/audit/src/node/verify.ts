import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { checkOptionKeys } from '@modelgate/core'
import { verifyAuditLines } from '../verify.js'
import type { AuditLine, AuditVerifyResult } from '../types.js'
import { loadSqlite, tableName } from './sinks/sqlite.js'
import type { AuditFileVerifyOptions } from './types.js'

const SQLITE_MAGIC = 'SQLite format 3\0'
const OPTIONS = { key: true, checkpoint: true, allowUnsignedTail: true, table: true } as const

/**
 * Verifies an audit log file: JSONL, or a SQLite database written by {@link sqliteSink}
 * (recognised by its header). Checks what {@link verifyAuditLines} checks: the record chain
 * from record 0, every checkpoint's signature, record and link to the checkpoint before it,
 * and that a checkpoint covers the end of the log (unless `allowUnsignedTail`, which turns an
 * uncovered end into a warning). The command `modelgate audit verify FILE` prints this result.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * const result = await verifyAuditFile('audit.jsonl', { key: readFileSync('audit-public.pem', 'utf8') })
 * if (!result.ok) console.error(`${result.problem?.kind}: ${result.problem?.message}`)
 * for (const w of result.warnings) console.warn(`WARNING: ${w}`)
 * ```
 */
export async function verifyAuditFile(
  path: string,
  options: AuditFileVerifyOptions = {},
): Promise<AuditVerifyResult> {
  if (typeof path !== 'string' || path === '')
    throw new TypeError('verifyAuditFile: path must be a non-empty string')
  checkOptionKeys('verifyAuditFile', options, OPTIONS)
  const { table, ...lineOptions } = options
  const fh = await open(path, 'r')
  const magic = Buffer.alloc(16)
  try {
    await fh.read(magic, 0, 16, 0)
  } finally {
    await fh.close()
  }
  if (magic.toString('latin1') === SQLITE_MAGIC)
    return verifyAuditLines(sqliteLines(path, tableName(table, 'verifyAuditFile')), lineOptions)
  return verifyAuditLines(fileLines(path), lineOptions)
}

async function* fileLines(path: string): AsyncGenerator<AuditLine> {
  let rest = ''
  for await (const chunk of createReadStream(path, {
    encoding: 'utf8',
    highWaterMark: 256 * 1024,
  })) {
    const text = rest + (chunk as string)
    const parts = text.split('\n')
    rest = parts.pop()!
    for (const part of parts) yield { text: part }
  }
  if (rest !== '') yield { text: rest, partial: true }
}

function* sqliteLines(path: string, table: string): Generator<AuditLine> {
  const Sqlite = loadSqlite()
  const db = new Sqlite(path, { readonly: true, fileMustExist: true })
  try {
    for (const row of db.prepare(`SELECT line FROM ${table} ORDER BY id`).iterate()) {
      yield { text: (row as { line: string }).line }
    }
  } finally {
    db.close()
  }
}

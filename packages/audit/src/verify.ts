import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createPublicKey, KeyObject } from 'node:crypto'
import { compactVerify, importJWK, type JWK } from 'jose'
import { GENESIS_HASH, parseAuditLine } from './chain.js'
import { loadSqlite } from './sinks/sqlite.js'
import type {
  AuditKey,
  AuditLine,
  AuditProblem,
  AuditVerifyOptions,
  AuditVerifyResult,
} from './types.js'

type VerifyKey = KeyObject | CryptoKey

const SQLITE_MAGIC = 'SQLite format 3\0'

/**
 * Verifies an audit log file (JSONL, or a SQLite database written by {@link sqliteSink}): the
 * hash chain from record 0, every checkpoint's signature and link, and (unless
 * `allowUnsignedTail`) that a checkpoint covers the last record. Reports the first problem and
 * the record it concerns: missing, reordered, altered, forged, truncated or unsigned.
 *
 * The command `modelgate audit verify FILE [--key public.pem] [--checkpoint JWS]` prints the
 * result and exits 0 when intact, 1 otherwise (see {@link auditVerifyCommand}).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * const result = await verifyAuditFile('audit.jsonl', { key: readFileSync('audit-public.pem', 'utf8') })
 * if (!result.ok) console.error(result.problem?.message)
 * ```
 */
export async function verifyAuditFile(
  path: string,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  if (typeof path !== 'string' || path === '')
    throw new TypeError('verifyAuditFile: path must be a non-empty string')
  const fh = await open(path, 'r')
  const magic = Buffer.alloc(16)
  try {
    await fh.read(magic, 0, 16, 0)
  } finally {
    await fh.close()
  }
  if (magic.toString('latin1') === SQLITE_MAGIC)
    return verifyAuditLines(sqliteLines(path, options.table), options)
  return verifyAuditLines(fileLines(path), options)
}

/**
 * Verifies audit lines from any source (a custom sink's storage), in stored order.
 *
 * @example
 * ```ts
 * const rows = db.prepare('SELECT line FROM audit_log ORDER BY id').all()
 * const result = await verifyAuditLines(rows.map((r) => ({ text: r.line })), { key })
 * ```
 */
export async function verifyAuditLines(
  lines: Iterable<AuditLine> | AsyncIterable<AuditLine>,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  const keys = await importKeys(options.key)
  const external =
    options.checkpoint !== undefined ? await readExternal(options.checkpoint, keys) : undefined
  let expected = 0
  let prevHash = GENESIS_HASH
  let records = 0
  let checkpoints = 0
  let lastCheckpointSeq = -1
  let lineNo = 0
  let problem: AuditProblem | undefined
  // While looking ahead for a record that is absent at its place (moved or deleted).
  let lookingFor: { seq: number; line: number; found?: number } | undefined
  const result = (): AuditVerifyResult => ({
    ok: problem === undefined,
    records,
    checkpoints,
    lastSeq: expected - 1,
    signaturesChecked: keys.length > 0,
    ...(problem ? { problem } : {}),
  })

  for await (const { text, partial } of lines) {
    lineNo++
    if (lookingFor) {
      const entry = parseAuditLine(text)
      const seq =
        entry.type === 'record'
          ? entry.record.seq
          : entry.type === 'invalid'
            ? entry.seq
            : undefined
      if (seq === lookingFor.seq) {
        lookingFor.found = lineNo
        break
      }
      continue
    }
    if (partial) {
      problem = {
        kind: 'truncated',
        seq: expected,
        line: lineNo,
        message: `line ${lineNo} is cut short: record ${expected} (or a checkpoint) is incomplete`,
      }
      break
    }
    const entry = parseAuditLine(text)
    if (entry.type === 'invalid') {
      problem = {
        kind: 'altered',
        seq: expected,
        line: lineNo,
        message: `record ${expected} at line ${lineNo} was altered: ${entry.reason}`,
      }
      break
    }
    if (entry.type === 'checkpoint') {
      const claims = entry.claims
      if (!claims) {
        problem = {
          kind: 'forged',
          seq: null,
          line: lineNo,
          message: `checkpoint at line ${lineNo} is not a valid JWS`,
        }
        break
      }
      if (keys.length > 0 && !(await verifies(entry.jws, keys))) {
        problem = {
          kind: 'forged',
          seq: claims.seq,
          line: lineNo,
          message: `checkpoint at line ${lineNo} (record ${claims.seq}) has no valid signature from the given key`,
        }
        break
      }
      const lastSeq = expected - 1
      if (claims.seq > lastSeq) {
        problem = {
          kind: 'missing',
          seq: lastSeq + 1,
          line: lineNo,
          message: `record ${lastSeq + 1} is missing: the checkpoint at line ${lineNo} covers records up to ${claims.seq}`,
        }
        break
      }
      if (claims.seq < lastSeq) {
        problem = {
          kind: 'forged',
          seq: claims.seq + 1,
          line: lineNo,
          message: `records ${claims.seq + 1}..${lastSeq} before line ${lineNo} are not covered by the checkpoint that follows them`,
        }
        break
      }
      if (claims.hash !== prevHash) {
        problem = {
          kind: 'altered',
          seq: lastSeq,
          line: lineNo - 1,
          message: `record ${lastSeq} (or records before it, rehashed) differs from what the checkpoint at line ${lineNo} signed`,
        }
        break
      }
      checkpoints++
      lastCheckpointSeq = claims.seq
      continue
    }
    const r = entry.record
    if (r.seq > expected) {
      lookingFor = { seq: expected, line: lineNo }
      continue
    }
    if (r.seq < expected) {
      problem = {
        kind: 'reordered',
        seq: r.seq,
        line: lineNo,
        message: `record ${r.seq} appears again at line ${lineNo}, after record ${expected - 1}`,
      }
      break
    }
    if (r.prev !== prevHash) {
      const previousSigned = keys.length > 0 && lastCheckpointSeq === r.seq - 1
      problem =
        r.seq === 0
          ? {
              kind: 'altered',
              seq: 0,
              line: lineNo,
              message: `record 0 at line ${lineNo} does not start the chain`,
            }
          : previousSigned
            ? {
                kind: 'forged',
                seq: r.seq,
                line: lineNo,
                message: `record ${r.seq} at line ${lineNo} was not written by the chain: it links to a hash other than the signed record ${r.seq - 1}`,
              }
            : {
                kind: 'altered',
                seq: r.seq - 1,
                line: lineNo - 1,
                message: `record ${r.seq - 1} was altered: record ${r.seq} at line ${lineNo} links to a different hash`,
              }
      break
    }
    prevHash = r.hash
    expected++
    records++
    if (external && external.seq === r.seq && external.hash !== r.hash) {
      problem = {
        kind: 'altered',
        seq: r.seq,
        line: lineNo,
        message: `record ${r.seq} differs from what the external checkpoint signed`,
      }
      break
    }
  }

  if (lookingFor && !problem) {
    problem =
      lookingFor.found !== undefined
        ? {
            kind: 'reordered',
            seq: lookingFor.seq,
            line: lookingFor.found,
            message: `record ${lookingFor.seq} is out of order: expected at line ${lookingFor.line}, found at line ${lookingFor.found}`,
          }
        : {
            kind: 'missing',
            seq: lookingFor.seq,
            line: lookingFor.line,
            message: `record ${lookingFor.seq} is missing (expected at line ${lookingFor.line})`,
          }
  }
  if (!problem && external && external.seq >= expected) {
    problem = {
      kind: 'missing',
      seq: expected,
      line: lineNo + 1,
      message: `record ${expected} is missing: the log ends at record ${expected - 1} but the external checkpoint covers records up to ${external.seq}`,
    }
  }
  if (
    !problem &&
    keys.length > 0 &&
    !options.allowUnsignedTail &&
    expected - 1 > lastCheckpointSeq
  ) {
    problem = {
      kind: 'unsigned',
      seq: lastCheckpointSeq + 1,
      line: lineNo,
      message: `records ${lastCheckpointSeq + 1}..${expected - 1} follow the last signed checkpoint: appended by someone else, or the writer stopped before signing (allowUnsignedTail accepts a log still being written)`,
    }
  }
  return result()
}

/**
 * The `modelgate audit verify FILE` command: `args` are the arguments after `verify`
 * (`FILE [--key PEM_FILE] [--checkpoint JWS] [--allow-unsigned-tail] [--json]`). Prints the
 * result and returns the exit code: 0 when intact, 1 otherwise (2 for usage errors).
 *
 * @example
 * ```ts
 * process.exitCode = await auditVerifyCommand(process.argv.slice(4))
 * ```
 */
export async function auditVerifyCommand(
  args: string[],
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  },
): Promise<number> {
  const { parseArgs } = await import('node:util')
  const { readFile } = await import('node:fs/promises')
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        key: { type: 'string', multiple: true },
        checkpoint: { type: 'string' },
        'allow-unsigned-tail': { type: 'boolean' },
        table: { type: 'string' },
        json: { type: 'boolean' },
      },
    })
  } catch (error) {
    io.err(
      `usage: modelgate audit verify FILE [--key PUBLIC_KEY_PEM] [--checkpoint JWS] [--allow-unsigned-tail] [--json]\n${(error as Error).message}`,
    )
    return 2
  }
  const file = parsed.positionals[0]
  if (!file || parsed.positionals.length > 1) {
    io.err(
      'usage: modelgate audit verify FILE [--key PUBLIC_KEY_PEM] [--checkpoint JWS] [--allow-unsigned-tail] [--json]',
    )
    return 2
  }
  try {
    const keys = await Promise.all((parsed.values.key ?? []).map((k) => readFile(k, 'utf8')))
    const result = await verifyAuditFile(file, {
      ...(keys.length ? { key: keys } : {}),
      ...(parsed.values.checkpoint ? { checkpoint: parsed.values.checkpoint } : {}),
      ...(parsed.values['allow-unsigned-tail'] ? { allowUnsignedTail: true } : {}),
      ...(parsed.values.table ? { table: parsed.values.table } : {}),
    })
    if (parsed.values.json) io.out(JSON.stringify(result))
    else if (result.ok) {
      io.out(
        `intact: ${result.records} records, ${result.checkpoints} checkpoints${result.signaturesChecked ? ' (signatures verified)' : ' (no key: signatures not checked)'}`,
      )
    } else io.out(`NOT intact: ${result.problem!.kind} — ${result.problem!.message}`)
    return result.ok ? 0 : 1
  } catch (error) {
    io.err(`audit verify: ${(error as Error).message}`)
    return 1
  }
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

function* sqliteLines(path: string, table = 'audit_log'): Generator<AuditLine> {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table))
    throw new TypeError('table must be a plain SQL identifier')
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

async function importKeys(key: AuditVerifyOptions['key']): Promise<VerifyKey[]> {
  if (key === undefined) return []
  const list = Array.isArray(key) ? key : [key]
  const out: VerifyKey[] = []
  for (const k of list as Array<AuditKey | string>) {
    if (typeof k === 'string') out.push(createPublicKey(k))
    else if (k instanceof KeyObject) out.push(k.type === 'private' ? createPublicKey(k) : k)
    else if (typeof (k as CryptoKey).algorithm === 'object' && 'type' in k) out.push(k as CryptoKey)
    else {
      const { d: _d, ...jwk } = k as JWK
      out.push(
        (await importJWK(
          jwk,
          (jwk.alg as string | undefined) ?? (jwk.crv === 'Ed25519' ? 'EdDSA' : 'ES256'),
        )) as VerifyKey,
      )
    }
  }
  return out
}

async function verifies(jws: string, keys: VerifyKey[]): Promise<boolean> {
  for (const key of keys) {
    try {
      await compactVerify(jws, key, { algorithms: ['ES256', 'EdDSA'] })
      return true
    } catch {
      // try the next key
    }
  }
  return false
}

async function readExternal(
  jws: string,
  keys: VerifyKey[],
): Promise<{ seq: number; hash: string }> {
  const entry = parseAuditLine(`{"checkpoint":${JSON.stringify(jws)}}`)
  if (entry.type !== 'checkpoint' || !entry.claims)
    throw new TypeError('checkpoint: not an audit checkpoint JWS')
  if (keys.length > 0 && !(await verifies(jws, keys)))
    throw new TypeError('checkpoint: signature does not verify with the given key')
  return { seq: entry.claims.seq, hash: entry.claims.hash }
}

import { checkOptionKeys } from '@modelgate/core'
import {
  compactVerify,
  importJWK,
  importSPKI,
  type CryptoKey,
  type JWK,
  type KeyObject,
} from 'jose'
import {
  checkpointClaims,
  checkpointDigest,
  GENESIS_HASH,
  parseAuditLine,
  type CheckpointClaims,
} from './chain.js'
import type {
  AuditKey,
  AuditLine,
  AuditProblem,
  AuditVerifyOptions,
  AuditVerifyResult,
} from './types.js'

type VerifyKey = KeyObject | CryptoKey
type Invalid = Extract<ReturnType<typeof parseAuditLine>, { type: 'invalid' }>

const ALGORITHMS = ['ES256', 'EdDSA']
const OPTIONS = { key: true, checkpoint: true, allowUnsignedTail: true } as const

/**
 * Verifies audit lines in stored order (a file's lines, a table's rows, a custom sink's
 * storage): the hash chain of records from record 0; every checkpoint's signature (with a key),
 * the record it covers, and its link to the checkpoint before it (so a deleted checkpoint
 * shows); and that a checkpoint covers the end of the log. Reports the first problem and the
 * record it concerns: missing, reordered, altered, forged, truncated or unsigned. A log whose
 * end no checkpoint covers fails as `unsigned` unless `allowUnsignedTail` (then `ok`, with a
 * warning): records cut from its end would leave no trace.
 *
 * Files: `verifyAuditFile` of `@modelgate/audit/node`, and the `modelgate audit verify` command.
 *
 * @example
 * ```ts
 * const rows = db.prepare('SELECT line FROM audit_log ORDER BY id').all()
 * const result = await verifyAuditLines(rows.map((r) => ({ text: r.line })), { key })
 * if (!result.ok) console.error(result.problem?.message)
 * for (const w of result.warnings) console.warn(`WARNING: ${w}`)
 * ```
 */
export async function verifyAuditLines(
  lines: Iterable<AuditLine> | AsyncIterable<AuditLine>,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  checkOptionKeys('verifyAuditLines', options, OPTIONS)
  const keys = await importKeys(options.key)
  const external =
    options.checkpoint !== undefined ? await readExternal(options.checkpoint, keys) : undefined
  let expected = 0
  let prevHash = GENESIS_HASH
  let records = 0
  let checkpoints = 0
  let lastCheckpoint: { seq: number; digest: string } | undefined
  let lineNo = 0
  let problem: AuditProblem | undefined
  // While looking ahead for a record that is absent at its place (moved or deleted).
  let lookingFor: { seq: number; line: number; found?: number } | undefined
  // A damaged line is a cut-off end when nothing follows it.
  let damaged: { entry: Invalid; line: number } | undefined

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
    if (damaged) break
    if (partial) {
      problem = truncated(lineNo, expected)
      break
    }
    const entry = parseAuditLine(text)
    if (entry.type === 'invalid') {
      damaged = { entry, line: lineNo }
      continue
    }
    if (entry.type === 'checkpoint') {
      problem = await checkCheckpoint(entry.jws, entry.claims)
      if (problem) break
      checkpoints++
      lastCheckpoint = { seq: entry.claims!.seq, digest: checkpointDigest(entry.jws) }
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
      problem = brokenLink(r.seq, lineNo, keys.length > 0 && lastCheckpoint?.seq === r.seq - 1)
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

  async function checkCheckpoint(
    jws: string,
    claims: CheckpointClaims | undefined,
  ): Promise<AuditProblem | undefined> {
    const at = `the checkpoint at line ${lineNo}`
    if (!claims) {
      return {
        kind: 'forged',
        seq: null,
        line: lineNo,
        message: `${at} is not a chained checkpoint JWS (seq, hash, n, prev)`,
      }
    }
    if (keys.length > 0 && !(await verifies(jws, keys))) {
      return {
        kind: 'forged',
        seq: claims.seq,
        line: lineNo,
        message: `${at} (record ${claims.seq}) has no valid signature from the given key`,
      }
    }
    if (claims.prev !== (lastCheckpoint?.digest ?? null)) {
      return claims.n > checkpoints
        ? {
            kind: 'missing',
            seq: null,
            line: lineNo,
            message: `checkpoint ${checkpoints}${claims.n - 1 > checkpoints ? `..${claims.n - 1}` : ''} is missing: ${at} is checkpoint ${claims.n} and names a previous checkpoint the log does not hold before it`,
          }
        : {
            kind: 'forged',
            seq: null,
            line: lineNo,
            message: `${at} does not follow the checkpoint before it (it names another one as its predecessor)`,
          }
    }
    if (claims.n !== checkpoints) {
      return {
        kind: 'forged',
        seq: null,
        line: lineNo,
        message: `${at} claims to be checkpoint ${claims.n} but is checkpoint ${checkpoints}`,
      }
    }
    const lastSeq = expected - 1
    if (claims.seq > lastSeq) {
      return {
        kind: 'missing',
        seq: lastSeq + 1,
        line: lineNo,
        message: `record ${lastSeq + 1} is missing: ${at} covers records up to ${claims.seq}`,
      }
    }
    if (claims.seq < lastSeq) {
      return {
        kind: 'forged',
        seq: claims.seq + 1,
        line: lineNo,
        message: `records ${claims.seq + 1}..${lastSeq} before line ${lineNo} are not covered by the checkpoint that follows them`,
      }
    }
    if (claims.hash !== prevHash) {
      return {
        kind: 'altered',
        seq: lastSeq,
        line: lineNo - 1,
        message: `record ${lastSeq} (or records before it, rehashed) differs from what ${at} signed`,
      }
    }
    return undefined
  }

  if (damaged && !problem) {
    const { entry, line } = damaged
    const last = line === lineNo && !lookingFor
    problem =
      last && entry.unterminated
        ? truncated(line, expected)
        : entry.checkpoint
          ? {
              kind: 'altered',
              seq: null,
              line,
              message: `the checkpoint at line ${line} was altered: ${entry.reason}`,
            }
          : {
              kind: 'altered',
              seq: expected,
              line,
              message: `record ${expected} at line ${line} was altered: ${entry.reason}`,
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
  const warnings: string[] = []
  const covered = Math.max(lastCheckpoint?.seq ?? -1, external?.seq ?? -1)
  if (!problem && expected - 1 > covered) {
    const range =
      covered + 1 === expected - 1
        ? `record ${expected - 1}`
        : `records ${covered + 1}..${expected - 1}`
    const why =
      lastCheckpoint === undefined
        ? `the log has no checkpoint, so nothing covers its end (${range})`
        : `${range} follow the last checkpoint`
    const risk =
      'records cut from the end of the log would leave no trace: it was written without signing, appended to by someone else, the writer stopped before signing, or it is still being written'
    if (options.allowUnsignedTail) warnings.push(`${why}; ${risk}`)
    else {
      problem = {
        kind: 'unsigned',
        seq: covered + 1,
        line: lineNo,
        message: `${why}; ${risk} (allowUnsignedTail / --allow-unsigned-tail accepts it with a warning)`,
      }
    }
  }
  if (!problem && expected === 0) warnings.push('the log holds no records')
  if (keys.length === 0)
    warnings.push('no key given: checkpoint signatures were not checked, only the chains')
  return {
    ok: problem === undefined,
    records,
    checkpoints,
    lastSeq: expected - 1,
    signaturesChecked: keys.length > 0,
    warnings,
    ...(problem ? { problem } : {}),
  }
}

function truncated(line: number, seq: number): AuditProblem {
  return {
    kind: 'truncated',
    seq,
    line,
    message: `the log is cut off in line ${line}: its last entry (record ${seq} or a checkpoint) is incomplete`,
  }
}

function brokenLink(seq: number, line: number, previousSigned: boolean): AuditProblem {
  if (seq === 0)
    return {
      kind: 'altered',
      seq: 0,
      line,
      message: `record 0 at line ${line} does not start the chain`,
    }
  if (previousSigned) {
    return {
      kind: 'forged',
      seq,
      line,
      message: `record ${seq} at line ${line} was not written by the chain: it links to a hash other than the signed record ${seq - 1}`,
    }
  }
  return {
    kind: 'altered',
    seq: seq - 1,
    line: line - 1,
    message: `record ${seq - 1} was altered: record ${seq} at line ${line} links to a different hash`,
  }
}

async function importKeys(key: AuditVerifyOptions['key']): Promise<VerifyKey[]> {
  if (key === undefined) return []
  const list = Array.isArray(key) ? key : [key]
  const out: VerifyKey[] = []
  for (const k of list as Array<AuditKey | string>) {
    if (typeof k === 'string') out.push(await importPem(k))
    else if (isKeyObject(k)) {
      // A private key verifies through its public half.
      out.push(k.type === 'private' ? await publicJwk(k.export({ format: 'jwk' })) : k)
    } else if (typeof (k as CryptoKey).algorithm === 'object' && 'type' in k)
      out.push(k as CryptoKey)
    else out.push(await publicJwk(k as JWK))
  }
  return out
}

interface NodeKeyObject extends KeyObject {
  export(options: { format: 'jwk' }): JWK
}

function isKeyObject(k: unknown): k is NodeKeyObject {
  return (k as { [Symbol.toStringTag]?: unknown })?.[Symbol.toStringTag] === 'KeyObject'
}

async function importPem(pem: string): Promise<VerifyKey> {
  for (const alg of ALGORITHMS) {
    try {
      return await importSPKI(pem, alg)
    } catch {
      // try the other algorithm
    }
  }
  throw new TypeError('key: not an SPKI public key for ES256 (P-256) or EdDSA (Ed25519)')
}

async function publicJwk(jwk: JWK): Promise<VerifyKey> {
  const { d: _d, ...pub } = jwk
  const alg = (pub.alg as string | undefined) ?? (pub.crv === 'Ed25519' ? 'EdDSA' : 'ES256')
  return (await importJWK(pub, alg)) as VerifyKey
}

async function verifies(jws: string, keys: VerifyKey[]): Promise<boolean> {
  for (const key of keys) {
    try {
      await compactVerify(jws, key, { algorithms: ALGORITHMS })
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
  const claims = typeof jws === 'string' ? checkpointClaims(jws.trim()) : undefined
  if (!claims) throw new TypeError('checkpoint: not an audit checkpoint JWS')
  if (keys.length > 0 && !(await verifies(jws.trim(), keys)))
    throw new TypeError('checkpoint: signature does not verify with the given key')
  return { seq: claims.seq, hash: claims.hash }
}

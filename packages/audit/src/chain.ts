import { hash as digest } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import type { AuditCheckpoint, AuditFields, AuditRecord } from './types.js'

/**
 * The `prev` of the first record: 64 zeros.
 *
 * @example
 * ```ts
 * if (record.seq === 0 && record.prev !== GENESIS_HASH) throw new Error('bad chain start')
 * ```
 */
export const GENESIS_HASH = '0'.repeat(64)

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/
const HEX64 = /^[0-9a-f]{64}$/
const CHECKPOINT_PREFIX = '{"checkpoint":'
const EMPTY_HASH = ',"hash":""}'

export function sha256Hex(text: string): string {
  return digest('sha256', text, 'hex')
}

/** Chains facts after `prev`; the hash covers the line's exact bytes up to the `hash` field. */
export function chainRecord(
  fields: AuditFields,
  seq: number,
  prev: string,
): { record: AuditRecord; line: string } {
  // One object literal serves both the line and the record: a spread copy costs more than the
  // hash.
  const record: AuditRecord = {
    seq,
    time: fields.time,
    requestId: fields.requestId,
    principal: fields.principal,
    tenant: fields.tenant,
    model: fields.model,
    modelVersion: fields.modelVersion,
    action: fields.action,
    route: fields.route,
    decision: fields.decision,
    masking: fields.masking,
    explanation: fields.explanation,
    status: fields.status,
    error: fields.error,
    latencyMs: fields.latencyMs,
    prev,
    hash: '',
  }
  const body = JSON.stringify(record)
  const hashed = `${body.slice(0, -EMPTY_HASH.length)}}`
  record.hash = sha256Hex(hashed)
  return { record, line: `${hashed.slice(0, -1)},"hash":"${record.hash}"}` }
}

/** The line of a checkpoint entry. */
export function checkpointLine(jws: string): string {
  return `${CHECKPOINT_PREFIX}${JSON.stringify(jws)}}`
}

/**
 * One stored line, parsed: a record whose own hash matches its bytes, a checkpoint (signature
 * not yet checked), or `invalid` with the reason.
 *
 * @example
 * ```ts
 * const entry = parseAuditLine(line)
 * if (entry.type === 'record') console.log(entry.record.seq)
 * ```
 */
export function parseAuditLine(
  line: string,
):
  | { type: 'record'; record: AuditRecord }
  | { type: 'checkpoint'; jws: string; claims: Omit<AuditCheckpoint, 'jws'> | undefined }
  | { type: 'invalid'; reason: string; seq?: number } {
  if (line.startsWith(CHECKPOINT_PREFIX)) {
    let jws: unknown
    try {
      jws = (JSON.parse(line) as { checkpoint?: unknown }).checkpoint
    } catch {
      return { type: 'invalid', reason: 'checkpoint line is not valid JSON' }
    }
    if (typeof jws !== 'string') return { type: 'invalid', reason: 'checkpoint is not a JWS' }
    return { type: 'checkpoint', jws, claims: checkpointClaims(jws) }
  }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { type: 'invalid', reason: 'line is not valid JSON' }
  }
  const r = value as Partial<AuditRecord> | null
  const seq =
    typeof r?.seq === 'number' && Number.isSafeInteger(r.seq) && r.seq >= 0 ? r.seq : undefined
  const m = HASH_SUFFIX.exec(line)
  if (!m || seq === undefined || typeof r?.prev !== 'string' || !HEX64.test(r.prev)) {
    return {
      type: 'invalid',
      reason: 'line is not an audit record',
      ...(seq !== undefined ? { seq } : {}),
    }
  }
  const body = `${line.slice(0, m.index)}}`
  if (sha256Hex(body) !== m[1])
    return { type: 'invalid', reason: 'record hash does not match its bytes', seq }
  return { type: 'record', record: r as AuditRecord }
}

function checkpointClaims(jws: string): Omit<AuditCheckpoint, 'jws'> | undefined {
  const parts = jws.split('.')
  if (parts.length !== 3) return undefined
  try {
    decodeProtectedHeader(jws)
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >
    if (
      !Number.isSafeInteger(claims.seq) ||
      typeof claims.hash !== 'string' ||
      !HEX64.test(claims.hash)
    ) {
      return undefined
    }
    return { seq: claims.seq as number, hash: claims.hash, time: String(claims.time ?? '') }
  } catch {
    return undefined
  }
}

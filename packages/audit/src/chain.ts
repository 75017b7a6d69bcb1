import { base64url, decodeProtectedHeader } from 'jose'
import { sha256Hex } from '@modelgate/core'
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
const decoder = new TextDecoder()

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
    clientRequestId: fields.clientRequestId,
    principal: fields.principal,
    tenant: fields.tenant,
    model: fields.model,
    modelVersion: fields.modelVersion,
    action: fields.action,
    route: fields.route,
    routeName: fields.routeName,
    decision: fields.decision,
    status: fields.status,
    error: fields.error,
    latencyMs: fields.latencyMs,
    facts: fields.facts,
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

/** What a checkpoint's JWS payload claims (its signature not checked). */
export type CheckpointClaims = Omit<AuditCheckpoint, 'jws'>

/**
 * One stored line, parsed: a record whose own hash matches its bytes, a checkpoint (signature
 * not yet checked), or `invalid` with the reason; `unterminated` when the line is the start of
 * an entry that was cut off (its JSON ends too early).
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
  | { type: 'checkpoint'; jws: string; claims: CheckpointClaims | undefined }
  | { type: 'invalid'; reason: string; seq?: number; checkpoint: boolean; unterminated: boolean } {
  const checkpoint = line.startsWith(CHECKPOINT_PREFIX)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return {
      type: 'invalid',
      reason: checkpoint ? 'checkpoint line is not valid JSON' : 'line is not valid JSON',
      checkpoint,
      unterminated: unterminated(line),
    }
  }
  if (checkpoint) {
    const jws = (value as { checkpoint?: unknown }).checkpoint
    if (typeof jws !== 'string')
      return { type: 'invalid', reason: 'checkpoint is not a JWS', checkpoint, unterminated: false }
    return { type: 'checkpoint', jws, claims: checkpointClaims(jws) }
  }
  const r = value as Partial<AuditRecord> | null
  const seq =
    typeof r?.seq === 'number' && Number.isSafeInteger(r.seq) && r.seq >= 0 ? r.seq : undefined
  const m = HASH_SUFFIX.exec(line)
  const invalid = (reason: string) => ({
    type: 'invalid' as const,
    reason,
    checkpoint: false,
    unterminated: false,
    ...(seq !== undefined ? { seq } : {}),
  })
  if (!m || seq === undefined || typeof r?.prev !== 'string' || !HEX64.test(r.prev))
    return invalid('line is not an audit record')
  const body = `${line.slice(0, m.index)}}`
  if (sha256Hex(body) !== m[1]) return invalid('record hash does not match its bytes')
  return { type: 'record', record: r as AuditRecord }
}

/**
 * True when `line` is a prefix of a JSON object cut short: every string is well-formed but the
 * text ends inside a string or before its brackets close.
 */
function unterminated(line: string): boolean {
  if (!line.startsWith('{')) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      if (--depth === 0) return false
    }
  }
  return true
}

/** SHA-256 (hex) of a checkpoint's JWS: how the next checkpoint names it. */
export function checkpointDigest(jws: string): string {
  return sha256Hex(jws)
}

/** The claims of a checkpoint JWS, or undefined when it is not one. */
export function checkpointClaims(jws: string): CheckpointClaims | undefined {
  const parts = jws.split('.')
  if (parts.length !== 3) return undefined
  try {
    decodeProtectedHeader(jws)
    const claims = JSON.parse(decoder.decode(base64url.decode(parts[1]!))) as Record<
      string,
      unknown
    >
    if (
      !Number.isSafeInteger(claims.seq) ||
      typeof claims.hash !== 'string' ||
      !HEX64.test(claims.hash) ||
      !Number.isSafeInteger(claims.n) ||
      (claims.n as number) < 0 ||
      !(claims.prev === null || (typeof claims.prev === 'string' && HEX64.test(claims.prev)))
    ) {
      return undefined
    }
    return {
      seq: claims.seq as number,
      hash: claims.hash,
      time: String(claims.time ?? ''),
      n: claims.n as number,
      prev: claims.prev as string | null,
    }
  } catch {
    return undefined
  }
}

import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CompactSign } from 'jose'
import { MemoryStore } from '@modelgate/core'
import { chainRecord, checkpointDigest } from '../chain.js'
import { createAuditTrail } from '../trail.js'
import { verifyAuditLines } from '../verify.js'
import { jsonlSink } from './sinks/jsonl.js'
import { verifyAuditFile } from './verify.js'
import type { AuditFields, AuditRecord } from '../types.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
const other = generateKeyPairSync('ed25519')

let dir: string
let original: string
let lines: string[]
let latestCheckpoint: string | undefined

const fields = (i: number): AuditFields => ({
  time: new Date(1_700_000_000_000 + i).toISOString(),
  requestId: `req-${i}`,
  clientRequestId: null,
  principal: i % 3 === 0 ? null : `user-${i % 5}`,
  tenant: null,
  model: 'credit',
  modelVersion: '1',
  action: 'predict',
  route: 'v2-infer',
  routeName: null,
  decision: { allow: i % 4 !== 0, reasons: [`rule ${i % 4}`] },
  status: i % 4 === 0 ? 403 : 200,
  error: i % 4 === 0 ? 'forbidden' : null,
  latencyMs: 1.5,
  facts: i % 2 === 0 ? { masking: { EMAIL_ADDRESS: 1 } } : {},
})

/** Line index (0-based) of the record with this seq in `lines`. */
const lineOf = (seq: number) => lines.findIndex((l) => l.startsWith(`{"seq":${seq},`))
/** Line indexes (0-based) of the checkpoints in `lines`. */
const checkpointLines = () => lines.flatMap((l, i) => (l.startsWith('{"checkpoint"') ? [i] : []))
const write = async (name: string, text: string) => {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}
const joined = (ls: string[]) => ls.map((l) => `${l}\n`).join('')
/** A checkpoint over `record`, chained after `previous`, signed by `key`. */
const signCheckpoint = async (
  record: AuditRecord,
  n: number,
  previous: string | null,
  key = privateKey,
) => {
  const payload = { seq: record.seq, hash: record.hash, time: '', log: 'audit', n, prev: previous }
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', typ: 'modelgate-audit-checkpoint' })
    .sign(key)
  return `{"checkpoint":${JSON.stringify(jws)}}`
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-verify-'))
  const store = new MemoryStore()
  const path = join(dir, 'audit.jsonl')
  const trail = createAuditTrail({
    sink: jsonlSink({ path, fsync: 'never' }),
    checkpoint: { key: privateKey, alg: 'EdDSA', kid: 'k1', every: 10, store },
  })
  for (let i = 0; i < 45; i++) await trail.append(fields(i))
  await trail.close()
  original = await readFile(path, 'utf8')
  lines = original.trimEnd().split('\n')
  latestCheckpoint = await store.get('audit:checkpoint:audit')
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('verifyAuditFile', () => {
  it('accepts the intact log with its signatures and the external checkpoint', async () => {
    const result = await verifyAuditFile(await write('intact.jsonl', original), {
      key: publicPem,
      checkpoint: latestCheckpoint,
    })
    expect(result).toEqual({
      ok: true,
      records: 45,
      checkpoints: 5,
      lastSeq: 44,
      signaturesChecked: true,
      warnings: [],
    })
    expect(checkpointLines()).toHaveLength(5)
  })

  it('writes chained checkpoints: each names the one before it', () => {
    const claims = checkpointLines().map((i) => {
      const jws = JSON.parse(lines[i]!).checkpoint as string
      const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as {
        n: number
        prev: string | null
      }
      return { jws, ...payload }
    })
    expect(claims.map((c) => c.n)).toEqual([0, 1, 2, 3, 4])
    expect(claims[0]!.prev).toBeNull()
    for (let i = 1; i < claims.length; i++)
      expect(claims[i]!.prev).toBe(checkpointDigest(claims[i - 1]!.jws))
  })

  it('names a deleted record as missing', async () => {
    const ls = lines.filter((_, i) => i !== lineOf(17))
    const result = await verifyAuditFile(await write('deleted.jsonl', joined(ls)), {
      key: publicPem,
    })
    expect(result.ok).toBe(false)
    expect(result.problem).toMatchObject({ kind: 'missing', seq: 17 })
    expect(result.records).toBe(17)
  })

  it('names a checkpoint line deleted in the middle as a missing checkpoint, with or without a key', async () => {
    const second = checkpointLines()[1]!
    const ls = lines.filter((_, i) => i !== second)
    const path = await write('no-checkpoint-1.jsonl', joined(ls))
    for (const options of [{ key: publicPem }, {}]) {
      const result = await verifyAuditFile(path, options)
      expect(result.ok).toBe(false)
      expect(result.problem).toMatchObject({ kind: 'missing', seq: null, line: second + 11 })
      expect(result.problem!.message).toMatch(/^checkpoint 1 is missing/)
      expect(result.checkpoints).toBe(1)
    }
    const both = lines.filter((_, i) => i !== checkpointLines()[1] && i !== checkpointLines()[2])
    expect(
      (await verifyAuditFile(await write('no-checkpoints-1-2.jsonl', joined(both)))).problem!
        .message,
    ).toMatch(/^checkpoint 1\.\.2 is missing/)
  })

  it('names a checkpoint that does not follow its predecessor as forged', async () => {
    const [first, second] = checkpointLines()
    const ls = [...lines]
    // Checkpoint 1 re-signed with the right key but naming no predecessor.
    ls[second!] = await signCheckpoint(JSON.parse(lines[second! - 1]!) as AuditRecord, 1, null)
    const result = await verifyAuditFile(await write('unchained.jsonl', joined(ls)), {
      key: publicPem,
    })
    expect(result.problem).toMatchObject({ kind: 'forged', seq: null, line: second! + 1 })
    expect(first).toBeLessThan(second!)
  })

  it('names the first of two swapped records as reordered', async () => {
    const ls = [...lines]
    const a = lineOf(23)
    ;[ls[a], ls[a + 1]] = [ls[a + 1]!, ls[a]!]
    const result = await verifyAuditFile(await write('swapped.jsonl', joined(ls)), {
      key: publicPem,
    })
    expect(result.problem).toMatchObject({ kind: 'reordered', seq: 23, line: a + 2 })
  })

  it('names a record moved to the end as reordered', async () => {
    const moved = lines[lineOf(5)]!
    const ls = [...lines.filter((l) => l !== moved), moved]
    const result = await verifyAuditFile(await write('moved.jsonl', joined(ls)), { key: publicPem })
    expect(result.problem).toMatchObject({ kind: 'reordered', seq: 5, line: ls.length })
  })

  it('names a record with one edited byte as altered, wherever the byte is', async () => {
    const at = lineOf(31)
    for (const pick of [
      (l: string) => l.indexOf('user-'),
      (l: string) => l.indexOf('"status":') + 9,
      (l: string) => l.length - 5,
      () => 2,
    ]) {
      const ls = [...lines]
      const line = ls[at]!
      const i = pick(line)
      const flipped = String.fromCharCode(line.charCodeAt(i) ^ 1)
      ls[at] = line.slice(0, i) + flipped + line.slice(i + 1)
      const result = await verifyAuditFile(await write('edited.jsonl', joined(ls)), {
        key: publicPem,
      })
      expect(result.problem, `byte ${i}`).toMatchObject({ kind: 'altered', seq: 31, line: at + 1 })
    }
  })

  it('names a record that was edited and rehashed as altered', async () => {
    const at = lineOf(12)
    const record = JSON.parse(lines[at]!) as AuditRecord
    const { line } = chainRecord(
      { ...record, status: 200, error: null, decision: { allow: true, reasons: [] } },
      12,
      record.prev,
    )
    const ls = [...lines]
    ls[at] = line
    const result = await verifyAuditFile(await write('rehashed.jsonl', joined(ls)), {
      key: publicPem,
    })
    expect(result.problem).toMatchObject({ kind: 'altered', seq: 12 })
  })

  it('names a log cut in its last line as truncated, not altered: a cut-off record or final checkpoint', async () => {
    const last = lines.length
    const cutInCheckpoint = original.length - 40
    for (const [name, text] of [
      ['torn.jsonl', original.slice(0, cutInCheckpoint)],
      // The same cut, with a newline added after it (an editor, or a line-based copy).
      ['torn-newline.jsonl', `${original.slice(0, cutInCheckpoint)}\n`],
    ] as const) {
      const result = await verifyAuditFile(await write(name, text), { key: publicPem })
      expect(result.problem, name).toMatchObject({ kind: 'truncated', line: last })
      expect(result.problem!.message).toMatch(/cut off in line/)
      expect(result.problem!.message).not.toMatch(/altered/)
    }
    const recordEnd = joined(lines.slice(0, lineOf(44)))
    const cutRecord = `${recordEnd}${lines[lineOf(44)]!.slice(0, 50)}\n`
    expect(
      (await verifyAuditFile(await write('torn-record.jsonl', cutRecord), { key: publicPem }))
        .problem,
    ).toMatchObject({ kind: 'truncated', seq: 44, line: lineOf(44) + 1 })
  })

  it('names a damaged checkpoint in the middle as an altered checkpoint, not a record', async () => {
    const at = checkpointLines()[2]!
    const ls = [...lines]
    ls[at] = ls[at]!.slice(0, 60)
    const result = await verifyAuditFile(await write('cut-middle.jsonl', joined(ls)), {
      key: publicPem,
    })
    expect(result.problem).toMatchObject({ kind: 'altered', seq: null, line: at + 1 })
    expect(result.problem!.message).toMatch(/^the checkpoint at line \d+ was altered/)
  })

  it('detects a log cut at a line boundary: unsigned tail, or missing against the external checkpoint', async () => {
    const ls = lines.slice(0, lineOf(38))
    const path = await write('cut.jsonl', joined(ls))
    expect((await verifyAuditFile(path, { key: publicPem })).problem).toMatchObject({
      kind: 'unsigned',
      seq: 30,
    })
    expect(
      (await verifyAuditFile(path, { key: publicPem, checkpoint: latestCheckpoint })).problem,
    ).toMatchObject({
      kind: 'missing',
      seq: 38,
    })
  })

  it('does not pass a log without checkpoints cut from 9 to 7 records silently', async () => {
    const path = join(dir, 'unsigned.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'never' }) })
    for (let i = 0; i < 9; i++) await trail.append(fields(i))
    await trail.close()
    const nine = (await readFile(path, 'utf8')).trimEnd().split('\n')
    expect(nine).toHaveLength(9)
    const cut = await write('unsigned-cut.jsonl', joined(nine.slice(0, 7)))
    const refused = await verifyAuditFile(cut)
    expect(refused.ok).toBe(false)
    expect(refused.problem).toMatchObject({ kind: 'unsigned', seq: 0 })
    expect(refused.problem!.message).toMatch(/no checkpoint/)
    const accepted = await verifyAuditFile(cut, { allowUnsignedTail: true })
    expect(accepted).toMatchObject({ ok: true, records: 7 })
    expect(accepted.warnings.join('\n')).toMatch(/no checkpoint.*records 0\.\.6.*cut from the end/)
    expect(accepted.warnings.join('\n')).toMatch(/no key given/)
  })

  it('names an appended forged record: broken link, valid link but unsigned, or a forged checkpoint', async () => {
    const last = JSON.parse(lines[lineOf(44)]!) as AuditRecord
    const badLink = chainRecord(fields(45), 45, 'f'.repeat(64)).line
    expect(
      (
        await verifyAuditFile(await write('forged1.jsonl', joined([...lines, badLink])), {
          key: publicPem,
        })
      ).problem,
    ).toMatchObject({
      kind: 'forged',
      seq: 45,
    })
    const goodLink = chainRecord(fields(45), 45, last.hash)
    const path = await write('forged2.jsonl', joined([...lines, goodLink.line]))
    expect((await verifyAuditFile(path, { key: publicPem })).problem).toMatchObject({
      kind: 'unsigned',
      seq: 45,
    })
    const lastJws = JSON.parse(lines[lines.length - 1]!).checkpoint as string
    const forgedCheckpoint = await signCheckpoint(
      goodLink.record,
      5,
      checkpointDigest(lastJws),
      other.privateKey,
    )
    const path3 = await write('forged3.jsonl', joined([...lines, goodLink.line, forgedCheckpoint]))
    expect((await verifyAuditFile(path3, { key: publicPem })).problem).toMatchObject({
      kind: 'forged',
      seq: 45,
      line: lines.length + 2,
    })
  })

  it('without a key checks the chains only, and says so', async () => {
    const result = await verifyAuditFile(await write('nokey.jsonl', original))
    expect(result).toMatchObject({ ok: true, records: 45, signaturesChecked: false })
    expect(result.warnings).toEqual([
      'no key given: checkpoint signatures were not checked, only the chains',
    ])
  })

  it('verifies lines from any source, and refuses unknown options', async () => {
    const result = await verifyAuditLines(
      lines.map((text) => ({ text })),
      { key: publicKey },
    )
    expect(result).toMatchObject({ ok: true, records: 45, checkpoints: 5 })
    await expect(verifyAuditLines([], { allowUnsignedTails: true } as never)).rejects.toThrow(
      /unknown option "allowUnsignedTails" \(did you mean "allowUnsignedTail"\?\)/,
    )
    await expect(verifyAuditFile('x.jsonl', { tabel: 'x' } as never)).rejects.toThrow(
      /did you mean "table"/,
    )
  })
})

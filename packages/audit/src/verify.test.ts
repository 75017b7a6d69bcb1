import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CompactSign } from 'jose'
import { MemoryStore } from '@modelgate/core'
import { chainRecord } from './chain.js'
import { createAuditTrail } from './trail.js'
import { jsonlSink } from './sinks/jsonl.js'
import { auditVerifyCommand, verifyAuditFile } from './verify.js'
import type { AuditFields, AuditRecord } from './types.js'

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
  principal: i % 3 === 0 ? null : `user-${i % 5}`,
  tenant: null,
  model: 'credit',
  modelVersion: '1',
  action: 'predict',
  route: 'v2-infer',
  decision: { allow: i % 4 !== 0, reasons: [`rule ${i % 4}`] },
  masking: i % 2 === 0 ? { EMAIL_ADDRESS: 1 } : null,
  explanation: null,
  status: i % 4 === 0 ? 403 : 200,
  error: i % 4 === 0 ? 'forbidden' : null,
  latencyMs: 1.5,
})

/** Line index (0-based) of the record with this seq in `lines`. */
const lineOf = (seq: number) => lines.findIndex((l) => l.startsWith(`{"seq":${seq},`))
const write = async (name: string, text: string) => {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}
const joined = (ls: string[]) => ls.map((l) => `${l}\n`).join('')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-verify-'))
  const store = new MemoryStore()
  const path = join(dir, 'audit.jsonl')
  const trail = createAuditTrail({
    sink: jsonlSink({ path, fsync: 'never' }),
    checkpoint: {
      key: privateKey,
      alg: 'EdDSA',
      kid: 'k1',
      every: 10,
      store,
    },
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
    })
    expect(lines.filter((l) => l.startsWith('{"checkpoint"'))).toHaveLength(5)
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

  it('names a torn last line as truncated', async () => {
    const cut = original.length - 40
    const result = await verifyAuditFile(await write('torn.jsonl', original.slice(0, cut)), {
      key: publicPem,
    })
    expect(result.problem).toMatchObject({ kind: 'truncated', line: lines.length })
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
    const jws = await new CompactSign(
      new TextEncoder().encode(JSON.stringify({ seq: 45, hash: goodLink.record.hash, time: '' })),
    )
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(other.privateKey)
    const forgedCheckpoint = `{"checkpoint":${JSON.stringify(jws)}}`
    const path3 = await write('forged3.jsonl', joined([...lines, goodLink.line, forgedCheckpoint]))
    expect((await verifyAuditFile(path3, { key: publicPem })).problem).toMatchObject({
      kind: 'forged',
      seq: 45,
      line: lines.length + 2,
    })
  })

  it('without a key checks the chain only', async () => {
    const result = await verifyAuditFile(await write('nokey.jsonl', original))
    expect(result).toMatchObject({ ok: true, records: 45, signaturesChecked: false })
  })

  it('runs as the audit verify command with exit codes 0, 1 and 2', async () => {
    const keyFile = await write('public.pem', publicPem)
    const out: string[] = []
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) }
    expect(
      await auditVerifyCommand([await write('cmd.jsonl', original), '--key', keyFile], io),
    ).toBe(0)
    expect(out.pop()).toBe('intact: 45 records, 5 checkpoints (signatures verified)')
    const ls = lines.filter((_, i) => i !== lineOf(3))
    expect(
      await auditVerifyCommand([await write('cmd2.jsonl', joined(ls)), '--key', keyFile], io),
    ).toBe(1)
    expect(out.pop()).toMatch(/^NOT intact: missing — record 3 is missing/)
    expect(await auditVerifyCommand([], io)).toBe(2)
  })
})

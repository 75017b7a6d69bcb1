import { generateKeyPairSync } from 'node:crypto'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditTrail } from '../../trail.js'
import { verifyAuditFile } from '../verify.js'
import { jsonlSink } from './jsonl.js'
import { recordFields as fields } from '../../../test/helpers.js'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-jsonl-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('jsonlSink', () => {
  for (const fsync of ['always', 'batch', 'never'] as const) {
    it(`fsync: ${fsync} — a restarted writer continues the chain and signs the recovered head (ES256)`, async () => {
      const path = join(dir, `continue-${fsync}.jsonl`)
      const checkpoint = { key: privateKey, alg: 'ES256' as const, every: 1000 }
      const one = createAuditTrail({
        sink: jsonlSink({ path, fsync, fsyncIntervalMs: 5 }),
        checkpoint,
      })
      await Promise.all(['a', 'b', 'c'].map((id) => one.append(fields(id))))
      // No close(): the process "died" with records after the last checkpoint.
      expect((await verifyAuditFile(path, { key: publicKey })).problem?.kind).toBe('unsigned')
      const two = createAuditTrail({ sink: jsonlSink({ path, fsync }), checkpoint })
      const d = await two.append(fields('d'))
      expect(d.seq).toBe(3)
      await two.close()
      expect(await verifyAuditFile(path, { key: publicKey })).toMatchObject({
        ok: true,
        records: 4,
        checkpoints: 1,
      })
    })
  }

  it('cuts a torn last line on open, and refuses to continue after a damaged complete line', async () => {
    const path = join(dir, 'torn.jsonl')
    const one = createAuditTrail({ sink: jsonlSink({ path }) })
    await one.append(fields('a'))
    await one.close()
    await appendFile(path, '{"seq":1,"ti')
    const two = createAuditTrail({ sink: jsonlSink({ path }) })
    expect((await two.append(fields('b'))).seq).toBe(1)
    await two.close()
    expect(await verifyAuditFile(path, { allowUnsignedTail: true })).toMatchObject({
      ok: true,
      records: 2,
    })

    await appendFile(path, 'not a record\n')
    const errors: unknown[] = []
    const three = createAuditTrail({ sink: jsonlSink({ path }), onError: (e) => errors.push(e) })
    await expect(three.append(fields('c'))).rejects.toMatchObject({
      status: 503,
      code: 'audit_unavailable',
    })
    expect(three.health()).toMatchObject({ ok: false, failed: 1 })
    expect(String(errors[0])).toMatch(/damaged/)
    await three.close()
    expect((await readFile(path, 'utf8')).endsWith('not a record\n')).toBe(true)
  })

  it('keeps the writer order under concurrent appends (group commit)', async () => {
    const path = join(dir, 'group.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'always' }) })
    const records = await Promise.all(
      Array.from({ length: 200 }, (_, i) => trail.append(fields(`r${i}`))),
    )
    await trail.close()
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(await verifyAuditFile(path, { allowUnsignedTail: true })).toMatchObject({
      ok: true,
      records: 200,
    })
  })

  it('a restarted writer chains its checkpoints to the last one in the file, found far back', async () => {
    const path = join(dir, 'chained.jsonl')
    const checkpoint = { key: privateKey, alg: 'ES256' as const, every: 1000 }
    const one = createAuditTrail({ sink: jsonlSink({ path }), checkpoint })
    await one.append(fields('first'))
    await one.checkpoint()
    const note = 'n'.repeat(1000)
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => one.append({ ...fields(`r${i}`), facts: { note } })),
    )
    // No close(): 300 KiB of unsigned records follow checkpoint 0.
    const two = createAuditTrail({ sink: jsonlSink({ path }), checkpoint })
    await two.append(fields('after restart'))
    await two.close()
    const text = await readFile(path, 'utf8')
    const checkpoints = text.split('\n').filter((l) => l.startsWith('{"checkpoint"'))
    // Checkpoint 1 covers the recovered tail and the new record, and names checkpoint 0.
    expect(checkpoints).toHaveLength(2)
    expect(await verifyAuditFile(path, { key: publicKey })).toMatchObject({
      ok: true,
      records: 302,
      checkpoints: 2,
      warnings: [],
    })
  })
})

import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { createGate } from '@modelgate/core'
import { echoBackend } from '@modelgate/testkit/fixtures'
import { audit } from '../../audit/index.js'
import { createAuditTrail } from '../../trail.js'
import { verifyAuditFile } from '../verify.js'
import { sqliteSink } from './sqlite.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const echo = echoBackend([{ name: 'x', datatype: 'FP32', shape: [-1] }])
const infer = (valid: boolean) =>
  new Request('http://gate/v2/models/m/infer', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: valid ? [1, 2] : ['a', 'b'] }],
    }),
  })

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-sqlite-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('sqliteSink', () => {
  it('stores queryable, verifiable records across restarts and names an edited row', async () => {
    const path = join(dir, 'audit.db')
    for (let run = 0; run < 2; run++) {
      const trail = createAuditTrail({
        sink: sqliteSink({ path }),
        checkpoint: { key: privateKey, alg: 'EdDSA', every: 4 },
      })
      const gate = createGate({
        models: [{ name: 'm', backend: echo }],
        plugins: [audit({ trail })],
      })
      await gate.ready()
      for (let i = 0; i < 5; i++)
        expect((await gate.fetch(infer(i !== 2))).status).toBe(i === 2 ? 400 : 200)
      await trail.close()
    }
    expect(await verifyAuditFile(path, { key: publicKey })).toMatchObject({
      ok: true,
      records: 10,
      checkpoints: 4,
    })

    const db = new Database(path)
    const rows = db
      .prepare(
        "SELECT seq, model, action, status FROM audit_log WHERE type = 'record' ORDER BY seq",
      )
      .all()
    expect(rows).toHaveLength(10)
    expect(rows[7]).toEqual({ seq: 7, model: 'm', action: 'predict', status: 400 })
    db.prepare(
      "UPDATE audit_log SET line = replace(line, '\"status\":400', '\"status\":200') WHERE seq = 7 AND type = 'record'",
    ).run()
    db.close()
    expect((await verifyAuditFile(path, { key: publicKey })).problem).toMatchObject({
      kind: 'altered',
      seq: 7,
    })
  })

  it('rejects bad options at factory time', () => {
    expect(() => sqliteSink({ path: '' })).toThrow(TypeError)
    expect(() => sqliteSink({ path: 'a.db', table: 'x; DROP TABLE y' })).toThrow(TypeError)
    expect(() => sqliteSink({ path: 'a.db', synchronous: 'extra' as never })).toThrow(TypeError)
    expect(() => sqliteSink({ path: 'a.db', tabel: 'log' } as never)).toThrow(
      'sqliteSink: unknown option "tabel" (did you mean "table"?)',
    )
  })

  it('keeps better-sqlite3 an optional peer: no module but the sink loads it, and no declaration names its types', async () => {
    const src = new URL('../../', import.meta.url)
    const files = (await readdir(src, { recursive: true })).filter(
      (f) => /\.(ts|js)$/.test(f) && !/\.test\.ts$/.test(f),
    )
    const naming = []
    for (const f of files) {
      const text = await readFile(new URL(f, src), 'utf8')
      if (/from 'better-sqlite3'|import\('better-sqlite3'\)/.test(text)) naming.push(f)
    }
    expect(naming).toEqual([])
    const pkg = JSON.parse(
      await readFile(new URL('../../../package.json', import.meta.url), 'utf8'),
    )
    expect(pkg.dependencies['better-sqlite3']).toBeUndefined()
    expect(pkg.optionalDependencies).toBeUndefined()
    expect(pkg.peerDependenciesMeta['better-sqlite3']).toEqual({ optional: true })
  })
})

import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditTrail } from '@modelgate/audit'
import { jsonlSink } from '@modelgate/audit/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, run } from '../test/cli.js'

let dir: string
let lines: string[]

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-audit-'))
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  await writeFile(join(dir, 'audit.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }))
  const other = generateKeyPairSync('ed25519').publicKey
  await writeFile(join(dir, 'other.pub.pem'), other.export({ type: 'spki', format: 'pem' }))
  const trail = createAuditTrail({
    sink: jsonlSink({ path: join(dir, 'audit.jsonl') }),
    checkpoint: { key: privateKey, alg: 'EdDSA', kid: 'audit-1', every: 3 },
  })
  for (let i = 0; i < 6; i++) {
    await trail.append({
      time: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      requestId: `r${i}`,
      clientRequestId: null,
      principal: 'u1',
      tenant: 't',
      model: 'credit',
      modelVersion: null,
      action: 'predict',
      route: 'v1-predict',
      routeName: null,
      decision: { allow: true, reasons: ['allow:test'] },
      status: 200,
      error: null,
      latencyMs: 1,
      facts: {},
    })
  }
  await trail.close()
  lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean)
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('modelgate audit verify', () => {
  it('exit 0 for an intact log, with and without the checkpoint key', async () => {
    const signed = await run(['audit', 'verify', 'audit.jsonl', '--key', 'audit.pub.pem'], {
      cwd: dir,
    })
    expect(signed.code, signed.stderr).toBe(0)
    expect(signed.stdout).toMatch(/^intact: 6 records, 2 checkpoints \(signatures verified\)$/m)
    const json = await run(['audit', 'verify', 'audit.jsonl', '--json'], { cwd: dir })
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      records: 6,
      signaturesChecked: false,
    })
  })

  it('exit 1 naming the first altered or missing record, or a forged checkpoint', async () => {
    const recordLines = lines.filter((l) => l.includes('"requestId"'))
    const altered = lines.map((l) =>
      l === recordLines[2] ? l.replace('"status":200', '"status":403') : l,
    )
    await writeFile(join(dir, 'altered.jsonl'), altered.join('\n') + '\n')
    const a = await run(['audit', 'verify', 'altered.jsonl'], { cwd: dir })
    expect(a.code).toBe(1)
    expect(a.stdout).toMatch(/^NOT intact: altered at record 2 \(line \d+\): /)

    await writeFile(
      join(dir, 'missing.jsonl'),
      lines.filter((l) => l !== recordLines[1]).join('\n') + '\n',
    )
    const m = await run(['audit', 'verify', 'missing.jsonl'], { cwd: dir })
    expect(m.code).toBe(1)
    expect(m.stdout).toMatch(/^NOT intact: missing at record 1 /)

    const forged = await run(['audit', 'verify', 'audit.jsonl', '--key', 'other.pub.pem'], {
      cwd: dir,
    })
    expect(forged.code).toBe(1)
    expect(forged.stdout).toMatch(/^NOT intact: forged /)
  })

  it('exit 1 for a log whose end no checkpoint covers, unless --allow-unsigned-tail (with a warning)', async () => {
    const recordLines = lines.filter((l) => l.includes('"requestId"'))
    // The file cut after record 4: record 3 and 4 follow the last checkpoint.
    await writeFile(join(dir, 'cut.jsonl'), recordLines.slice(0, 5).join('\n') + '\n')
    const cut = await run(['audit', 'verify', 'cut.jsonl'], { cwd: dir })
    expect(cut.code).toBe(1)
    expect(cut.stdout).toMatch(/^NOT intact: unsigned at record 0 /)
    const allowed = await run(['audit', 'verify', 'cut.jsonl', '--allow-unsigned-tail'], {
      cwd: dir,
    })
    expect(allowed.code).toBe(0)
    expect(allowed.stderr).toMatch(
      /^WARNING: the log has no checkpoint, so nothing covers its end/m,
    )
    expect(allowed.stderr).toMatch(/^WARNING: no key given/m)
  })

  it('exit 1 for a file that does not exist, 2 for bad options', async () => {
    expect((await run(['audit', 'verify', 'nope.jsonl'], { cwd: dir })).code).toBe(1)
    for (const args of [
      ['audit', 'verify'],
      ['audit', 'verify', 'a', 'b'],
      ['audit', 'verify', 'audit.jsonl', '--key', 'missing.pem'],
      ['audit', 'check', 'audit.jsonl'],
    ]) {
      expect((await run(args, { cwd: dir })).code, args.join(' ')).toBe(2)
    }
  })
})

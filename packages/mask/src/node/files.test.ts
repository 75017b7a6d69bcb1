import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyPolicyFile, detectFile } from './files.js'

describe('file functions for the CLI', () => {
  it('detectFile adds spans to every line, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mask-'))
    const input = join(dir, 'in.jsonl')
    const output = join(dir, 'out.jsonl')
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      text: i % 2 ? `mail u${i}@example.org` : 'nothing here',
    }))
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n\n')
    expect(await detectFile({ in: input, out: output })).toEqual({ lines: 301 })
    const out = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(out.map((o) => o.id)).toEqual(rows.map((r) => r.id))
    expect(out[1]).toEqual({
      id: 1,
      text: 'mail u1@example.org',
      spans: [{ start: 5, end: 19, type: 'EMAIL_ADDRESS', score: 1 }],
    })
    expect(out[0].spans).toEqual([])
  })

  it('applyPolicyFile masks records with a policy file and reports counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mask-'))
    const policy = join(dir, 'policy.json')
    await writeFile(
      policy,
      JSON.stringify({
        fields: { ssn: { op: 'mask', type: 'US_SSN' } },
        entities: { '*': { op: 'replace' } },
      }),
    )
    await writeFile(
      join(dir, 'in.jsonl'),
      JSON.stringify({ ssn: '536-22-1234', note: 'ip 10.1.2.3', n: 4 }) + '\n',
    )
    const r = await applyPolicyFile({
      policy,
      in: join(dir, 'in.jsonl'),
      out: join(dir, 'out.jsonl'),
    })
    expect(r).toEqual({ lines: 1, counts: { US_SSN: 1, IP_ADDRESS: 1 } })
    expect(JSON.parse(await readFile(join(dir, 'out.jsonl'), 'utf8'))).toEqual({
      ssn: '***-**-1234',
      note: 'ip <IP_ADDRESS>',
      n: 4,
    })
    await writeFile(join(dir, 'bad.jsonl'), 'not json\n')
    await expect(
      applyPolicyFile({ policy, in: join(dir, 'bad.jsonl'), out: join(dir, 'o2.jsonl') }),
    ).rejects.toThrow(/line 1/)
  })

  it('detectFile keeps lines across read chunks, CRLF endings and records that already have spans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mask-'))
    const input = join(dir, 'big.jsonl')
    // About 3 MiB: lines cross the 1 MiB read chunks.
    const rows = Array.from({ length: 30_000 }, (_, i) => ({
      id: i,
      text: `${'x'.repeat(80)} ${i % 7 === 0 ? `mail u${i}@example.org` : 'nothing'}`,
    }))
    const lines = rows.map((r) => JSON.stringify(r))
    lines[5] = JSON.stringify({ id: 5, spans: 'old', text: 'ip 10.1.2.3' })
    await writeFile(input, lines.join('\r\n') + '\r\n')
    expect(await detectFile({ in: input, out: join(dir, 'out.jsonl') })).toEqual({ lines: 30_000 })
    const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n')
    expect(out).toHaveLength(30_000)
    const parsed = out.map((l) => JSON.parse(l))
    expect(parsed.map((o) => o.id)).toEqual(rows.map((r) => r.id))
    expect(parsed[7]).toEqual({
      id: 7,
      text: rows[7]!.text,
      spans: [{ start: 86, end: 100, type: 'EMAIL_ADDRESS', score: 1 }],
    })
    expect(parsed[5]).toEqual({
      id: 5,
      spans: [{ start: 3, end: 11, type: 'IP_ADDRESS', score: 0.95 }],
      text: 'ip 10.1.2.3',
    })
  })
})

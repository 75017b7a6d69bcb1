import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, jsonLines, run } from '../test/cli.js'

let dir: string
const texts = [
  { id: 1, text: 'Write to ana@example.org or call +1 212 736 5000.' },
  { id: 2, text: 'Nothing personal here, order 1234.' },
  { id: 3, text: 'Card 4111 1111 1111 1111 on file 😀 for ana@example.org' },
]

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-mask-'))
  await writeFile(join(dir, 'texts.jsonl'), texts.map((t) => JSON.stringify(t)).join('\n\n') + '\n')
  await writeFile(
    join(dir, 'policy.json'),
    JSON.stringify({
      entities: { '*': { op: 'replace' } },
      fields: { email: { op: 'pseudonymize', type: 'EMAIL_ADDRESS' } },
    }),
  )
  await writeFile(join(dir, 'mask.key'), randomBytes(32).toString('base64'))
  await writeFile(
    join(dir, 'records.jsonl'),
    [
      { email: 'ana@example.org', note: 'SSN 536-22-1234, call +1 212 736 5000', income: 52000 },
      { email: 'bo@example.org', note: 'fine', income: 41000 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  )
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('modelgate mask', () => {
  it('detect writes each object plus its spans, in input order', async () => {
    const result = await run(['mask', 'detect', '--in', 'texts.jsonl', '--out', 'spans.jsonl'], {
      cwd: dir,
    })
    expect(result.code, result.stderr).toBe(0)
    const lines = jsonLines(await readFile(join(dir, 'spans.jsonl'), 'utf8')) as Array<{
      id: number
      text: string
      spans: Array<{ start: number; end: number; type: string; score: number }>
    }>
    expect(lines.map((l) => l.id)).toEqual([1, 2, 3])
    const found = lines.map((l) => l.spans.map((s) => [s.type, l.text.slice(s.start, s.end)]))
    expect(found).toEqual([
      [
        ['EMAIL_ADDRESS', 'ana@example.org'],
        ['PHONE_NUMBER', '+1 212 736 5000'],
      ],
      [],
      [
        ['CREDIT_CARD', '4111 1111 1111 1111'],
        ['EMAIL_ADDRESS', 'ana@example.org'],
      ],
    ])
    for (const span of lines[0]!.spans) expect(span.score).toBeGreaterThanOrEqual(0.5)
  })

  it('detect streams stdin to stdout with "-"', async () => {
    const result = await run(['mask', 'detect', '--in', '-', '--out', '-'], {
      cwd: dir,
      stdin: JSON.stringify(texts[0]) + '\n',
    })
    expect(result.code).toBe(0)
    expect(jsonLines(result.stdout)).toEqual([
      expect.objectContaining({ id: 1, spans: expect.any(Array) }),
    ])
  })

  it('apply masks records with a policy and a key file; counts go to stderr', async () => {
    const args = [
      'mask',
      'apply',
      '--policy',
      'policy.json',
      '--in',
      'records.jsonl',
      '--out',
      'masked.jsonl',
    ]
    const withoutKey = await run(args, { cwd: dir, env: { MODELGATE_MASK_KEY: '' } })
    expect(withoutKey.code).toBe(2)
    expect(withoutKey.stderr).toContain('needs a key')

    const result = await run([...args, '--key-file', 'mask.key'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/^mask apply: 2 lines, masked \{.*"US_SSN":1.*\}$/m)
    const masked = jsonLines(await readFile(join(dir, 'masked.jsonl'), 'utf8')) as Array<
      Record<string, unknown>
    >
    expect(masked[0]!.email).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    expect(masked[0]!.note).toBe('SSN <US_SSN>, call <PHONE_NUMBER>')
    expect(masked[1]).toMatchObject({ note: 'fine', income: 41000 })
    expect(JSON.stringify(masked)).not.toContain('example.org')
  })

  it('a bad input line exits 1; bad options exit 2', async () => {
    await writeFile(join(dir, 'bad.jsonl'), `${JSON.stringify(texts[0])}\nnot json\n`)
    const bad = await run(['mask', 'detect', '--in', 'bad.jsonl', '--out', 'out.jsonl'], {
      cwd: dir,
    })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('line 2: not valid JSON')
    for (const args of [
      ['mask', 'detect', '--in', 'texts.jsonl'],
      ['mask', 'detect', '--in', 'missing.jsonl', '--out', 'x.jsonl'],
      ['mask', 'apply', '--policy', 'missing.json', '--in', 'records.jsonl', '--out', 'x.jsonl'],
      ['mask', 'apply', '--policy', 'texts.jsonl', '--in', 'records.jsonl', '--out', 'x.jsonl'],
    ]) {
      const result = await run(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
    }
  })
})

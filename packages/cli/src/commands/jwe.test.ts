import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bin, buildCli, jsonLines, run } from '../test/cli.js'

let dir: string
const body = JSON.stringify({ instances: [{ income: 52000, email: 'ana@example.org' }] })

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-jwe-'))
  await writeFile(join(dir, 'request.json'), body)
  for (const [alg, name] of [
    ['ECDH-ES+A256KW', 'ec'],
    ['dir', 'oct'],
  ]) {
    const made = await run(
      [
        'keys',
        'generate',
        '--alg',
        alg!,
        '--kid',
        name!,
        '--out',
        `${name}.jwk.json`,
        '--public-out',
        `${name}.pub.json`,
      ],
      { cwd: dir },
    )
    expect(made.code).toBe(0)
  }
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const encrypt = async (key: string, extra: string[] = []) => {
  const result = await run(['jwe', 'encrypt', '--key', key, ...extra, 'request.json'], { cwd: dir })
  expect(result.code, result.stderr).toBe(0)
  return result.stdout.trim()
}

describe('modelgate jwe', () => {
  it('encrypt then decrypt round-trips with the ECDH and dir keys', async () => {
    for (const name of ['ec', 'oct']) {
      const jwe = await encrypt(`${name}.pub.json`)
      expect(jwe.split('.')).toHaveLength(5)
      const opened = await run(
        ['jwe', 'decrypt', '--key', 'ec.jwk.json', '--key', 'oct.jwk.json', jwe],
        {
          cwd: dir,
        },
      )
      expect(opened.code).toBe(0)
      const [line] = jsonLines(opened.stdout) as Array<{ ok: boolean; plaintext_b64: string }>
      expect(line!.ok).toBe(true)
      expect(Buffer.from(line!.plaintext_b64, 'base64').toString()).toBe(body)
    }
  })

  it('decrypt reads stdin: one line per JWE, replay, unknown kid and garbage refused, exit 1', async () => {
    const a = await encrypt('ec.pub.json')
    const b = await encrypt('oct.pub.json')
    const result = await run(['jwe', 'decrypt', '--key', 'ec.jwk.json'], {
      cwd: dir,
      stdin: `${a}\n\n${a}\n${b}\nnot-a-jwe\n`,
    })
    expect(result.code).toBe(1)
    const lines = jsonLines(result.stdout) as Array<{ ok: boolean; code?: string }>
    expect(lines.map((l) => l.ok)).toEqual([true, false, false, false])
    expect(lines.slice(1).map((l) => l.code)).toEqual([
      'jwe_replayed',
      'jwe_unknown_kid',
      'jwe_malformed',
    ])
  })

  it('decrypt --raw writes the plaintext bytes as they are; a refusal goes to stderr', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    await writeFile(join(dir, 'bytes.bin'), bytes)
    const sealed = await run(['jwe', 'encrypt', '--key', 'ec.pub.json', 'bytes.bin'], { cwd: dir })
    expect(sealed.code, sealed.stderr).toBe(0)
    await promisify(execFile)(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${bin}" jwe decrypt --key ec.jwk.json --raw "$1" > out.bin`,
        '-',
        sealed.stdout.trim(),
      ],
      { cwd: dir },
    )
    expect(Buffer.compare(await readFile(join(dir, 'out.bin')), bytes)).toBe(0)

    const refused = await run(['jwe', 'decrypt', '--key', 'ec.jwk.json', '--raw', 'not-a-jwe'], {
      cwd: dir,
    })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toMatch(/^jwe decrypt: jwe_malformed: /)
    const two = await run(['jwe', 'decrypt', '--key', 'ec.jwk.json', '--raw'], {
      cwd: dir,
      stdin: `${await encrypt('ec.pub.json')}\n${await encrypt('ec.pub.json')}\n`,
    })
    expect(two.code).toBe(2)
    expect(two.stdout).toBe('')
    expect(two.stderr).toContain('--raw: takes one JWE, got 2')
  })

  it('decrypt checks iat against --now', async () => {
    const jwe = await encrypt('ec.pub.json')
    const later = String(Math.floor(Date.now() / 1000) + 3600)
    const result = await run(['jwe', 'decrypt', '--key', 'ec.jwk.json', '--now', later, jwe], {
      cwd: dir,
    })
    expect(result.code).toBe(1)
    expect(jsonLines(result.stdout)).toEqual([
      expect.objectContaining({ ok: false, code: 'jwe_stale' }),
    ])
  })

  it('bad options exit 2', async () => {
    for (const args of [
      ['jwe', 'decrypt', 'x'],
      ['jwe', 'decrypt', '--key', 'missing.json', 'x'],
      ['jwe', 'decrypt', '--key', 'ec.jwk.json', '--now', 'soon', 'x'],
      ['jwe', 'encrypt', '--key', 'ec.pub.json', '--alg', 'RSA1_5', 'request.json'],
      ['jwe', 'encrypt', '--key', 'ec.pub.json', '--alg', 'dir', 'request.json'],
      ['jwe', 'encrypt', '--key', 'ec.pub.json', 'missing.json'],
      ['jwe', 'rot13'],
    ]) {
      const result = await run(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stdout).toBe('')
    }
  })
})

import { createHmac, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, jsonLines, run } from '../test/cli.js'

let dir: string
const secret = randomBytes(32)
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/** An HS256 token made with node:crypto only, independent of the verifier under test. */
function hs256(claims: Record<string, unknown>, kid = 'hmac-1'): string {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`
}

const iat = 1_700_000_000
const claims = { iss: 'https://idp.test', aud: 'api', sub: 'u1', iat, exp: iat + 600 }
const verifyArgs = [
  'token',
  'verify',
  '--jwks',
  'oct.json',
  '--issuer',
  'https://idp.test',
  '--audience',
  'api',
  '--algorithms',
  'HS256',
]

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-token-'))
  await writeFile(
    join(dir, 'oct.json'),
    JSON.stringify({ keys: [{ kty: 'oct', kid: 'hmac-1', alg: 'HS256', k: b64url(secret) }] }),
  )
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('modelgate token', () => {
  it('--help lists issue and verify; issue --help says development only', async () => {
    const group = await run(['token', '--help'], { cwd: dir })
    expect(group.code).toBe(0)
    expect(group.stdout).toMatch(/^ {2}issue +DEVELOPMENT ONLY/m)
    expect(group.stdout).toMatch(/^ {2}verify +/m)
    const issue = await run(['token', 'issue', '--help'], { cwd: dir })
    expect(issue.code).toBe(0)
    expect(issue.stdout).toContain('DEVELOPMENT ONLY')
    expect(issue.stdout).toContain('--user <applicant|underwriter|auditor|admin>')
    const missing = await run(['token'], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('missing subcommand (issue, verify)')
  })

  it('issue creates a 0600 key file in the --keys directory and the token verifies', async () => {
    const issued = await run(
      ['token', 'issue', '--user', 'auditor', '--keys', '.', '--ttl', '60'],
      {
        cwd: dir,
      },
    )
    expect(issued.code).toBe(0)
    const token = issued.stdout.trim()
    expect(token.split('.')).toHaveLength(3)
    expect((await stat(join(dir, 'dev-keys.json'))).mode & 0o777).toBe(0o600)
    // token verify reads the key file token issue wrote (its "jwks" member), or its directory.
    for (const jwks of ['dev-keys.json', '.']) {
      const verified = await run(
        [
          'token',
          'verify',
          '--jwks',
          jwks,
          '--issuer',
          'https://dev.modelgate.invalid',
          '--audience',
          'modelgate-dev',
          token,
        ],
        { cwd: dir },
      )
      expect(verified.code, verified.stderr).toBe(0)
      const [line] = jsonLines(verified.stdout) as Array<{ claims: { exp: number; iat: number } }>
      expect(line).toMatchObject({
        valid: true,
        claims: { sub: 'auditor-0001', roles: ['auditor'] },
      })
      expect(line!.claims.exp).toBe(line!.claims.iat + 60)
    }
  })

  it('issue refuses an unknown user (2) and NODE_ENV=production (1)', async () => {
    const bad = await run(['token', 'issue', '--user', 'root', '--keys', '.'], { cwd: dir })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--user: expected one of applicant, underwriter, auditor, admin')
    for (const NODE_ENV of ['production', ' Production ']) {
      const prod = await run(['token', 'issue', '--user', 'admin', '--keys', '.'], {
        cwd: dir,
        env: { NODE_ENV },
      })
      expect(prod.code).toBe(1)
      expect(prod.stderr).toContain('development only')
      expect(prod.stdout).toBe('')
    }
  })

  it('verify reads stdin line by line: one JSON line per token, exit 1 when one is invalid', async () => {
    const tokens = [
      hs256(claims),
      '',
      hs256({ ...claims, exp: iat + 1 }),
      hs256({ ...claims, aud: 'other' }),
      hs256(claims, 'unknown-kid'),
      `${hs256(claims).slice(0, -2)}AA`,
    ]
    const result = await run([...verifyArgs, '--now', String(iat + 100)], {
      cwd: dir,
      stdin: tokens.join('\n') + '\n',
    })
    expect(result.code).toBe(1)
    const lines = jsonLines(result.stdout) as Array<Record<string, unknown>>
    expect(lines.map((l) => l.valid)).toEqual([true, false, false, false, false])
    expect(lines[0]).toEqual({ valid: true, claims })
    expect(lines.slice(1).map((l) => l.code)).toEqual([
      'expired',
      'audience_invalid',
      'kid_unknown',
      'bad_signature',
    ])
    for (const line of lines.slice(1)) expect(typeof line.message).toBe('string')
  })

  it('verify exits 0 when every token is valid', async () => {
    const result = await run([...verifyArgs, '--now', String(iat + 10)], {
      cwd: dir,
      stdin: `${hs256(claims)}\n${hs256({ ...claims, sub: 'u2' })}\n`,
    })
    expect(result.code).toBe(0)
    expect(jsonLines(result.stdout)).toHaveLength(2)
  })

  it('verify refuses HS256 unless listed, and bad options exit 2', async () => {
    const rs = await run(
      [
        'token',
        'verify',
        '--jwks',
        'oct.json',
        '--issuer',
        'https://idp.test',
        '--audience',
        'api',
      ],
      { cwd: dir, stdin: hs256(claims) },
    )
    expect(rs.code).toBe(1)
    expect(jsonLines(rs.stdout)).toEqual([expect.objectContaining({ code: 'alg_not_allowed' })])

    for (const args of [
      [...verifyArgs.filter((a) => a !== '--issuer' && a !== 'https://idp.test'), 'x'],
      [...verifyArgs, '--algorithms', 'none', 'x'],
      [...verifyArgs, '--clock-tolerance', '600', 'x'],
      [...verifyArgs, '--now', 'yesterday', 'x'],
      [...verifyArgs.map((a) => (a === 'oct.json' ? 'missing.json' : a)), 'x'],
      [...verifyArgs, 'a', 'b'],
    ]) {
      const bad = await run(args, { cwd: dir })
      expect(bad.code, args.join(' ')).toBe(2)
      expect(bad.stdout).toBe('')
      expect(bad.stderr.length).toBeGreaterThan(0)
    }
  })
})

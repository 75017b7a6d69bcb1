import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, run } from '../test/cli.js'

let dir: string

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-keys-'))
  await writeFile(join(dir, 'kek'), randomBytes(32).toString('base64url'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const read = async (file: string) => JSON.parse(await readFile(join(dir, file), 'utf8'))
const mode = async (file: string) => (await stat(join(dir, file))).mode & 0o777

describe('modelgate keys', () => {
  it('generate --alg prints a pair, or writes the private key 0600 and the public key', async () => {
    const printed = await run(['keys', 'generate', '--alg', 'EdDSA'], { cwd: dir })
    expect(printed.code).toBe(0)
    const pair = JSON.parse(printed.stdout)
    expect(pair.privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(pair.publicJwk.d).toBeUndefined()
    expect(pair.publicJwk.kid).toBe(pair.privateJwk.kid)

    const written = await run(
      [
        'keys',
        'generate',
        '--alg',
        'ES256',
        '--kid',
        'sign-1',
        '--out',
        's.jwk.json',
        '--public-out',
        's.pub.json',
      ],
      { cwd: dir },
    )
    expect(written.code).toBe(0)
    expect(await mode('s.jwk.json')).toBe(0o600)
    expect(await read('s.jwk.json')).toMatchObject({ kid: 'sign-1', alg: 'ES256', crv: 'P-256' })
    expect((await read('s.pub.json')).d).toBeUndefined()
  })

  it('generate --keyring and rotate: stage, promote, default rotation, wrapped by a KEK', async () => {
    expect(
      (await run(['keys', 'generate', '--keyring', 'aead', '--out', 'ring.json'], { cwd: dir }))
        .code,
    ).toBe(0)
    expect(await mode('ring.json')).toBe(0o600)
    const first = await read('ring.json')
    expect(first.keys).toHaveLength(1)
    expect(first.keys[0].status).toBe('primary')

    expect((await run(['keys', 'rotate', 'ring.json', '--stage'], { cwd: dir })).code).toBe(0)
    const staged = await read('ring.json')
    expect(staged.keys.map((k: { status: string }) => k.status)).toEqual(['primary', 'enabled'])
    const id = String(staged.keys[1].id)
    expect((await run(['keys', 'rotate', 'ring.json', '--promote', id], { cwd: dir })).code).toBe(0)
    const promoted = await read('ring.json')
    expect(promoted.keys.find((k: { id: number }) => String(k.id) === id).status).toBe('primary')

    const wrapped = [
      'keys',
      'generate',
      '--keyring',
      'deterministic',
      '--kek',
      'kek',
      '--kek-id',
      'kek-1',
      '--out',
      'det.json',
    ]
    expect((await run(wrapped, { cwd: dir })).code).toBe(0)
    const det = await read('det.json')
    expect(det.kek).toBe('kek-1')
    expect(det.keys[0].material).toBeUndefined()
    expect(
      (
        await run(['keys', 'rotate', 'det.json', '--kek', 'kek', '--out', 'det2.json'], {
          cwd: dir,
        })
      ).code,
    ).toBe(0)
    expect((await read('det2.json')).keys).toHaveLength(2)
    expect((await read('det.json')).keys).toHaveLength(1)

    await writeFile(join(dir, 'other-kek'), randomBytes(32).toString('base64url'))
    const wrong = await run(['keys', 'rotate', 'det.json', '--kek', 'other-kek'], { cwd: dir })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^keys rotate: det\.json: /)
  })

  it('generate never replaces an existing key file unless --force is given', async () => {
    const out = ['--out', 'sign.jwk.json', '--public-out', 'sign.pub.json']
    const first = await run(['keys', 'generate', '--alg', 'EdDSA', ...out], { cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    const before = await readFile(join(dir, 'sign.jwk.json'), 'utf8')
    // A key of another kind must not silently take its place.
    const other = await run(['keys', 'generate', '--alg', 'ECDH-ES+A256KW', ...out], { cwd: dir })
    expect(other.code).toBe(1)
    expect(other.stderr).toContain('sign.jwk.json exists and holds key material; pass --force')
    expect(await readFile(join(dir, 'sign.jwk.json'), 'utf8')).toBe(before)
    const ring = await run(['keys', 'generate', '--keyring', 'aead', '--out', 'sign.jwk.json'], {
      cwd: dir,
    })
    expect(ring.code).toBe(1)
    const forced = await run(['keys', 'generate', '--alg', 'ES256', ...out, '--force'], {
      cwd: dir,
    })
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(await readFile(join(dir, 'sign.jwk.json'), 'utf8')).alg).toBe('ES256')
  })

  it('bad options exit 2', async () => {
    for (const args of [
      ['keys', 'generate'],
      ['keys', 'generate', '--alg', 'RS256'],
      ['keys', 'generate', '--alg', 'ES256', '--keyring', 'aead'],
      ['keys', 'generate', '--alg', 'ES256', '--public-out', 'p.json'],
      ['keys', 'rotate'],
      ['keys', 'rotate', 'missing.json'],
      ['keys', 'rotate', 'ring.json', '--stage', '--promote', '1'],
    ]) {
      const result = await run(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
    }
  })
})

import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, run } from '../test/cli.js'

let dir: string

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-ca-'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const cert = async (file: string) => new X509Certificate(await readFile(join(dir, file)))

describe('modelgate ca', () => {
  it('init writes a CA; issue writes server and client certificates it signed', async () => {
    const init = await run(
      ['ca', 'init', '--out', 'pki', '--cn', 'test CA', '--key-bits', '2048'],
      {
        cwd: dir,
      },
    )
    expect(init.code, init.stderr).toBe(0)
    expect((await stat(join(dir, 'pki/ca.key'))).mode & 0o777).toBe(0o600)
    const ca = await cert('pki/ca.crt')
    expect(ca.subject).toContain('CN=test CA')
    expect(ca.ca).toBe(true)

    const server = await run(
      [
        'ca',
        'issue',
        '--server',
        '--ca',
        'pki',
        '--name',
        'cloud-gate',
        '--san',
        'cloud.internal',
        '--san',
        '127.0.0.1',
        '--key-bits',
        '2048',
        '--out',
        'certs',
      ],
      { cwd: dir },
    )
    expect(server.code, server.stderr).toBe(0)
    const s = await cert('certs/cloud-gate.crt')
    expect(s.verify(ca.publicKey)).toBe(true)
    expect(s.subjectAltName).toBe('DNS:cloud.internal, IP Address:127.0.0.1')
    expect(s.checkHost('cloud.internal')).toBe('cloud.internal')
    expect((await stat(join(dir, 'certs/cloud-gate.key'))).mode & 0o777).toBe(0o600)

    const client = await run(
      [
        'ca',
        'issue',
        '--client',
        '--ca',
        'pki',
        '--name',
        'edge-1',
        '--san',
        'spiffe://acme/edge-1',
        '--key-bits',
        '2048',
        '--out',
        'certs',
      ],
      { cwd: dir },
    )
    expect(client.code, client.stderr).toBe(0)
    const c = await cert('certs/edge-1.crt')
    expect(c.verify(ca.publicKey)).toBe(true)
    expect(c.subjectAltName).toBe('URI:spiffe://acme/edge-1')
    expect(c.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.2']))
  })

  it('init never replaces an existing CA unless --force is given', async () => {
    const args = ['ca', 'init', '--out', 'pki-twice', '--key-bits', '2048']
    expect((await run(args, { cwd: dir })).code).toBe(0)
    const before = await readFile(join(dir, 'pki-twice/ca.key'), 'utf8')
    const again = await run(args, { cwd: dir })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('ca.key exists and holds key material; pass --force')
    expect(await readFile(join(dir, 'pki-twice/ca.key'), 'utf8')).toBe(before)
    expect((await run([...args, '--force'], { cwd: dir })).code).toBe(0)
    expect(await readFile(join(dir, 'pki-twice/ca.key'), 'utf8')).not.toBe(before)
  })

  it('bad options exit 2', async () => {
    for (const args of [
      ['ca', 'init'],
      ['ca', 'init', '--out', 'x', '--days', '0'],
      ['ca', 'issue', '--ca', 'pki', '--name', 'a', '--out', 'x'],
      ['ca', 'issue', '--server', '--client', '--ca', 'pki', '--name', 'a', '--out', 'x'],
      ['ca', 'issue', '--server', '--ca', 'nowhere', '--name', 'a', '--out', 'x'],
      ['ca', 'issue', '--server', '--ca', 'pki', '--name', '../a', '--out', 'x'],
      ['ca', 'issue', '--server', '--ca', 'pki', '--name', 'a', '--san', 'IP:host', '--out', 'x'],
    ]) {
      const result = await run(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
    }
  })
})

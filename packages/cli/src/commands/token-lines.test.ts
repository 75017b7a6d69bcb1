import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_AUDIENCE, DEV_ISSUER, issueDevToken, loadOrCreateDevKeys } from '../dev/index.js'
import { verifyTokenLines } from './token-lines.js'

const collect = async (it: AsyncIterable<string>) => {
  const out: Record<string, unknown>[] = []
  for await (const line of it) out.push(JSON.parse(line))
  return out
}

let dir: string
let server: Server
const now = 1_800_000_000

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-token-lines-'))
})
afterAll(async () => {
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await rm(dir, { recursive: true, force: true })
})

describe('verifyTokenLines (modelgate token verify)', () => {
  it('reads a JWKS file or URL and answers one JSON line per token, blank lines skipped', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://idp.test')
        .setSubject('u1')
        .setIssuedAt(now)
        .sign(privateKey)
    const tokens = [
      await sign({ aud: 'api', exp: now + 60 }),
      '  ',
      await sign({ aud: 'api', exp: now - 120 }),
      await sign({ aud: 'other', exp: now + 60 }),
    ]
    const file = join(dir, 'jwks.json')
    await writeFile(file, JSON.stringify(jwks))
    server = createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify(jwks)),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
    for (const source of [file, url]) {
      const out = await collect(
        verifyTokenLines(
          { jwks: source, issuer: 'https://idp.test', audience: 'api', now },
          tokens,
        ),
      )
      expect(out.map((o) => o.valid ?? o.code)).toEqual([true, false, false])
      expect(out[0]).toMatchObject({ claims: { sub: 'u1' } })
      expect(out.slice(1).map((o) => o.code)).toEqual(['expired', 'audience_invalid'])
    }
  })

  it('reads the development key file that token issue wrote (its "jwks" member)', async () => {
    const keysFile = join(dir, 'dev', 'dev-keys.json')
    const keys = await loadOrCreateDevKeys(keysFile)
    const token = await issueDevToken({ user: 'auditor', keys, now })
    const out = await collect(
      verifyTokenLines({ jwks: keysFile, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, now }, [
        token,
      ]),
    )
    expect(out).toEqual([expect.objectContaining({ valid: true })])
  })

  it('refuses unreadable key files and bad options before the first line', async () => {
    const base = { issuer: 'https://idp.test', audience: 'api' }
    await expect(
      collect(verifyTokenLines({ ...base, jwks: join(dir, 'missing.json') }, ['x'])),
    ).rejects.toThrow(/cannot read a JWKS/)
    await writeFile(join(dir, 'empty.json'), '{}')
    await expect(
      collect(verifyTokenLines({ ...base, jwks: join(dir, 'empty.json') }, ['x'])),
    ).rejects.toThrow(/no "keys" array/)
    await expect(
      collect(verifyTokenLines({ ...base, jwks: { keys: [] }, clockToleranceSeconds: 600 }, ['x'])),
    ).rejects.toThrow(TypeError)
  })
})

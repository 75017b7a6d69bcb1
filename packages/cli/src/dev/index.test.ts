import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createJwtVerifier } from '@modelgate/access'
import { afterAll, describe, expect, it } from 'vitest'
import {
  DEV_AUDIENCE,
  DEV_ISSUER,
  issueDevToken,
  loadOrCreateDevKeys,
  refuseInProduction,
} from './index.js'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

describe('development tokens (modelgate token issue)', () => {
  it('keeps one key file (mode 0600) and issues tokens for the demo users with ttl and now', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelgate-dev-'))
    dirs.push(dir)
    const file = join(dir, 'nested', 'dev-keys.json')
    const keys = await loadOrCreateDevKeys(file)
    expect(await loadOrCreateDevKeys(file)).toEqual(keys)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(await readFile(file, 'utf8')).jwks.keys[0]).not.toHaveProperty('d')
    const now = 1_800_000_000
    const token = await issueDevToken({ user: 'auditor', keys, now, ttlSeconds: 60 })
    const verifier = createJwtVerifier({
      issuers: [{ issuer: DEV_ISSUER, jwks: keys.jwks, audience: DEV_AUDIENCE }],
      algorithms: ['ES256'],
      clock: () => now * 1000,
    })
    expect((await verifier.verify(token)).claims).toMatchObject({
      sub: 'auditor-0001',
      roles: ['auditor'],
      tenant: 'demo-bank',
      iat: now,
      exp: now + 60,
      dev: true,
    })
    await expect(issueDevToken({ user: 'root' as never, keys })).rejects.toThrow(
      /unknown development user/,
    )
  })

  it('treats NODE_ENV as production whatever its case and surrounding blanks', () => {
    for (const value of ['production', 'Production', ' PRODUCTION\n'])
      expect(() => refuseInProduction('token issue', { NODE_ENV: value })).toThrow(
        'token issue is for development only',
      )
    for (const value of [undefined, 'development', 'productionish'])
      expect(() => refuseInProduction('token issue', { NODE_ENV: value })).not.toThrow()
  })
})

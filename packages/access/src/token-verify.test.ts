import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixtures, LoopbackServer } from '../test/helpers.js'
import { verifyTokenLines } from './token-verify.js'

const collect = async (it: AsyncIterable<string>) => {
  const out: Record<string, unknown>[] = []
  for await (const line of it) out.push(JSON.parse(line))
  return out
}

describe('verifyTokenLines (modelgate token verify)', () => {
  const server = new LoopbackServer()
  afterAll(() => server.stop())
  const base = {
    issuer: fixtures.issuer,
    audience: fixtures.audience,
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] as const,
    clockToleranceSeconds: 30,
    maxTokenAgeSeconds: 3600,
    now: fixtures.now,
  }

  it('reads a JWKS file (with an oct key) and answers one JSON line per token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mg-access-'))
    const file = join(dir, 'jwks.json')
    await writeFile(file, JSON.stringify(fixtures.jwks))
    const attacks = fixtures.attacks.filter((a) => a.token.trim() !== '')
    const lines = ['', ...fixtures.valid.map((v) => v.token), '   ', ...attacks.map((a) => a.token)]
    const out = await collect(
      verifyTokenLines({ ...base, algorithms: [...base.algorithms], jwks: file }, lines),
    )
    expect(out).toHaveLength(fixtures.valid.length + attacks.length)
    for (const v of out.slice(0, fixtures.valid.length)) {
      expect(v).toMatchObject({ valid: true, claims: { sub: 'user-1', iss: fixtures.issuer } })
    }
    const refused = out.slice(fixtures.valid.length)
    for (const r of refused) {
      expect(r.valid).toBe(false)
      expect(typeof r.code).toBe('string')
      expect(typeof r.message).toBe('string')
    }
    expect(refused[attacks.findIndex((a) => a.name === 'expired')]).toEqual({
      valid: false,
      code: 'expired',
      message: 'token expired',
    })
  })

  it('reads a JWKS URL, defaults to asymmetric algorithms, and refuses unreadable key files up front', async () => {
    await server.start()
    server.json(fixtures.jwks)
    const hs = fixtures.valid.find((v) => v.alg === 'HS256')!.token
    const es = fixtures.valid.find((v) => v.alg === 'ES256')!.token
    const { algorithms: _ignored, ...rest } = base
    const out = await collect(verifyTokenLines({ ...rest, jwks: `${server.url}/jwks` }, [es, hs]))
    expect(out.map((o) => o.valid)).toEqual([true, false])
    expect(out[1]).toMatchObject({ code: 'alg_not_allowed' })
    await expect(
      collect(verifyTokenLines({ ...rest, jwks: '/nonexistent/jwks.json' }, [es])),
    ).rejects.toThrow(/cannot read a JWKS/)
    await expect(
      collect(
        verifyTokenLines({ ...rest, jwks: fixtures.jwks as never, clockToleranceSeconds: 600 }, [
          es,
        ]),
      ),
    ).rejects.toThrow(TypeError)
  })
})

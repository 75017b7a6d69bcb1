import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import type { JwtAlgorithm } from '../types.js'
import { createJwtVerifier } from './verifier.js'

const ORDER: Record<string, bigint> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384:
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
}

/** The same token with `s` replaced by `n - s`: a second valid signature over the same claims. */
function twinOf(token: string, alg: 'ES256' | 'ES384'): string {
  const dot = token.lastIndexOf('.')
  const sig = Buffer.from(token.slice(dot + 1), 'base64url')
  const half = sig.length / 2
  const s = BigInt(`0x${sig.subarray(half).toString('hex')}`)
  const twin = (ORDER[alg]! - s).toString(16).padStart(half * 2, '0')
  return `${token.slice(0, dot + 1)}${Buffer.concat([sig.subarray(0, half), Buffer.from(twin, 'hex')]).toString('base64url')}`
}

async function issuer(alg: JwtAlgorithm) {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg }] }
  const sign = (typ?: string) =>
    new SignJWT({ scope: 'predict' })
      .setProtectedHeader({ alg, kid: 'k1', ...(typ !== undefined ? { typ } : {}) })
      .setIssuer('https://idp.test')
      .setAudience('api')
      .setSubject('u1')
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
  const verifier = (extra: Record<string, unknown> = {}) =>
    createJwtVerifier({
      issuers: [{ issuer: 'https://idp.test', jwks, audience: 'api' }],
      algorithms: [alg],
      ...extra,
    })
  return { sign, verifier }
}

describe('ECDSA signature malleability', () => {
  it.each(['ES256', 'ES384'] as const)(
    '%s: a token and its (r, n - s) twin are one token: same tokenHash, verified once',
    async (alg) => {
      const { sign, verifier } = await issuer(alg)
      const token = await sign()
      const twin = twinOf(token, alg)
      expect(twin).not.toBe(token)
      const v = verifier()
      const first = await v.verify(token)
      const second = await v.verify(twin)
      expect(second.tokenHash).toBe(first.tokenHash)
      expect(second.cached).toBe(true)
      expect(v.cacheSize).toBe(1)
      expect((await v.verify(token)).cached).toBe(true)
      expect((await v.verify(twin)).cached).toBe(true)
      expect(v.cacheSize).toBe(1)
      expect(first.tokenHash).toMatch(/^[0-9a-f]{64}$/)
      // Without a token cache the identity is the same.
      const uncached = verifier({ tokenCache: false })
      expect((await uncached.verify(twin)).tokenHash).toBe(first.tokenHash)
    },
  )

  it('refuses high-S signatures when asked to, and accepts their low-S form', async () => {
    const { sign, verifier } = await issuer('ES256')
    const token = await sign()
    const twin = twinOf(token, 'ES256')
    const strict = verifier({ highS: 'refuse' })
    const results = await Promise.allSettled([strict.verify(token), strict.verify(twin)])
    // Exactly one of the pair is high-S.
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ code: 'signature_high_s' })
    expect(() => verifier({ highS: 'sometimes' })).toThrow(/highS/)
  })

  it('leaves EdDSA signatures alone', async () => {
    const { sign, verifier } = await issuer('EdDSA')
    const v = verifier({ highS: 'refuse' })
    for (let i = 0; i < 8; i++) expect((await v.verify(await sign())).cached).toBe(false)
  })
})

describe('required token type (RFC 9068)', () => {
  it('accepts only tokens whose typ is at+jwt when required', async () => {
    const { sign, verifier } = await issuer('ES256')
    const v = verifier({ typ: 'at+jwt' })
    expect((await v.verify(await sign('at+jwt'))).principal.id).toBe('u1')
    expect((await v.verify(await sign('application/AT+JWT'))).principal.id).toBe('u1')
    for (const typ of ['JWT', undefined])
      await expect(v.verify(await sign(typ))).rejects.toMatchObject({ code: 'typ_invalid' })
    expect((await verifier().verify(await sign('JWT'))).principal.id).toBe('u1')
    expect(() => verifier({ typ: '' })).toThrow(/typ/)
    expect(() => verifier({ tokenCache: { maxEntris: 1 } })).toThrow(
      'createJwtVerifier: unknown option "tokenCache.maxEntris" (did you mean "tokenCache.maxEntries"?)',
    )
  })
})

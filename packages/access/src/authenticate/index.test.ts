import { createGate, MemoryStore, type IncomingRequest, type Plugin } from '@modelgate/core'
import { exportJWK, generateKeyPair, jwtVerify, importJWK, SignJWT, type JWK } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  countingBackend,
  fixtures,
  inferBody,
  inferRequest,
  LoopbackServer,
} from '../../test/helpers.js'
import { createApiKey, rotateApiKey } from '../apikeys.js'
import { TokenError } from '../jwt/errors.js'
import { createJwtVerifier } from '../jwt/verifier.js'
import type { AuthenticateOptions, JwtVerifierOptions } from '../types.js'
import { authenticate } from './index.js'

const NOW_MS = fixtures.now * 1000
const fixtureJwt: JwtVerifierOptions = {
  issuers: [{ issuer: fixtures.issuer, jwks: fixtures.jwks as never, audience: fixtures.audience }],
  algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'],
  clockToleranceSeconds: 30,
  maxTokenAgeSeconds: 3600,
  clock: () => NOW_MS,
}

function gateWith(plugin: Plugin) {
  const backend = countingBackend()
  const seen: Record<string, unknown>[] = []
  const spy: Plugin = async function record(ctx, next) {
    await next()
    seen.push({ principal: ctx.principal, facts: { ...ctx.facts } })
  }
  const inner = createGate({ models: [{ name: 'credit', backend }], plugins: [plugin, spy] })
  const gate = {
    fetch: async (request: Request) => (await inner.ready(), inner.fetch(request)),
    handle: async (request: IncomingRequest) => (await inner.ready(), inner.handle(request)),
  }
  return { gate, backend, seen }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('attack suite (tokens made by PyJWT / jwcrypto)', () => {
  const { gate, backend } = gateWith(authenticate({ jwt: fixtureJwt }))
  const verifier = createJwtVerifier({ ...fixtureJwt, tokenCache: false })

  it.each(fixtures.attacks.map((a) => [a.name, a.token]))('rejects: %s', async (_name, token) => {
    const before = backend.calls
    const res = await gate.fetch(inferRequest(bearer(token)))
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="modelgate", error="invalid_token", error_description="the access token is invalid"',
    )
    expect(await res.json()).toEqual({ error: 'invalid credentials', code: 'invalid_token' })
    expect(backend.calls).toBe(before)
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(TokenError)
  })

  it.each(fixtures.valid.map((v) => [v.alg, v.token]))(
    'accepts a valid %s token',
    async (_alg, token) => {
      const before = backend.calls
      const res = await gate.fetch(inferRequest(bearer(token)))
      expect(res.status).toBe(200)
      expect(backend.calls).toBe(before + 1)
      const verified = await verifier.verify(token)
      expect(verified.principal).toMatchObject({
        id: 'user-1',
        kind: 'jwt',
        roles: ['underwriter'],
      })
    },
  )

  it('names the refusal precisely for operators', async () => {
    const code = async (name: string) => {
      const token = fixtures.attacks.find((a) => a.name === name)!.token
      return verifier.verify(token).catch((e: TokenError) => e.code)
    }
    expect(await code('alg none')).toBe('alg_not_allowed')
    expect(await code('HS256 signed with the RSA public key (PEM)')).toBe('alg_not_allowed')
    expect(await code('embedded jwk header (attacker key, real kid)')).toBe('key_in_header')
    expect(await code('expired')).toBe('expired')
    expect(await code('nbf in the future')).toBe('not_yet_valid')
    expect(await code('iat in the future')).toBe('issued_in_future')
    expect(await code('older than the max token age')).toBe('too_old')
    expect(await code('wrong audience')).toBe('audience_invalid')
    expect(await code('missing sub')).toBe('claim_missing')
    expect(await code('unknown crit extension')).toBe('crit_unsupported')
    expect(await code('oversized token (9 KiB of claims)')).toBe('too_large')
    expect(await code('duplicate sub in the claims')).toBe('duplicate_member')
    expect(await code('duplicate member hidden by an escape')).toBe('duplicate_member')
    expect(await code('exp is 1e400 (infinite)')).toBe('claim_invalid')
    expect(await code('non-canonical base64url (padding bits set)')).toBe('malformed')
    expect(await code('tampered payload')).toBe('bad_signature')
    expect(await code('ES256 signature in DER instead of r||s')).toBe('bad_signature')
  })

  it('jose alone accepts what the hardening layer refuses (infinite exp, duplicate members)', async () => {
    const rsa = await importJWK(fixtures.jwks.keys.find((k) => k.kid === 'rsa-1') as JWK, 'RS256')
    const opts = {
      issuer: fixtures.issuer,
      audience: fixtures.audience,
      currentDate: new Date(NOW_MS),
    }
    const infinite = fixtures.attacks.find((a) => a.name === 'exp is 1e400 (infinite)')!.token
    expect((await jwtVerify(infinite, rsa, opts)).payload.exp).toBe(Infinity)
    const duplicate = fixtures.attacks.find((a) => a.name === 'duplicate sub in the claims')!.token
    expect((await jwtVerify(duplicate, rsa, opts)).payload.sub).toBe('admin')
  })
})

describe('authenticate over a remote JWKS', () => {
  let idp: LoopbackServer
  let now = Date.UTC(2026, 0, 1) as number
  afterEach(() => idp?.stop())

  async function keyPair(kid: string) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    return {
      kid,
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    }
  }
  const sign = (
    key: { kid: string; privateKey: CryptoKey },
    claims: Record<string, unknown> = {},
    issuer = idp.url,
  ) =>
    new SignJWT({ roles: ['underwriter'], scope: 'predict explain', tenant: 'acme', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(issuer)
      .setAudience('credit-api')
      .setSubject('alice')
      .setIssuedAt(Math.floor(now / 1000) - 10)
      .setExpirationTime(Math.floor(now / 1000) + 600)
      .sign(key.privateKey)
  const options = (extra: Partial<JwtVerifierOptions> = {}): AuthenticateOptions => ({
    jwt: {
      issuers: [{ issuer: idp.url, jwksUri: `${idp.url}/jwks`, audience: 'credit-api' }],
      algorithms: ['ES256'],
      clock: () => now,
      jwksCache: { cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 300 },
      ...extra,
    },
  })

  beforeAll(() => {
    now = Date.UTC(2026, 0, 1)
  })

  it('sets the principal and its facts, never the token', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    idp.json({ keys: [key.jwk] })
    const { gate, backend, seen } = gateWith(authenticate(options()))
    const token = await sign(key)
    const res = await gate.fetch(inferRequest(bearer(token)))
    expect(res.status).toBe(200)
    expect(backend.calls).toBe(1)
    expect(seen[0]).toMatchObject({
      principal: {
        id: 'alice',
        kind: 'jwt',
        roles: ['underwriter'],
        scopes: ['predict', 'explain'],
        tenant: 'acme',
      },
      facts: { principal: 'alice', authMethod: 'jwt', tenant: 'acme' },
    })
    expect(JSON.stringify(seen[0])).not.toContain(token)
    expect(JSON.stringify(seen[0])).not.toContain(token.split('.')[2])
  })

  it('needs no credentials on health routes, and challenges without an error code when none are sent', async () => {
    idp = await new LoopbackServer().start()
    const { gate, backend } = gateWith(authenticate(options()))
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    const res = await gate.fetch(inferRequest())
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="modelgate"')
    const basic = await gate.fetch(inferRequest({ authorization: 'Basic dXNlcjpwYXNz' }))
    expect(basic.status).toBe(401)
    expect(backend.calls).toBe(0)
    expect(idp.hits).toBe(0)
    const closed = gateWith(authenticate({ ...options(), publicOperations: [] }))
    expect((await closed.gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(401)
  })

  it('fetches the JWKS once for a burst of cold requests (single flight)', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    idp.json({ keys: [key.jwk] }, 50)
    const { gate, backend } = gateWith(authenticate(options({ tokenCache: false })))
    const token = await sign(key)
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () =>
        gate.fetch(inferRequest(bearer(token))).then((r) => r.status),
      ),
    )
    expect(statuses).toEqual(Array(20).fill(200))
    expect(idp.hits).toBe(1)
    expect(backend.calls).toBe(20)
  })

  it('refetches for an unknown kid at most once per cooldown', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    const stranger = await keyPair('k-unknown')
    idp.json({ keys: [key.jwk] })
    const { gate } = gateWith(authenticate(options()))
    expect((await gate.fetch(inferRequest(bearer(await sign(key))))).status).toBe(200)
    expect(idp.hits).toBe(1)
    now += 31_000
    for (let i = 0; i < 5; i++) {
      expect(
        (await gate.fetch(inferRequest(bearer(await sign(stranger, { jti: `x${i}` }))))).status,
      ).toBe(401)
    }
    expect(idp.hits).toBe(2)
    now += 31_000
    expect(
      (await gate.fetch(inferRequest(bearer(await sign(stranger, { jti: 'y' }))))).status,
    ).toBe(401)
    expect(idp.hits).toBe(3)
  })

  it('picks up a key rotation at the IdP without restart and flushes cached tokens of removed keys', async () => {
    idp = await new LoopbackServer().start()
    const old = await keyPair('2025-12')
    const fresh = await keyPair('2026-01')
    idp.json({ keys: [old.jwk] })
    const auth = authenticate(options())
    const { gate } = gateWith(auth)
    const oldToken = await sign(old)
    expect((await gate.fetch(inferRequest(bearer(oldToken)))).status).toBe(200)

    idp.json({ keys: [fresh.jwk] })
    now += 31_000
    expect((await gate.fetch(inferRequest(bearer(await sign(fresh))))).status).toBe(200)
    expect(idp.hits).toBe(2)
    expect((await gate.fetch(inferRequest(bearer(oldToken)))).status).toBe(401)
  })

  it('fails closed with 503 while the JWKS endpoint is down, slow or serving garbage, and recovers', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    const { gate, backend } = gateWith(authenticate(options({ tokenCache: false })))
    const token = await sign(key)

    idp.handler = (_req, res) => {
      res.statusCode = 500
      res.end('oops')
    }
    const down = await gate.fetch(inferRequest(bearer(token)))
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('5')
    expect(await down.json()).toEqual({
      error: 'authentication is temporarily unavailable',
      code: 'auth_unavailable',
    })

    now += 31_000
    idp.json({ keys: [key.jwk] }, 1000)
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(503)

    now += 31_000
    idp.json('<html>not json</html>')
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(503)
    now += 31_000
    idp.json({ keys: 'nope' })
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(503)
    const hitsWhileDown = idp.hits
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(503)
    expect(idp.hits).toBe(hitsWhileDown)
    expect(backend.calls).toBe(0)

    now += 31_000
    idp.json({ keys: [key.jwk] })
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(200)
    expect(backend.calls).toBe(1)

    idp.handler = (_req, res) => res.destroy()
    now += 601_000
    expect((await gate.fetch(inferRequest(bearer(token)))).status).toBe(503)
  })

  it('finds the JWKS through OIDC discovery and insists the document names the issuer', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    let discoveredIssuer = ''
    idp.handler = (req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer: discoveredIssuer, jwks_uri: `${idp.url}/keys` }))
      else if (req.url === '/keys') res.end(JSON.stringify({ keys: [key.jwk] }))
      else res.writeHead(404).end()
    }
    const discovery = (): AuthenticateOptions => ({
      jwt: {
        issuers: [{ issuer: idp.url, discovery: true, audience: 'credit-api' }],
        algorithms: ['ES256'],
        clock: () => now,
      },
    })
    discoveredIssuer = 'https://someone-else.example'
    expect(
      (await gateWith(authenticate(discovery())).gate.fetch(inferRequest(bearer(await sign(key)))))
        .status,
    ).toBe(503)
    discoveredIssuer = idp.url
    expect(
      (await gateWith(authenticate(discovery())).gate.fetch(inferRequest(bearer(await sign(key)))))
        .status,
    ).toBe(200)
  })

  it('caches verified tokens by hash, for at most min(exp - now, 60 s)', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    idp.json({ keys: [key.jwk] })
    const verifier = createJwtVerifier(options().jwt!)
    const token = await sign(key)
    expect((await verifier.verify(token)).cached).toBe(false)
    expect((await verifier.verify(token)).cached).toBe(true)
    expect(verifier.cacheSize).toBe(1)
    now += 61_000
    expect((await verifier.verify(token)).cached).toBe(false)
    const shortLived = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(idp.url)
      .setAudience('credit-api')
      .setSubject('bob')
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + 5)
      .sign(key.privateKey)
    expect((await verifier.verify(shortLived)).cached).toBe(false)
    now += 40_000
    await expect(verifier.verify(shortLived)).rejects.toMatchObject({ code: 'expired' })
  })

  it('answers a hit with the first result, keyed by the whole token, never the payload alone', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    idp.json({ keys: [key.jwk] })
    const verifier = createJwtVerifier(options().jwt!)
    const token = await sign(key)
    const first = await verifier.verify(token)
    const hit = await verifier.verify(token)
    expect(hit).toMatchObject({ cached: true, issuer: idp.url, kid: 'k1' })
    expect(hit.principal).toBe(first.principal)
    expect(Object.isFrozen(hit)).toBe(true)
    expect(await verifier.verify(token)).toBe(hit)
    const [h, p, sig] = token.split('.') as [string, string, string]
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11)
    await expect(verifier.verify(`${h}.${p}.${flipped}`)).rejects.toMatchObject({
      code: 'bad_signature',
    })
    await expect(verifier.verify(`${h}.${p}.${sig} `)).rejects.toMatchObject({ code: 'malformed' })
    expect(verifier.cacheSize).toBe(1)
  })

  it('revokes and refuses replays by issuer + jti, also for cached tokens', async () => {
    idp = await new LoopbackServer().start()
    const key = await keyPair('k1')
    idp.json({ keys: [key.jwk] })
    const revocations = new MemoryStore()
    const replay = new MemoryStore()
    const revocable = createJwtVerifier({ ...options().jwt!, revocations })
    const token = await sign(key, { jti: 't-1' })
    expect((await revocable.verify(token)).principal.id).toBe('alice')
    await revocations.set(`jwt-revoked:${idp.url}:t-1`, '1')
    await expect(revocable.verify(token)).rejects.toMatchObject({ code: 'revoked' })
    await expect(revocable.verify(await sign(key))).rejects.toMatchObject({ code: 'claim_missing' })

    const once = createJwtVerifier({ ...options().jwt!, replay })
    const oneTime = await sign(key, { jti: 't-2' })
    await once.verify(oneTime)
    await expect(once.verify(oneTime)).rejects.toMatchObject({ code: 'replayed' })
    expect(await replay.get(`jwt-jti:${idp.url}:t-2`)).toBe('1')
  })

  it('validates options at factory time', () => {
    const base = {
      issuers: [
        { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', audience: 'a' },
      ],
      algorithms: ['ES256' as const],
    }
    expect(() => authenticate({})).toThrow(TypeError)
    expect(() => authenticate({ jwt: { ...base, algorithms: [] } })).toThrow(/algorithms/)
    expect(() => authenticate({ jwt: { ...base, algorithms: ['none' as never] } })).toThrow(
      /unsupported algorithm/,
    )
    expect(() => authenticate({ jwt: { ...base, clockToleranceSeconds: 120 } })).toThrow(
      /clockTolerance/,
    )
    expect(() =>
      authenticate({
        jwt: {
          ...base,
          issuers: [
            { issuer: 'https://idp.example', jwksUri: 'http://idp.example/jwks', audience: 'a' },
          ],
        },
      }),
    ).toThrow(/https/)
    expect(() =>
      authenticate({
        jwt: { ...base, issuers: [{ issuer: 'https://idp.example', audience: 'a' }] },
      }),
    ).toThrow(/exactly one/)
    expect(() =>
      authenticate({
        jwt: {
          ...base,
          issuers: [
            { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', audience: [] },
          ],
        },
      }),
    ).toThrow(/audience/)
    expect(() => authenticate({ apiKeys: { pepper: 'short', records: [] } })).toThrow(/pepper/)
  })
})

describe('a principal set by an outer plugin', () => {
  it('is kept without asking for credentials again, and never bypasses a missing one', async () => {
    const nestedJwt: Plugin = async function nestedJwt(ctx, next) {
      if (ctx.requestHeaders.get('x-test-nested') === 'yes') {
        ctx.principal = { id: 'nested-user', kind: 'jwt', roles: [], scopes: [] }
      }
      await next()
    }
    const backend = countingBackend()
    const inner = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [nestedJwt, authenticate({ jwt: fixtureJwt })],
    })
    await inner.ready()
    expect((await inner.fetch(inferRequest({ 'x-test-nested': 'yes' }))).status).toBe(200)
    expect((await inner.fetch(inferRequest({}))).status).toBe(401)
    expect(backend.calls).toBe(1)
  })
})

describe('API keys', () => {
  const pepper = 'pepper-that-lives-in-a-secret-manager-not-the-db'

  it('accepts a stored key by header or ApiKey scheme and refuses wrong ones', async () => {
    const { key, record } = await createApiKey({
      pepper,
      principal: { id: 'batch-scorer', roles: ['service'], scopes: ['predict'], tenant: 'acme' },
    })
    expect(JSON.stringify(record)).not.toContain(key.split('_')[2])
    const { gate, backend, seen } = gateWith(
      authenticate({ apiKeys: { pepper, records: [record] } }),
    )
    expect((await gate.fetch(inferRequest({ 'x-api-key': key }))).status).toBe(200)
    expect((await gate.fetch(inferRequest({ authorization: `ApiKey ${key}` }))).status).toBe(200)
    expect(seen[0]).toMatchObject({
      principal: { id: 'batch-scorer', kind: 'api_key', roles: ['service'], tenant: 'acme' },
      facts: { authMethod: 'api_key' },
    })
    const wrongSecret = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    for (const bad of [
      wrongSecret,
      'mg_0000000000000000_' + 'A'.repeat(43),
      'not-a-key',
      key + 'x',
    ]) {
      const res = await gate.fetch(inferRequest({ 'x-api-key': bad }))
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
    }
    const otherPepper = gateWith(
      authenticate({ apiKeys: { pepper: pepper + '-rotated', records: [record] } }),
    )
    expect((await otherPepper.gate.fetch(inferRequest({ 'x-api-key': key }))).status).toBe(401)
    expect(backend.calls).toBe(2)
  })

  it('rotates with overlap: both keys work until the overlap ends', async () => {
    let now = Date.UTC(2026, 0, 1)
    await expect(
      createApiKey({ pepper, principal: { id: 'svc', role: ['x'] } } as never),
    ).rejects.toThrow(
      'createApiKey: unknown option "principal.role" (did you mean "principal.roles"?)',
    )
    const first = await createApiKey({ pepper, principal: { id: 'svc' } })
    const rotated = await rotateApiKey(first.record, { pepper, overlapMs: 3_600_000, now })
    const auth = authenticate({
      apiKeys: { pepper, records: [rotated.previous, rotated.record] },
      jwt: { ...fixtureJwt, clock: () => now },
    })
    const { gate } = gateWith(auth)
    expect((await gate.fetch(inferRequest({ 'x-api-key': first.key }))).status).toBe(200)
    expect((await gate.fetch(inferRequest({ 'x-api-key': rotated.key }))).status).toBe(200)
    now += 3_600_000
    expect((await gate.fetch(inferRequest({ 'x-api-key': first.key }))).status).toBe(401)
    expect((await gate.fetch(inferRequest({ 'x-api-key': rotated.key }))).status).toBe(200)
  })
})

describe('mTLS identity', () => {
  const hash = 'ab'.repeat(32)
  it('reads a platform-set x-forwarded-client-cert header at the edge', async () => {
    const { gate, seen } = gateWith(
      authenticate({
        mtls: {
          header: 'x-forwarded-client-cert',
          principal: (c) =>
            c.subject.O === 'Acme'
              ? { id: c.subject.CN!, roles: ['service'], tenant: 'acme' }
              : undefined,
        },
      }),
    )
    const xfcc = `Hash=${hash};Subject="CN=scorer,O=Acme";URI=spiffe://acme/scorer;DNS=scorer.acme.internal`
    expect((await gate.fetch(inferRequest({ 'x-forwarded-client-cert': xfcc }))).status).toBe(200)
    expect(seen[0]).toMatchObject({
      principal: {
        id: 'scorer',
        kind: 'mtls',
        roles: ['service'],
        tenant: 'acme',
        claims: {
          fingerprint256: 'AB:'.repeat(31) + 'AB',
          sans: ['URI:spiffe://acme/scorer', 'DNS:scorer.acme.internal'],
        },
      },
      facts: { authMethod: 'mtls', principal: 'scorer' },
    })
    expect(
      (await gate.fetch(inferRequest({ 'x-forwarded-client-cert': xfcc.replace('Acme', 'Evil') })))
        .status,
    ).toBe(401)
    expect(
      (await gate.fetch(inferRequest({ 'x-forwarded-client-cert': `${xfcc},${xfcc}` }))).status,
    ).toBe(401)
    expect(
      (await gate.fetch(inferRequest({ 'x-forwarded-client-cert': 'Hash=zz;Subject="CN=x"' })))
        .status,
    ).toBe(401)
    expect((await gate.fetch(inferRequest())).status).toBe(401)
  })

  it('reads the peer certificate the Express adapter attaches to the request', async () => {
    const { gate, seen } = gateWith(authenticate({ mtls: {} }))
    // What the Express adapter hands the gate: the verified peer certificate as a request extra.
    const body = new TextEncoder().encode(JSON.stringify(inferBody))
    const reply = await gate.handle({
      method: 'POST',
      url: 'http://gate/v2/models/credit/infer',
      headers: new Headers({ 'content-type': 'application/json' }),
      signal: new AbortController().signal,
      body: { declaredLength: body.byteLength, read: async () => body },
      extras: {
        [Symbol.for('modelgate.peerCertificate')]: {
          subject: { CN: 'scorer', O: 'Acme' },
          subjectaltname: 'DNS:scorer.acme.internal, URI:spiffe://acme/scorer',
          fingerprint256: hash.match(/../g)!.join(':'),
        },
      },
    })
    expect(reply.status).toBe(200)
    expect(seen[0]).toMatchObject({ principal: { id: 'spiffe://acme/scorer', kind: 'mtls' } })
    const spoofed = inferRequest({ 'x-forwarded-client-cert': `Hash=${hash};Subject="CN=admin"` })
    expect((await gate.fetch(spoofed)).status).toBe(401)
  })
})

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import { createGate, type Plugin, type Principal, type RouteDefinition } from '@modelgate/core'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { countingBackend, inferRequest, type CountingBackend } from '../../test/helpers.js'
import { authenticate } from '../authenticate/index.js'
import type { PolicyDocument, PolicyRequest } from '../types.js'
import { createCedarEngine } from './cedar.js'
import { authorize } from './index.js'
import { compilePolicy, PolicyError, validatePolicy } from './policy.js'

const policy: PolicyDocument = {
  version: 1,
  rules: [
    { id: 'admins', effect: 'allow', principal: { roles: ['admin'] }, actions: ['*'] },
    {
      id: 'underwriters',
      effect: 'allow',
      principal: { roles: ['underwriter'] },
      actions: ['predict', 'explain', 'metadata', 'unmask:income', 'unmask:name'],
      resource: { models: ['credit*'] },
      conditions: [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }],
    },
    {
      id: 'auditors',
      effect: 'allow',
      principal: { roles: ['auditor'] },
      actions: ['explain', 'metadata', 'unmask:*'],
    },
    {
      id: 'auditors-no-ssn',
      effect: 'deny',
      principal: { roles: ['auditor'] },
      actions: ['unmask:ssn'],
    },
    {
      id: 'applicants',
      effect: 'allow',
      principal: { roles: ['applicant'] },
      actions: ['predict'],
      resource: { models: ['credit-risk'], versions: ['2'] },
    },
    {
      id: 'scoped-clients',
      effect: 'allow',
      principal: { scopes: ['model:predict'] },
      actions: ['predict'],
    },
    {
      id: 'contractors-office-hours',
      effect: 'deny',
      principal: { kinds: ['jwt'] },
      actions: ['*'],
      conditions: [
        { attribute: 'principal.claims.contractor', equals: true },
        { timeWindow: { start: '18:00', end: '08:00' } },
      ],
    },
    {
      id: 'suspended',
      effect: 'deny',
      actions: ['*'],
      conditions: [{ attribute: 'principal.claims.status', in: ['suspended', 'locked'] }],
    },
  ],
}

const who = (roles: string[], extra: Partial<Principal> = {}): Principal => ({
  id: 'u',
  kind: 'jwt',
  roles,
  scopes: [],
  tenant: 'acme',
  ...extra,
})
const NOON = Date.UTC(2026, 0, 5, 12)
const req = (
  principal: Principal,
  action: PolicyRequest['action'],
  extra: Partial<PolicyRequest> = {},
): PolicyRequest => ({
  principal,
  action,
  resource: { model: 'credit-risk', version: '2', labels: { tenant: 'acme' } },
  now: NOON,
  unmaskFields: ['name', 'income', 'ssn', 'email'],
  ...extra,
})

describe('compilePolicy', () => {
  const engine = compilePolicy(policy)

  it('allows by role, tenant and resource, and says which rules decided', () => {
    expect(engine.decide(req(who(['underwriter']), 'predict'))).toEqual({
      allow: true,
      reasons: ['allow:underwriters'],
      unmask: ['name', 'income'],
    })
    expect(engine.decide(req(who(['underwriter'], { tenant: 'globex' }), 'predict'))).toEqual({
      allow: false,
      reasons: ['default-deny'],
      unmask: [],
    })
    expect(engine.decide(req(who(['underwriter'], { tenant: undefined }), 'predict')).allow).toBe(
      false,
    )
    expect(
      engine.decide(
        req(who(['underwriter']), 'predict', {
          resource: { model: 'fraud', labels: { tenant: 'acme' } },
        }),
      ).allow,
    ).toBe(false)
    expect(engine.decide(req(who(['underwriter']), 'admin')).allow).toBe(false)
    expect(engine.decide(req(who(['applicant']), 'predict'))).toEqual({
      allow: true,
      reasons: ['allow:applicants'],
      unmask: [],
    })
    expect(
      engine.decide(
        req(who(['applicant']), 'predict', { resource: { model: 'credit-risk', version: '1' } }),
      ).allow,
    ).toBe(false)
    expect(engine.decide(req(who(['applicant']), 'explain')).allow).toBe(false)
    expect(engine.decide(req(who([], { scopes: ['model:predict'] }), 'predict')).reasons).toEqual([
      'allow:scoped-clients',
    ])
    expect(engine.decide(req(who(['admin', 'underwriter']), 'predict'))).toEqual({
      allow: true,
      reasons: ['allow:admins', 'allow:underwriters'],
      unmask: ['*'],
    })
  })

  it('lets deny override allow, also field by field for unmasking', () => {
    expect(engine.decide(req(who(['auditor']), 'explain')).unmask).toEqual([
      'name',
      'income',
      'email',
    ])
    expect(
      engine.decide(req(who(['auditor']), 'explain', { unmaskFields: undefined })).unmask,
    ).toEqual([])
    const suspended = who(['admin'], { claims: { status: 'suspended' } })
    expect(engine.decide(req(suspended, 'metadata'))).toEqual({
      allow: false,
      reasons: ['deny:suspended'],
      unmask: [],
    })
  })

  it('gives the same unmask fields for a frozen field list (shared results) as for a fresh one', () => {
    const frozen = Object.freeze(['name', 'income', 'ssn', 'email']) as string[]
    const principals = [
      who(['auditor']),
      who(['underwriter']),
      who(['underwriter'], { tenant: 'globex' }),
      who(['admin']),
      who(['admin', 'auditor']),
      who(['auditor', 'underwriter']),
      who(['applicant']),
    ]
    for (const action of ['predict', 'explain', 'metadata'] as const) {
      for (const principal of principals) {
        const fresh = engine.decide(req(principal, action))
        for (let i = 0; i < 2; i++) {
          const shared = engine.decide(req(principal, action, { unmaskFields: frozen }))
          expect(shared).toEqual(fresh)
          if (shared.unmask.length > 0) expect(Object.isFrozen(shared.unmask)).toBe(true)
        }
      }
    }
    expect(engine.decide(req(who(['auditor']), 'explain', { unmaskFields: frozen })).unmask).toBe(
      engine.decide(req(who(['auditor']), 'explain', { unmaskFields: frozen })).unmask,
    )
  })

  it('evaluates time windows in UTC, across midnight', () => {
    const contractor = who(['underwriter'], { claims: { contractor: true } })
    expect(engine.decide(req(contractor, 'predict')).allow).toBe(true)
    expect(
      engine.decide(req(contractor, 'predict', { now: Date.UTC(2026, 0, 5, 19) })).reasons,
    ).toEqual(['deny:contractors-office-hours'])
    expect(
      engine.decide(req(contractor, 'predict', { now: Date.UTC(2026, 0, 5, 7, 59) })).allow,
    ).toBe(false)
    expect(engine.decide(req(contractor, 'predict', { now: Date.UTC(2026, 0, 5, 8) })).allow).toBe(
      true,
    )
    const weekdays = compilePolicy({
      version: 1,
      rules: [
        {
          id: 'wk',
          effect: 'allow',
          actions: ['predict'],
          conditions: [
            {
              timeWindow: {
                start: '00:00',
                end: '23:59',
                days: ['mon', 'tue', 'wed', 'thu', 'fri'],
              },
            },
          ],
        },
      ],
    })
    expect(weekdays.decide(req(who([]), 'predict')).allow).toBe(true)
    expect(weekdays.decide(req(who([]), 'predict', { now: Date.UTC(2026, 0, 4, 12) })).allow).toBe(
      false,
    )
  })

  it('supports the remaining condition operators', () => {
    const p = (conditions: unknown[]) =>
      compilePolicy({
        version: 1,
        rules: [{ id: 'r', effect: 'allow', actions: ['predict'], conditions } as never],
      })
    const alice = who(['x'], {
      id: 'alice',
      claims: { level: 3, groups: ['risk', 'ops'], org: { unit: 'emea' } },
    })
    const ok = (conditions: unknown[], extra: Partial<PolicyRequest> = {}) =>
      p(conditions).decide(req(alice, 'predict', extra)).allow
    expect(ok([{ attribute: 'principal.claims.level', greaterOrEqual: 3 }])).toBe(true)
    expect(ok([{ attribute: 'principal.claims.level', lessOrEqual: 2 }])).toBe(false)
    expect(ok([{ attribute: 'principal.claims.groups', contains: 'risk' }])).toBe(true)
    expect(ok([{ attribute: 'principal.roles', equals: 'x' }])).toBe(true)
    expect(ok([{ attribute: 'principal.id', notEquals: 'alice' }])).toBe(false)
    expect(ok([{ attribute: 'principal.claims.org.unit', equals: 'emea' }])).toBe(true)
    expect(ok([{ attribute: 'principal.claims.missing', exists: false }])).toBe(true)
    expect(
      ok([{ attribute: 'context.channel', equals: 'branch' }], { context: { channel: 'branch' } }),
    ).toBe(true)
    expect(ok([{ attribute: 'principal.claims.toString', exists: true }])).toBe(false)
    expect(ok([{ attribute: 'resource.version', in: ['1', '2'] }])).toBe(true)
  })

  it('refuses unknown fields, actions, attributes and operators with a clear error', () => {
    const bad = (rule: Record<string, unknown>) => () =>
      validatePolicy({
        version: 1,
        rules: [{ id: 'r', effect: 'allow', actions: ['predict'], ...rule }],
      })
    expect(bad({ actions: ['delete'] })).toThrow('rules[0] ("r"): unknown action "delete"')
    expect(bad({ action: ['predict'] })).toThrow('rules[0] ("r"): unknown field "action"')
    expect(bad({ principal: { role: ['x'] } })).toThrow(
      'rules[0] ("r").principal: unknown field "role"',
    )
    expect(bad({ effect: 'permit' })).toThrow(/"effect" must be/)
    expect(bad({ conditions: [{ attribute: 'principal.password', equals: 'x' }] })).toThrow(
      /unknown attribute "principal.password"/,
    )
    expect(bad({ conditions: [{ attribute: 'principal.id', like: 'x' }] })).toThrow(
      /needs exactly one of/,
    )
    expect(bad({ conditions: [{ timeWindow: { start: '8:00', end: '18:00' } }] })).toThrow(/HH:MM/)
    expect(
      bad({ conditions: [{ timeWindow: { start: '08:00', end: '18:00', days: ['monday'] } }] }),
    ).toThrow(/days/)
    expect(() => validatePolicy({ version: 2, rules: [] })).toThrow(PolicyError)
    expect(() => validatePolicy({ version: 1, rules: [], extra: 1 })).toThrow(
      'policy: unknown field "extra"',
    )
    expect(() =>
      validatePolicy({
        version: 1,
        rules: [
          { id: 'a', effect: 'allow', actions: ['predict'] },
          { id: 'a', effect: 'deny', actions: ['predict'] },
        ],
      }),
    ).toThrow(/duplicate rule id/)
    expect(() =>
      authorize({
        policy: { version: 1, rules: [{ id: 'x', effect: 'allow', actions: ['fly'] }] } as never,
      }),
    ).toThrow(PolicyError)
    expect(
      compilePolicy(JSON.parse(JSON.stringify(policy))).decide(req(who(['admin']), 'admin')).allow,
    ).toBe(true)
  })
})

describe('authorize in the gate', () => {
  let token: (claims: Record<string, unknown>) => Promise<string>
  let authn: Plugin

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' }
    authn = authenticate({
      jwt: {
        issuers: [{ issuer: 'https://idp.test', jwks: { keys: [jwk] }, audience: 'credit-api' }],
        algorithms: ['ES256'],
      },
    })
    token = (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://idp.test')
        .setAudience('credit-api')
        .setSubject(String(claims.sub ?? 'u1'))
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey)
  })

  function setup(authz: Plugin) {
    const backend = countingBackend()
    const decisions: unknown[] = []
    const record: Plugin = async function record(ctx, next) {
      await next()
      decisions.push({ decision: ctx.decision, facts: ctx.facts.decision })
    }
    const inner = createGate({
      models: [
        {
          name: 'credit-risk',
          version: '2',
          backend,
          labels: { tenant: 'acme' },
          schema: {
            input: 'x',
            features: [
              { name: 'income', type: 'numeric' },
              { name: 'debt', type: 'numeric' },
              { name: 'name', type: 'passthrough', pii: 'PERSON' },
              { name: 'ssn', type: 'passthrough', pii: 'US_SSN' },
            ],
          },
        },
      ],
      plugins: [authn, authz, record],
    })
    return {
      backend,
      decisions,
      fetch: async (r: Request) => (await inner.ready(), inner.fetch(r)),
    }
  }
  const predict = async (claims: Record<string, unknown>) =>
    inferRequest({ authorization: `Bearer ${await token(claims)}` }, 'credit-risk')

  it('allows with reasons and unmask fields, refuses with 403 insufficient_scope before the model runs', async () => {
    const { backend, decisions, fetch } = setup(authorize({ policy }))
    const ok = await fetch(await predict({ roles: ['underwriter'], tenant: 'acme' }))
    expect(ok.status).toBe(200)
    expect(decisions[0]).toEqual({
      decision: { allow: true, reasons: ['allow:underwriters'], unmask: ['income', 'name'] },
      facts: { allow: true, action: 'predict', reasons: ['allow:underwriters'] },
    })
    const auditor = await fetch(
      new Request('http://gate/v1/models/credit-risk:explain', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await token({ roles: ['auditor'] })}`,
          'content-type': 'application/json',
        },
        body: '{"instances":[]}',
      }),
    )
    expect(auditor.status).toBe(404)

    for (const claims of [
      { roles: ['underwriter'], tenant: 'globex' },
      { roles: ['applicant'], tenant: 'acme', status: 'suspended' },
      { roles: [] },
    ]) {
      const res = await fetch(await predict(claims))
      expect(res.status).toBe(403)
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="modelgate", error="insufficient_scope", error_description="not allowed"',
      )
      expect(await res.json()).toEqual({ error: 'insufficient scope', code: 'insufficient_scope' })
    }
    expect(backend.calls).toBe(1)
    expect((await fetch(new Request('http://gate/v2/health/live'))).status).toBe(200)
  })

  it('answers 401 when no principal was established', async () => {
    const backend = countingBackend()
    const gate = createGate({
      models: [{ name: 'credit-risk', backend }],
      plugins: [authorize({ policy })],
    })
    await gate.ready()
    const res = await gate.fetch(inferRequest({}, 'credit-risk'))
    expect(res.status).toBe(401)
    expect(backend.calls).toBe(0)
  })

  it('runs Cedar policies through the same plugin with the same outcomes', async () => {
    const engine = createCedarEngine(
      cedar,
      `permit(principal in Role::"underwriter", action in [Action::"predict", Action::"explain", Action::"unmask:income"], resource)
         when { principal has tenant && resource has tenant && principal.tenant == resource.tenant };
       permit(principal in Role::"auditor", action, resource) when { action != Action::"predict" };
       forbid(principal, action == Action::"unmask:ssn", resource);`,
    )
    const compiled = compilePolicy({
      version: 1,
      rules: [
        {
          id: 'u',
          effect: 'allow',
          principal: { roles: ['underwriter'] },
          actions: ['predict', 'explain', 'unmask:income'],
          conditions: [
            { attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' },
          ],
        },
        {
          id: 'a',
          effect: 'allow',
          principal: { roles: ['auditor'] },
          actions: ['explain', 'metadata', 'admin', 'unmask:*'],
        },
        { id: 'no-ssn', effect: 'deny', actions: ['unmask:ssn'] },
      ],
    })
    for (const [roles, tenant, action] of [
      [['underwriter'], 'acme', 'predict'],
      [['underwriter'], 'globex', 'predict'],
      [['auditor'], undefined, 'predict'],
      [['auditor'], undefined, 'explain'],
      [['applicant'], 'acme', 'predict'],
    ] as const) {
      const r = req(who([...roles], { tenant }), action)
      const a = engine.decide(r)
      const b = compiled.decide(r)
      expect([a.allow, [...a.unmask].sort()]).toEqual([b.allow, [...b.unmask].sort()])
    }
    expect(engine.decide(req(who(['underwriter']), 'predict')).reasons).toEqual(['cedar:policy0'])
    expect(() => createCedarEngine(cedar, 'permit(principal, action, resource')).toThrow(
      /do not parse/,
    )

    const { backend, fetch } = setup(authorize({ policy: engine }))
    expect((await fetch(await predict({ roles: ['underwriter'], tenant: 'acme' }))).status).toBe(
      200,
    )
    expect((await fetch(await predict({ roles: ['underwriter'], tenant: 'globex' }))).status).toBe(
      403,
    )
    expect(backend.calls).toBe(1)
  })
})

describe('what exists and what is public', () => {
  let token: (roles: string[]) => Promise<string>
  let fetch: (path: string, roles?: string[], init?: RequestInit) => Promise<Response>
  let backend: CountingBackend

  const page = (name: string, operation: RouteDefinition['operation']): RouteDefinition => ({
    name,
    methods: ['GET'],
    path: `/${name}`,
    operation,
    async terminal(ctx) {
      ctx.body = { page: name }
    },
  })

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' }
    token = (roles) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://idp.test')
        .setAudience('api')
        .setSubject('u1')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey)
    backend = countingBackend()
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      routes: [page('metrics', 'metrics'), page('console', 'console')],
      plugins: [
        authenticate({
          jwt: {
            issuers: [{ issuer: 'https://idp.test', jwks: { keys: [jwk] }, audience: 'api' }],
            algorithms: ['ES256'],
          },
        }),
        authorize({
          policy: {
            version: 1,
            rules: [
              {
                id: 'scorers',
                effect: 'allow',
                principal: { roles: ['scorer'] },
                actions: ['predict'],
              },
              {
                id: 'scraper',
                effect: 'allow',
                principal: { roles: ['scraper'] },
                actions: ['metrics'],
              },
              {
                id: 'readers',
                effect: 'allow',
                principal: { roles: ['reader'] },
                actions: ['metadata'],
              },
            ],
          },
        }),
      ],
    })
    await gate.ready()
    fetch = async (path, roles, init = {}) =>
      gate.fetch(
        new Request(`http://gate${path}`, {
          ...init,
          headers: {
            ...(roles ? { authorization: `Bearer ${await token(roles)}` } : {}),
            ...(init.body ? { 'content-type': 'application/json' } : {}),
          },
        }),
      )
  })

  it('answers 404, not 403, to an authenticated caller for an unknown model or route; 401 first', async () => {
    const infer = { method: 'POST', body: '{"inputs":[]}' }
    for (const [path, init] of [
      ['/v2/models/nope/infer', infer],
      ['/v1/models/nope:predict', infer],
      ['/v2/models/nope', {}],
      ['/no/such/route', {}],
    ] as const) {
      const anonymous = await fetch(path, undefined, init)
      expect(anonymous.status, path).toBe(401)
      const known = await fetch(path, ['nobody'], init)
      expect(known.status, path).toBe(404)
      expect(((await known.json()) as { code: string }).code).toBe(
        path === '/no/such/route' ? 'not_found' : 'model_not_found',
      )
    }
    // An existing model the caller may not use is still 403.
    expect((await fetch('/v2/models/credit', ['nobody'])).status).toBe(403)
    expect(backend.calls).toBe(0)
  })

  it('keeps liveness, readiness and console pages public; model readiness and metrics are not', async () => {
    expect((await fetch('/v2/health/live')).status).toBe(200)
    expect((await fetch('/v2/health/ready')).status).toBe(200)
    expect(await (await fetch('/console')).json()).toEqual({ page: 'console' })
    for (const path of ['/v2/models/credit/ready', '/v1/models/credit', '/metrics'])
      expect((await fetch(path)).status, path).toBe(401)
    // Model readiness is decided as metadata, metrics as its own action.
    expect((await fetch('/v2/models/credit/ready', ['scorer'])).status).toBe(403)
    expect((await fetch('/v2/models/credit/ready', ['reader'])).status).toBe(200)
    expect((await fetch('/metrics', ['scorer'])).status).toBe(403)
    expect(await (await fetch('/metrics', ['scraper'])).json()).toEqual({ page: 'metrics' })
  })

  it('makes model readiness public only together with metadata', async () => {
    const gate = createGate({
      models: [{ name: 'credit', backend: countingBackend() }],
      plugins: [
        authenticate({
          apiKeys: { pepper: 'p'.repeat(32), records: [] },
          publicOperations: ['health'],
        }),
      ],
    })
    await gate.ready()
    expect((await gate.fetch(new Request('http://gate/v2/models/credit/ready'))).status).toBe(401)
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    const open = createGate({
      models: [{ name: 'credit', backend: countingBackend() }],
      plugins: [
        authenticate({
          apiKeys: { pepper: 'p'.repeat(32), records: [] },
          publicOperations: ['health', 'metadata'],
        }),
      ],
    })
    await open.ready()
    expect((await open.fetch(new Request('http://gate/v2/models/credit/ready'))).status).toBe(200)
  })

  it('refuses unknown option keys of every factory, naming the nearest valid key', () => {
    expect(() => authorize({ policy, publicOperation: ['health'] } as never)).toThrow(
      'authorize: unknown option "publicOperation" (did you mean "publicOperations"?)',
    )
    expect(() =>
      authenticate({ apiKeys: { pepper: 'p'.repeat(32), records: [], haeder: 'x' } } as never),
    ).toThrow('authenticate: unknown option "apiKeys.haeder" (did you mean "apiKeys.header"?)')
    expect(() =>
      authenticate({
        jwt: {
          issuers: [{ issuer: 'i', audience: 'a', jwksUrl: 'https://x' }],
          algorithms: ['ES256'],
        },
      } as never),
    ).toThrow(
      'authenticate: unknown option "jwt.issuers[0].jwksUrl" (did you mean "jwt.issuers[0].jwksUri"?)',
    )
  })
})

describe('authorize in any plugin order', () => {
  it('decides after authentication even when listed before it, and never lets a request through undecided', async () => {
    const { createApiKey } = await import('../apikeys.js')
    const pepper = 'a-pepper-of-at-least-thirty-two-bytes!'
    const analyst = await createApiKey({ pepper, principal: { id: 'ann', roles: ['analyst'] } })
    const guest = await createApiKey({ pepper, principal: { id: 'gus', roles: ['guest'] } })
    const backend = countingBackend()
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [
        authorize({
          policy: {
            version: 1,
            rules: [
              {
                id: 'analysts',
                effect: 'allow',
                principal: { roles: ['analyst'] },
                actions: ['predict'],
              },
            ],
          },
        }),
        authenticate({ apiKeys: { pepper, records: [analyst.record, guest.record] } }),
      ],
    })
    await gate.ready()
    expect((await gate.fetch(inferRequest({ 'x-api-key': analyst.key }))).status).toBe(200)
    expect((await gate.fetch(inferRequest({ 'x-api-key': guest.key }))).status).toBe(403)
    expect((await gate.fetch(inferRequest({}))).status).toBe(401)
    expect(backend.calls).toBe(1)
  })
})

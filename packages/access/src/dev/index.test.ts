import { createGate, type Plugin } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { CountingBackend } from '../../test/helpers.js'
import { authenticate } from '../authenticate/index.js'
import { authorize } from '../authorize/index.js'
import { createJwtVerifier } from '../jwt/verifier.js'
import {
  DEV_USERS,
  devJwtOptions,
  devPolicy,
  generateDevKeys,
  issueDevToken,
  loadOrCreateDevKeys,
  type DevUser,
} from './index.js'
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

describe('development tokens for the credit-risk demo', () => {
  it('issues tokens for the four demo users that the dev policy tells apart', async () => {
    const keys = await generateDevKeys()
    const backend = new CountingBackend()
    const decisions = new Map<string, unknown>()
    const record: Plugin = async function record(ctx, next) {
      await next()
      decisions.set(ctx.principal!.id, ctx.decision)
    }
    const gate = createGate({
      models: [
        {
          name: 'credit',
          backend,
          labels: { tenant: 'demo-bank' },
          schema: {
            input: 'x',
            features: [
              { name: 'income', type: 'numeric' },
              { name: 'debt_to_income', type: 'numeric' },
              { name: 'name', type: 'passthrough' },
              { name: 'email', type: 'passthrough' },
              { name: 'ssn', type: 'passthrough' },
              { name: 'card_number', type: 'passthrough' },
            ],
          },
        },
      ],
      plugins: [
        authenticate({ jwt: devJwtOptions(keys) }),
        authorize({ policy: devPolicy() }),
        record,
      ],
    })
    await gate.ready()
    const predict = async (user: DevUser) =>
      gate.fetch(
        new Request('http://gate/v1/models/credit:predict', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await issueDevToken({ user, keys })}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            instances: [
              { income: 1, debt_to_income: 2, name: 'A', email: 'a@x', ssn: '1', card_number: '4' },
            ],
          }),
        }),
      )
    const metadata = async (user: DevUser) =>
      gate.fetch(
        new Request('http://gate/v2/models/credit', {
          headers: { authorization: `Bearer ${await issueDevToken({ user, keys })}` },
        }),
      )

    expect((await predict('applicant')).status).toBe(200)
    expect((await predict('underwriter')).status).toBe(200)
    expect((await predict('auditor')).status).toBe(403)
    expect((await predict('admin')).status).toBe(200)
    expect((await metadata('applicant')).status).toBe(403)
    expect((await metadata('auditor')).status).toBe(200)
    expect(decisions.get(DEV_USERS.applicant.sub)).toMatchObject({ allow: true, unmask: [] })
    expect(decisions.get(DEV_USERS.underwriter.sub)).toMatchObject({
      allow: true,
      unmask: ['name', 'email'],
    })
    expect(decisions.get(DEV_USERS.auditor.sub)).toMatchObject({
      allow: true,
      unmask: ['income', 'debt_to_income', 'name', 'email'],
    })
    expect(decisions.get(DEV_USERS.admin.sub)).toMatchObject({ allow: true, unmask: ['*'] })
    expect(backend.calls).toBe(3)
  })

  it('honours ttl and now, stores keys with mode 0600, and refuses to run in production', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mg-dev-'))
    const file = join(dir, 'nested', 'dev-keys.json')
    const keys = await loadOrCreateDevKeys(file)
    expect(await loadOrCreateDevKeys(file)).toEqual(keys)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const now = 1_800_000_000
    const token = await issueDevToken({ user: 'auditor', keys, now, ttlSeconds: 60 })
    const verifier = createJwtVerifier({ ...devJwtOptions(keys), clock: () => now * 1000 })
    const { claims } = await verifier.verify(token)
    expect(claims).toMatchObject({
      sub: 'auditor-0001',
      roles: ['auditor'],
      iat: now,
      exp: now + 60,
      dev: true,
    })
    await expect(issueDevToken({ user: 'root' as never, keys })).rejects.toThrow(
      /unknown development user/,
    )
    const previous = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    try {
      await expect(issueDevToken({ user: 'admin', keys })).rejects.toThrow(/development only/)
    } finally {
      process.env.NODE_ENV = previous
    }
  })
})

import { authenticate, authorize } from '@modelgate/access'
import { createGate, type AccessDecision, type ModelBackend, type Plugin } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import {
  DEV_USERS,
  devJwtOptions,
  devPolicy,
  generateDevKeys,
  issueDevToken,
  refuseInProduction,
  type DevUser,
} from './dev-users.js'

const backend: ModelBackend = {
  async metadata() {
    return {
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    const rows = inputs[0]!.shape[0]!
    return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: new Float32Array(rows) }]
  },
}

describe('the demo users', () => {
  it('get tokens that the demo policy tells apart', async () => {
    const keys = await generateDevKeys()
    const decisions = new Map<string, AccessDecision | undefined>()
    const record: Plugin = async function record(ctx, next) {
      await next()
      decisions.set(ctx.principal!.id, ctx.decision)
    }
    const gate = createGate({
      models: [
        {
          name: 'credit',
          backend,
          schema: {
            input: 'x',
            features: [
              { name: 'income', type: 'numeric' },
              { name: 'debt_to_income', type: 'numeric' },
              { name: 'name', type: 'passthrough' },
              { name: 'email', type: 'passthrough' },
              { name: 'ssn', type: 'passthrough' },
            ],
          },
        },
      ],
      plugins: [
        authenticate({ jwt: devJwtOptions(keys) }),
        authorize({ policy: devPolicy('credit') }),
        record,
      ],
    })
    await gate.ready()
    const call = async (user: DevUser, url: string, body?: unknown) =>
      (
        await gate.fetch(
          new Request(url, {
            method: body ? 'POST' : 'GET',
            headers: { authorization: `Bearer ${await issueDevToken({ user, keys })}` },
            ...(body ? { body: JSON.stringify(body) } : {}),
          }),
        )
      ).status
    const predict = (user: DevUser) =>
      call(user, 'http://gate/v1/models/credit:predict', {
        instances: [{ income: 1, debt_to_income: 2, name: 'A', email: 'a@x', ssn: '1' }],
      })
    expect(await predict('applicant')).toBe(200)
    expect(await predict('underwriter')).toBe(200)
    expect(await predict('auditor')).toBe(403)
    expect(await predict('admin')).toBe(200)
    expect(await call('applicant', 'http://gate/v2/models/credit')).toBe(403)
    expect(await call('auditor', 'http://gate/v2/models/credit')).toBe(200)
    expect(decisions.get(DEV_USERS.applicant.sub)).toMatchObject({ allow: true, unmask: [] })
    expect(decisions.get(DEV_USERS.underwriter.sub)).toMatchObject({ unmask: ['name', 'email'] })
    expect(decisions.get(DEV_USERS.auditor.sub)).toMatchObject({
      unmask: ['income', 'debt_to_income', 'name', 'email'],
    })
    expect(decisions.get(DEV_USERS.admin.sub)).toMatchObject({ unmask: ['*'] })
  })

  it('never start in production, whatever the case of NODE_ENV', () => {
    for (const value of ['production', 'Production', '  PRODUCTION '])
      expect(() => refuseInProduction('the demo console', { NODE_ENV: value })).toThrow(
        'development only',
      )
    expect(() => refuseInProduction('the demo console', { NODE_ENV: 'test' })).not.toThrow()
  })
})

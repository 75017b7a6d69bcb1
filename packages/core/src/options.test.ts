import { describe, expect, it } from 'vitest'
import { checkOptionKeys } from './options.js'

const shape = {
  key: true,
  policy: { entities: true, fields: true },
  models: { '*': { method: true, background: true } },
  rules: { limit: true },
  labels: { '*': true },
} as const

describe('checkOptionKeys', () => {
  it('accepts known keys at every level, free record keys and arrays of objects', () => {
    expect(() =>
      checkOptionKeys(
        'p',
        {
          key: 'k',
          policy: { entities: {}, fields: {} },
          models: { credit: { method: 'kernel_shap' }, other: {} },
          rules: [{ limit: 1 }, { limit: 2 }],
        },
        shape,
      ),
    ).not.toThrow()
  })

  it('names the path of an unknown key and the nearest valid one', () => {
    expect(() => checkOptionKeys('mask', { polcy: {} }, shape)).toThrow(
      'mask: unknown option "polcy" (did you mean "policy"?)',
    )
    expect(() => checkOptionKeys('mask', { policy: { entites: {} } }, shape)).toThrow(
      'mask: unknown option "policy.entites" (did you mean "policy.entities"?)',
    )
    expect(() => checkOptionKeys('x', { models: { credit: { metod: 1 } } }, shape)).toThrow(
      'x: unknown option "models.credit.metod" (did you mean "models.credit.method"?)',
    )
    expect(() => checkOptionKeys('x', { rules: [{ limit: 1 }, { limt: 2 }] }, shape)).toThrow(
      'x: unknown option "rules[1].limt" (did you mean "rules[1].limit"?)',
    )
  })

  it('gives no hint when nothing is close', () => {
    expect(() => checkOptionKeys('x', { zzzzzzzz: 1 }, shape)).toThrow(
      'x: unknown option "zzzzzzzz"',
    )
    expect(() => checkOptionKeys('x', { zzzzzzzz: 1 }, shape)).not.toThrow(/did you mean/)
  })
})

import { describe, expect, it } from 'vitest'
import { BadRequestError } from './errors.js'
import { FeatureSchema } from './schema.js'

const schema = new FeatureSchema({
  features: [
    { name: 'income', type: 'numeric', min: 0 },
    { name: 'age', type: 'numeric', missing: 40 },
    {
      name: 'purpose',
      type: 'categorical',
      categories: ['car', 'home', 'other'],
      missing: 'other',
    },
    {
      name: 'grade',
      type: 'categorical',
      categories: ['A', 'B'],
      encoding: 'ordinal',
      unknown: 'zeros',
    },
    { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS', valueType: 'string' },
    { name: 'note', type: 'passthrough', text: true },
  ],
})

describe('FeatureSchema', () => {
  it('expands columns and groups', () => {
    expect(schema.columns).toEqual([
      'income',
      'age',
      'purpose=car',
      'purpose=home',
      'purpose=other',
      'grade',
    ])
    expect(schema.groups).toEqual([
      { feature: 'income', start: 0, end: 1 },
      { feature: 'age', start: 1, end: 2 },
      { feature: 'purpose', start: 2, end: 5 },
      { feature: 'grade', start: 5, end: 6 },
    ])
    expect(schema.piiFields()).toEqual([
      { name: 'email', pii: 'EMAIL_ADDRESS', text: false },
      { name: 'note', pii: 'TEXT', text: true },
    ])
  })

  it('encodes records with missing values and unknown ordinal categories', () => {
    const t = schema.encode(
      [
        { income: 50000, age: 31, purpose: 'home', grade: 'B', email: 'a@b.c' },
        { income: 0, age: null, grade: 'Z' },
      ],
      'features',
    )
    expect(t.shape).toEqual([2, 6])
    expect(Array.from(t.data as Float32Array)).toEqual([50000, 31, 0, 1, 0, 1, 0, 40, 0, 0, 1, -1])
  })

  it.each([
    [{ income: -1 }, /instances\[0\]\.income is out of range/],
    [{ income: '5' }, /instances\[0\]\.income must be a number/],
    [{}, /instances\[0\]\.income is required/],
    [{ income: 1, purpose: 'boat' }, /purpose is not one of the known categories/],
    [{ income: 1, email: 5 }, /email must be a string/],
    [{ income: 1, ssn: '078-05-1120' }, /unknown field "ssn"/],
  ])('rejects %j without echoing values', (record, message) => {
    try {
      schema.encode([record], 'features')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(BadRequestError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain('078-05')
      expect((error as Error).message).not.toContain('boat')
    }
  })

  it('ignores unknown fields when told to', () => {
    const lenient = new FeatureSchema({
      features: [{ name: 'x', type: 'numeric' }],
      unknownFields: 'ignore',
    })
    expect(lenient.encode([{ x: 1, extra: true }], 'in').shape).toEqual([1, 1])
  })

  it.each([
    [{ features: [] }, /non-empty array/],
    [
      {
        features: [
          { name: 'a', type: 'numeric' },
          { name: 'a', type: 'numeric' },
        ],
      },
      /duplicate feature "a"/,
    ],
    [{ features: [{ name: 'c', type: 'categorical', categories: [] }] }, /categories must be/],
    [{ features: [{ name: 'c', type: 'weird' }] }, /type must be/],
    [{ features: [{ name: '1bad name', type: 'numeric' }] }, /name must match/],
  ])('rejects bad definitions at construction: %j', (def, message) => {
    expect(() => new FeatureSchema(def as never)).toThrow(message)
  })
})

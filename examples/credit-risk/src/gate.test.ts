import { readFile } from 'node:fs/promises'
import { FeatureSchema } from '@modelgate/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateApplications } from './data.js'
import type { LoanApplication } from './data.js'
import { createCreditGate } from './gate.js'
import { creditSchema, MODEL_INPUT } from './schema.js'
import { SAMPLE_APPLICATION } from './serve.js'
import { auc } from './train.js'

const gate = createCreditGate()

const SAFE: LoanApplication = {
  ...SAMPLE_APPLICATION,
  income: 150_000,
  debt_to_income: 0.08,
  age: 52,
  years_employed: 20,
  credit_history_years: 30,
  delinquencies: 0,
  loan_amount: 12_000,
  purpose: 'home',
}

const RISKY: LoanApplication = {
  ...SAMPLE_APPLICATION,
  income: 21_000,
  debt_to_income: 0.78,
  age: 22,
  years_employed: 0.5,
  credit_history_years: 1,
  delinquencies: 5,
  loan_amount: 30_000,
  purpose: 'business',
}

function post(path: string, body: unknown): Promise<Response> {
  return gate.fetch(
    new Request(`http://gate${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )
}

async function predictV1(instances: unknown[]): Promise<number[]> {
  const res = await post('/v1/models/credit:predict', { instances })
  expect(res.status).toBe(200)
  const body = (await res.json()) as { predictions: Array<{ default_probability: number }> }
  return body.predictions.map((p) => p.default_probability)
}

beforeAll(() => gate.ready())
afterAll(() => gate.close())

describe('the committed credit model behind a real gate', () => {
  it('reports its tensors in the V2 model metadata', async () => {
    const res = await gate.fetch(new Request('http://gate/v2/models/credit'))
    expect(res.status).toBe(200)
    const meta = (await res.json()) as Record<string, unknown>
    expect(meta).toMatchObject({
      name: 'credit',
      versions: ['1'],
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 14] }],
      outputs: [{ name: 'default_probability', datatype: 'FP32', shape: [-1, 1] }],
    })
  })

  it('answers V1 records, personal fields included, with probabilities in [0, 1]', async () => {
    const rows = generateApplications(300, 99)
    const records = rows.map(({ default: _label, ...application }) => application)
    const probabilities = await predictV1(records)
    expect(probabilities).toHaveLength(300)
    for (const p of probabilities) expect(p >= 0 && p <= 1).toBe(true)
    expect(
      auc(
        probabilities,
        rows.map((r) => r.default),
      ),
    ).toBeGreaterThan(0.7)
  })

  it('rates a clearly risky applicant far above a safe one', async () => {
    const [safe, risky] = await predictV1([SAFE, RISKY])
    expect(safe).toBeLessThan(0.1)
    expect(risky).toBeGreaterThan(0.5)
  })

  it('takes raw values: the model standardises them itself', async () => {
    const [richer, poorer] = await predictV1([
      { ...SAMPLE_APPLICATION, income: 240_000 },
      { ...SAMPLE_APPLICATION, income: 24_000 },
    ])
    expect(poorer!).toBeGreaterThan(richer!)
  })

  it('counts omitted optional fields as 0 and personal fields as no input at all', async () => {
    const {
      years_employed: _y,
      credit_history_years: _c,
      delinquencies: _d,
      ...bare
    } = SAMPLE_APPLICATION
    const [withZeros, omitted] = await predictV1([
      { ...SAMPLE_APPLICATION, years_employed: 0, credit_history_years: 0, delinquencies: 0 },
      bare,
    ])
    expect(omitted).toBe(withZeros)
    const {
      name: _n,
      email: _e,
      phone: _p,
      ssn: _s,
      card_number: _k,
      note: _t,
      ...anonymous
    } = SAMPLE_APPLICATION
    const [a, b] = await predictV1([SAMPLE_APPLICATION, anonymous])
    expect(b).toBe(a)
  })

  it('gives the same probability for the same applicant over V2 tensors and V1 records', async () => {
    const applicants = [SAMPLE_APPLICATION, SAFE, RISKY]
    const v1 = await predictV1(applicants)
    const tensor = new FeatureSchema(creditSchema).encode(applicants, MODEL_INPUT)
    const res = await post('/v2/models/credit/infer', {
      id: 'same-applicant',
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: tensor.shape,
          data: Array.from(tensor.data as Float32Array),
        },
      ],
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      id: string
      model_name: string
      outputs: Array<{ name: string; shape: number[]; data: number[] }>
    }
    expect(body.id).toBe('same-applicant')
    expect(body.model_name).toBe('credit')
    expect(body.outputs[0]).toMatchObject({ name: 'default_probability', shape: [3, 1] })
    expect(body.outputs[0]!.data).toEqual(v1)
  })
})

describe('rejected records', () => {
  async function rejection(instance: Record<string, unknown>): Promise<string> {
    const res = await post('/v1/models/credit:predict', { instances: [instance] })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    return res.text()
  }

  it('names an unknown field without echoing its value', async () => {
    const text = await rejection({
      ...SAMPLE_APPLICATION,
      mothers_maiden_name: 'Quetzalcoatl-4471',
    })
    expect(text).toContain('mothers_maiden_name')
    expect(text).not.toContain('Quetzalcoatl')
    expect(text).not.toContain(SAMPLE_APPLICATION.ssn)
  })

  it('names an out-of-range field without echoing its value', async () => {
    for (const [field, value] of [
      ['age', 137],
      ['income', -52_713],
      ['debt_to_income', 9.8765],
    ] as const) {
      const text = await rejection({ ...SAMPLE_APPLICATION, [field]: value })
      expect(text).toContain(field)
      expect(text).not.toContain(String(Math.abs(value)))
      expect(text).not.toContain(SAMPLE_APPLICATION.email)
    }
  })

  it('names an unknown purpose and a mistyped personal field without echoing them', async () => {
    const purpose = await rejection({ ...SAMPLE_APPLICATION, purpose: 'yacht-4471' })
    expect(purpose).toContain('purpose')
    expect(purpose).not.toContain('yacht')
    const ssn = await rejection({ ...SAMPLE_APPLICATION, ssn: 512348821 })
    expect(ssn).toContain('ssn')
    expect(ssn).not.toContain('512348821')
  })

  it('requires the model features that have no default', async () => {
    const { income: _i, ...noIncome } = SAMPLE_APPLICATION
    expect(await rejection(noIncome)).toContain('income')
  })
})

describe('gate.json', () => {
  it('serves the committed model with the same schema as src/schema.ts', async () => {
    const config = JSON.parse(await readFile(new URL('../gate.json', import.meta.url), 'utf8'))
    expect(config.models).toHaveLength(1)
    expect(config.models[0]).toMatchObject({
      name: 'credit',
      backend: { type: 'tfjs', path: 'model/model.json' },
    })
    expect(config.models[0].schema).toEqual(JSON.parse(JSON.stringify(creditSchema)))
  })
})

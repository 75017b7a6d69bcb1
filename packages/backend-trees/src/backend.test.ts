import { readFileSync } from 'node:fs'
import { createGate } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { createTreesBackend, parseTreeModel, predictMargin, transformMargin } from './index.js'

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url)
const cases = (name: string) =>
  JSON.parse(readFileSync(fixture(`${name}.cases.json`), 'utf8')) as {
    rows: Array<Array<number | null>>
    margin: Array<number | number[]>
    prediction: Array<number | number[]>
  }
const doc = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8')) as unknown
const flat = (rows: Array<Array<number | null>>) =>
  Float64Array.from(rows.flat(), (v) => (v === null ? NaN : v))

describe.each(['xgb-binary', 'xgb-regression', 'xgb-multiclass', 'xgb-missing', 'lgb-binary'])(
  '%s',
  (name) => {
    it('matches the reference margins and predictions', async () => {
      const ensemble = parseTreeModel(doc(`${name}.json`))
      const c = cases(name)
      const margin = predictMargin(ensemble, flat(c.rows), c.rows.length)
      const prediction = transformMargin(ensemble, Float64Array.from(margin))
      expect(margin.length).toBe(c.rows.length * ensemble.numOutputs)
      const wantMargin = c.margin.flat()
      const wantPrediction = c.prediction.flat()
      for (let i = 0; i < margin.length; i++) {
        expect(margin[i]).toBeCloseTo(wantMargin[i]!, 5)
        expect(prediction[i]).toBeCloseTo(wantPrediction[i]!, 5)
      }
    })
  },
)

describe('createTreesBackend', () => {
  it('serves an XGBoost model through the gate (OIP infer)', async () => {
    const c = cases('xgb-multiclass')
    const gate = createGate({
      models: [
        {
          name: 'iris',
          backend: createTreesBackend({ model: doc('xgb-multiclass.json') }),
        },
      ],
    })
    await gate.ready()
    const res = await gate.fetch(
      new Request('http://gate/v2/models/iris/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 5], data: c.rows.slice(0, 2) }],
          outputs: [{ name: 'prediction' }],
        }),
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      outputs: Array<{ name: string; shape: number[]; data: number[] }>
    }
    expect(body.outputs.map((o) => o.name)).toEqual(['prediction'])
    expect(body.outputs[0]!.shape).toEqual([2, 3])
    const want = c.prediction.slice(0, 2).flat() as number[]
    body.outputs[0]!.data.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5))
  })

  it('maps a sentinel value to missing', async () => {
    const c = cases('xgb-missing')
    const row = c.rows.find((r) => r.includes(null))!
    const index = c.rows.indexOf(row)
    const backend = createTreesBackend({
      model: doc('xgb-missing.json'),
      missing: -999,
    })
    await backend.load()
    const [margin] = await backend.infer(
      [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [1, 6],
          data: Float32Array.from(row, (v) => (v === null ? -999 : v)),
        },
      ],
      { outputs: ['margin'] },
    )
    expect(margin!.data[0]).toBeCloseTo(c.margin[index] as number, 5)
  })

  it('rejects bad options and wrong shapes', async () => {
    expect(() => createTreesBackend({} as never)).toThrow(/"model" is required/)
    expect(() => createTreesBackend({ model: {}, inputNmae: 'x' } as never)).toThrow(
      'createTreesBackend: unknown option "inputNmae" (did you mean "inputName"?)',
    )
    expect(() => createTreesBackend({ path: 'model.json' } as never)).toThrow(/unknown option "path"/)
    expect(() => parseTreeModel({ nope: 1 })).toThrow(/not an XGBoost/)
    expect(() => parseTreeModel({ learner: {} })).toThrow(/learner_model_param/)
    const gate = createGate({
      models: [
        { name: 'm', backend: createTreesBackend({ model: doc('lgb-binary.json') }) },
      ],
    })
    await gate.ready()
    const res = await gate.fetch(
      new Request('http://gate/v2/models/m/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
        }),
      }),
    )
    expect(res.status).toBe(400)
  })
})

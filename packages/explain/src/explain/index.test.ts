import { readFileSync } from 'node:fs'
import { createTreesBackend } from '@modelgate/backend-trees'
import { createGate, type GateFacts, type ModelBackend, type Plugin } from '@modelgate/core'
import { createTfjsBackend } from '@modelgate/backend-tfjs'
import { DOMParser } from '@xmldom/xmldom'
import { describe, expect, it } from 'vitest'
import { mask } from '@modelgate/mask'
import { explain } from './index.js'
import type { WireExplanation } from '../types.js'

const fixture = (name: string) =>
  new URL(`../../../backend-trees/fixtures/${name}`, import.meta.url).pathname
const binary = JSON.parse(readFileSync(fixture('xgb-binary.cases.json'), 'utf8')) as {
  rows: number[][]
  contribs: number[][]
}
/** Parses an SVG document strictly: well-formed XML whose root is `svg` in the SVG namespace. */
function expectSvg(svg: string): void {
  const errors: string[] = []
  const doc = new DOMParser({
    onError: (level, message) => errors.push(`${level}: ${message}`),
  }).parseFromString(svg, 'image/svg+xml')
  expect(errors).toEqual([])
  expect(doc.documentElement?.localName).toBe('svg')
  expect(doc.documentElement?.namespaceURI).toBe('http://www.w3.org/2000/svg')
}

const post = (path: string, body: unknown) =>
  new Request(`http://gate${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** A float64 credit model: logistic over income, debt and a one-hot purpose. */
const creditBackend: ModelBackend = {
  async metadata() {
    return {
      platform: 'js',
      inputs: [{ name: 'features', datatype: 'FP64', shape: [-1, 5] }],
      outputs: [{ name: 'probability', datatype: 'FP64', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    const x = inputs[0]!.data as Float64Array
    const n = x.length / 5
    const y = Float64Array.from({ length: n }, (_, r) => {
      const [income, debt, car, home, edu] = Array.from(x.subarray(r * 5, r * 5 + 5))
      return (
        1 /
        (1 +
          Math.exp(
            -(
              0.00003 * income! -
              0.4 * debt! +
              0.5 * car! -
              0.3 * home! +
              0.2 * edu! +
              0.1 * debt! * car!
            ),
          ))
      )
    })
    return [{ name: 'probability', datatype: 'FP64', shape: [n, 1], data: y }]
  },
}
const schema = {
  input: 'features',
  datatype: 'FP64' as const,
  features: [
    { name: 'income', type: 'numeric' as const },
    { name: 'debt', type: 'numeric' as const },
    { name: 'purpose', type: 'categorical' as const, categories: ['car', 'home', 'education'] },
    { name: 'email', type: 'passthrough' as const, pii: 'EMAIL_ADDRESS' },
  ],
}
const background = {
  data: [
    [30000, 1, 1, 0, 0],
    [60000, 3, 0, 1, 0],
    [45000, 0, 0, 0, 1],
  ],
}

describe('explain plugin', () => {
  it('V2 tree_shap on an XGBoost model equals pred_contribs and lists the extension', async () => {
    const gate = createGate({
      models: [
        {
          name: 'xgb',
          backend: createTreesBackend({
            model: JSON.parse(readFileSync(fixture('xgb-binary.json'), 'utf8')),
          }),
        },
      ],
      plugins: [explain()],
    })
    await gate.ready()
    const meta = (await (await gate.fetch(new Request('http://gate/v2'))).json()) as {
      extensions: string[]
    }
    expect(meta.extensions).toContain('explain')
    const res = await gate.fetch(
      post('/v2/models/xgb/explain', {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 6], data: binary.rows.slice(0, 2) }],
        parameters: { explainer: 'tree_shap', plot: 'waterfall' },
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as { outputs: unknown[]; explanations: WireExplanation[] }
    expect(body.outputs).toHaveLength(2)
    const [e] = body.explanations
    expect(e!.output).toBe('margin')
    expect(e!.method).toBe('tree_shap')
    expect(e!.additivity.ok).toBe(true)
    e!.values.forEach((row, r) =>
      row.forEach((v, j) => expect(Math.abs(v - binary.contribs[r]![j]!)).toBeLessThan(1e-5)),
    )
    expect(e!.plots![0]!.svg).toContain('<title id="t">waterfall plot of margin, row 0</title>')
    for (const p of e!.plots!) expectSvg(p.svg)
  })

  it('V1 kernel_shap by feature name with one-hot groups, error estimates, cache and masking outside', async () => {
    const masking: Plugin = async function masking(ctx, next) {
      await next()
      for (const e of ctx.explanation!.explanations) {
        const i = e.feature_names.indexOf('income')
        e.data.forEach((row) => (row[i] = '***'))
      }
    }
    const gate = createGate({
      models: [{ name: 'credit', version: '3', backend: creditBackend, schema }],
      plugins: [
        masking,
        explain({
          models: { credit: { background, method: 'kernel_shap', link: 'logit' } },
        }),
      ],
    })
    await gate.ready()
    const body = {
      instances: [
        { income: 52000, debt: 2, purpose: 'car', email: 'a@b.c' },
        { income: 20000, debt: 5, purpose: 'home' },
      ],
      parameters: { nsamples: 14, seed: 1, plot: 'bar' },
    }
    const res = await gate.fetch(post('/v1/models/credit:explain', body))
    expect(res.status).toBe(200)
    const json = (await res.json()) as { predictions: number[]; explanations: WireExplanation[] }
    expect(json.predictions).toHaveLength(2)
    const [e] = json.explanations
    expect(e!.feature_names).toEqual(['income', 'debt', 'purpose'])
    expect(e!.data[0]).toEqual(['***', 2, 'car'])
    expectSvg(e!.plots![0]!.svg)
    expect(e!.plots![0]!.svg).toContain('income = ***')
    expect(e!.plots![0]!.svg).not.toContain('52000')
    expect(Object.keys(e!.attributions![0]!)).toEqual(['income', 'debt', 'purpose'])
    expect(e!.standard_errors).toHaveLength(2)
    expect(e!.additivity.ok).toBe(true)
    const logit = (p: number) => Math.log(p / (1 - p))
    const sum = e!.values[0]!.reduce((a, b) => a + b, 0) + e!.base_value
    expect(sum).toBeCloseTo(logit(json.predictions[0]!), 9)
    const again = await gate.fetch(post('/v1/models/credit:explain', body))
    expect(
      ((await again.json()) as { explanations: WireExplanation[] }).explanations[0]!.values,
    ).toEqual(e!.values)
  })

  it('answers bad requests with 400 and rejects bad options', async () => {
    expect(() => explain({ models: { m: { method: 'magic' as never } } })).toThrow(
      'explain: models.m.method must be one of exact_shap, kernel_shap, permutation_shap, tree_shap, integrated_gradients',
    )
    expect(() => explain({ pool: {} as never })).toThrow(/"pool" must have run\(\) and close\(\)/)
    const gate = createGate({
      models: [{ name: 'credit', backend: creditBackend, schema }],
      plugins: [explain()],
    })
    await gate.ready()
    const inst = { instances: [{ income: 1, debt: 1, purpose: 'car' }] }
    const cases: Array<[string, string, RegExp]> = [
      [
        'magic',
        'unknown_explainer',
        /^unknown explainer "magic"; the explainers are exact_shap, kernel_shap, permutation_shap, tree_shap, integrated_gradients$/,
      ],
      ['kernel_shap', 'bad_request', /kernel_shap needs "background" data/],
      ['tree_shap', 'explainer_unsupported', /tree_shap needs a tree model .*"credit" is not one/],
      [
        'integrated_gradients',
        'explainer_unsupported',
        /^integrated_gradients needs a differentiable backend \(TF\.js, @modelgate\/backend-tfjs\); model "credit"/,
      ],
    ]
    for (const [explainer, code, message] of cases) {
      const res = await gate.fetch(
        post('/v1/models/credit:explain', { ...inst, parameters: { explainer } }),
      )
      expect(res.status, explainer).toBe(400)
      const body = (await res.json()) as { error: string; code: string }
      expect(body.code, explainer).toBe(code)
      expect(body.error, explainer).toMatch(message)
    }
    const badPlot = await gate.fetch(
      post('/v1/models/credit:explain', { ...inst, parameters: { plot: 'pie' } }),
    )
    expect(badPlot.status).toBe(400)
    expect(((await badPlot.json()) as { error: string }).error).toBe(
      'plot must be one of waterfall, bar, force',
    )
    const plain = createGate({ models: [{ name: 'credit', backend: creditBackend, schema }] })
    await plain.ready()
    const disabled = await plain.fetch(post('/v1/models/credit:explain', inst))
    expect(disabled.status).toBe(404)
    expect(((await disabled.json()) as { code: string }).code).toBe('extension_disabled')
  })

  it('refuses unknown option keys, naming the path and the nearest valid key', () => {
    expect(() => explain(JSON.parse('{"defualts": {"method": "exact_shap"}}'))).toThrow(
      'explain: unknown option "defualts" (did you mean "defaults"?)',
    )
    expect(() => explain({ models: { credit: { methd: 'exact_shap' } } } as never)).toThrow(
      'explain: unknown option "models.credit.methd" (did you mean "models.credit.method"?)',
    )
    expect(() =>
      explain({ defaults: { background: { data: [[1]], wieghts: [1] } } } as never),
    ).toThrow(
      'explain: unknown option "defaults.background.wieghts" (did you mean "defaults.background.weights"?)',
    )
    expect(() => explain({ workers: 2 } as never)).toThrow('explain: unknown option "workers"')
  })

  it(':explain and :predict name their outputs alike (schema outputNames), V2 explain and infer alike', async () => {
    const named = { ...schema, outputNames: { probability: ['default_probability'] } }
    const gate = createGate({
      models: [{ name: 'credit', backend: creditBackend, schema: named }],
      plugins: [explain({ models: { credit: { background, method: 'exact_shap' } } })],
    })
    await gate.ready()
    const body = { instances: [{ income: 52000, debt: 2, purpose: 'car' }] }
    const predicted = (await (
      await gate.fetch(post('/v1/models/credit:predict', body))
    ).json()) as {
      predictions: Array<Record<string, number>>
    }
    const explained = (await (
      await gate.fetch(post('/v1/models/credit:explain', body))
    ).json()) as {
      predictions: Array<Record<string, number>>
      explanations: WireExplanation[]
    }
    expect(Object.keys(predicted.predictions[0]!)).toEqual(['default_probability'])
    expect(explained.predictions).toEqual(predicted.predictions)
    const e = explained.explanations[0]!
    const sum = e.values[0]!.reduce((a, b) => a + b, e.base_value)
    expect(Math.abs(sum - predicted.predictions[0]!.default_probability!)).toBeLessThan(1e-4)
    const v2 = {
      inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 5], data: [52000, 2, 1, 0, 0] }],
    }
    const infer = (await (await gate.fetch(post('/v2/models/credit/infer', v2))).json()) as {
      outputs: unknown[]
    }
    const v2explained = (await (
      await gate.fetch(post('/v2/models/credit/explain', v2))
    ).json()) as {
      outputs: unknown[]
      explanations: WireExplanation[]
    }
    expect(v2explained.outputs).toEqual(infer.outputs)
    expect(v2explained.explanations[0]!.feature_names).toEqual(['income', 'debt', 'purpose'])
  })

  it('records the method, rows and cache use as facts, and keys the cache by tenant and unmask grants', async () => {
    const seen: GateFacts[] = []
    let who: { tenant?: string; id: string; unmask: string[] } = { id: 'u1', unmask: [] }
    const identify: Plugin = async function identify(ctx, next) {
      ctx.principal = {
        id: who.id,
        kind: 'test',
        roles: [],
        scopes: [],
        ...(who.tenant !== undefined ? { tenant: who.tenant } : {}),
      }
      ctx.decision = { allow: true, reasons: [], unmask: who.unmask }
      await next()
      seen.push({ ...ctx.facts })
    }
    const gate = createGate({
      models: [{ name: 'credit', backend: creditBackend, schema }],
      plugins: [identify, explain({ models: { credit: { background, method: 'exact_shap' } } })],
    })
    await gate.ready()
    const body = {
      instances: [
        { income: 52000, debt: 2, purpose: 'car' },
        { income: 1, debt: 0, purpose: 'home' },
      ],
    }
    const ask = async (principal: typeof who) => {
      who = principal
      const res = await gate.fetch(post('/v1/models/credit:explain', body))
      expect(res.status).toBe(200)
      return seen.at(-1)!.explanation
    }
    expect(await ask({ tenant: 'acme', id: 'u1', unmask: [] })).toEqual({
      method: 'exact_shap',
      rows: 2,
      cached: false,
    })
    expect((await ask({ tenant: 'acme', id: 'u2', unmask: [] }))!.cached).toBe(true)
    expect((await ask({ tenant: 'globex', id: 'u1', unmask: [] }))!.cached).toBe(false)
    expect((await ask({ tenant: 'acme', id: 'u1', unmask: ['income'] }))!.cached).toBe(false)
    expect((await ask({ id: 'solo', unmask: [] }))!.cached).toBe(false)
    expect((await ask({ id: 'other', unmask: [] }))!.cached).toBe(false)
    expect((await ask({ id: 'solo', unmask: [] }))!.cached).toBe(true)
    const predict = await gate.fetch(post('/v1/models/credit:predict', body))
    expect(predict.status).toBe(200)
    expect(seen.at(-1)!.explanation).toBeUndefined()
  })

  it('refuses parameters that would buy unbounded work, before calling the model', async () => {
    let calls = 0
    const counting: ModelBackend = {
      ...creditBackend,
      infer: (inputs, options) => {
        calls++
        return creditBackend.infer(inputs, options)
      },
      // Declares gradients so integrated_gradients passes the backend check; the budget check
      // refuses before any gradient is asked for.
      gradients: async () => {
        throw new Error('the budget check must refuse first')
      },
    }
    const gate = createGate({
      models: [{ name: 'credit', backend: counting, schema }],
      plugins: [explain({ models: { credit: { background } }, maxEvaluations: 100_000 })],
    })
    await gate.ready()
    const inst = { instances: [{ income: 1, debt: 1, purpose: 'car' }] }
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ explainer: 'integrated_gradients', steps: 1e9 }, /"steps" must be an integer/],
      [{ explainer: 'permutation_shap', npermutations: 1e9 }, /"npermutations" must be/],
      [{ explainer: 'kernel_shap', nsamples: 1e12 }, /"nsamples" must be/],
      [{ explainer: 'kernel_shap', nsamples: 1e6 }, /needs about 3000000 model evaluations/],
      [
        {
          explainer: 'integrated_gradients',
          baseline: Array.from({ length: 65 }, () => [0, 0, 0, 0, 0]),
        },
        /at most 64 baseline rows/,
      ],
    ]
    for (const [parameters, message] of cases) {
      calls = 0
      const res = await gate.fetch(post('/v1/models/credit:explain', { ...inst, parameters }))
      expect(res.status, JSON.stringify(parameters).slice(0, 80)).toBe(400)
      expect(((await res.json()) as { error: string }).error).toMatch(message)
      expect(calls).toBeLessThanOrEqual(1)
    }
    expect(() => explain({ maxEvaluations: 0 })).toThrow(TypeError)
  })

  it('renders plots from the explanation a masking plugin outside left, so masked values never reach the SVG', async () => {
    const canary = 987654.25
    const gate = createGate({
      models: [{ name: 'credit', backend: creditBackend, schema }],
      plugins: [
        mask({
          key: new Uint8Array(32).fill(7),
          policy: { fields: { income: { op: 'replace' } } },
          scope: { request: false },
        }),
        explain({ models: { credit: { background, method: 'exact_shap' } }, cache: false }),
      ],
    })
    await gate.ready()
    for (const plot of ['waterfall', 'bar', 'force']) {
      const res = await gate.fetch(
        post('/v1/models/credit:explain', {
          instances: [{ income: canary, debt: 2, purpose: 'car' }],
          parameters: { plot },
        }),
      )
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).not.toContain('987654')
      const e = (JSON.parse(text) as { explanations: WireExplanation[] }).explanations[0]!
      expect(e.data[0]![0]).toBe(0)
      expectSvg(e.plots![0]!.svg)
      expect(e.plots![0]!.svg).toContain('income = 0')
      expect(e.plots![0]!.svg).toContain('debt = 2')
    }
  })

  it('integrated_gradients through the gate on the TF.js credit model meets completeness within 1%', async () => {
    const model = new URL('../../../../examples/credit-risk/model/model.json', import.meta.url)
      .pathname
    const backend = createTfjsBackend({
      path: model,
      inputNames: ['features'],
      outputNames: ['default_probability'],
    })
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [explain({ cache: false })],
    })
    await gate.ready()
    const rows = [
      [52000, 0.3, 41, 6, 12, 0, 15000, 1, 0, 0, 0, 0, 0, 0],
      [23000, 1.4, 24, 1, 2, 3, 30000, 0, 0, 0, 0, 0, 1, 0],
    ]
    const res = await gate.fetch(
      post('/v2/models/credit/explain', {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 14], data: rows.flat() }],
        parameters: { explainer: 'integrated_gradients', baseline: 'zeros' },
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      outputs: Array<{ data: number[] }>
      explanations: WireExplanation[]
    }
    const e = body.explanations[0]!
    expect(e.method).toBe('integrated_gradients')
    expect(e.completeness_error!).toBeLessThanOrEqual(0.01)
    e.values.forEach((row, r) => {
      const fx = body.outputs[0]!.data[r]!
      const sum = row.reduce((a, b) => a + b, 0) + e.base_values[r]!
      expect(Math.abs(sum - fx)).toBeLessThanOrEqual(0.01 * Math.abs(fx - e.base_values[r]!))
      expect(row.some((v) => v !== 0)).toBe(true)
    })
  })
})

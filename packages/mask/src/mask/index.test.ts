import {
  BadRequestError,
  createGate,
  type FeatureSchemaDefinition,
  type GateFacts,
  type ModelBackend,
  type OutputExplanation,
  type Plugin,
  type Tensor,
} from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { mask } from './index.js'

const key = crypto.getRandomValues(new Uint8Array(32))

/** A model that returns its `BYTES` inputs under the same names. */
function echoBackend(seen: Tensor[][], names = ['text']): ModelBackend {
  return {
    async metadata() {
      const io = names.map((name) => ({ name, datatype: 'BYTES' as const, shape: [-1] }))
      return { platform: 'echo', inputs: io, outputs: io }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      seen.push(inputs)
      if (inputs.some((t) => (t.data as string[]).some((s) => s.includes('explode'))))
        throw new Error(`backend failed on ${inputs[0]!.data[0]}`)
      return inputs
    },
  }
}

const WEIGHTS = [0.000004, 0.003, 0.05, -0.05]
const BIAS = 0.1

/** A linear model over the schema's four columns: score = 0.1 + w·x. */
function linearBackend(seen: Tensor[][]): ModelBackend {
  return {
    async metadata() {
      return {
        platform: 'test',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      seen.push(inputs)
      const x = inputs[0]!.data as Float32Array
      const rows = inputs[0]!.shape[0]!
      const y = new Float32Array(rows)
      for (let r = 0; r < rows; r++)
        y[r] = BIAS + WEIGHTS.reduce((s, w, i) => s + w * x[r * 4 + i]!, 0)
      return [{ name: 'score', datatype: 'FP32', shape: [rows, 1], data: y }]
    },
  }
}

const schema: FeatureSchemaDefinition = {
  features: [
    { name: 'income', type: 'numeric' },
    { name: 'age', type: 'numeric' },
    { name: 'purpose', type: 'categorical', categories: ['car', 'home'] },
    { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' },
    { name: 'notes', type: 'passthrough', text: true },
  ],
  outputNames: { score: ['default_probability'] },
}

/**
 * Exact attributions of the linear model against a zero baseline, as an explain plugin would
 * produce them: `data` holds the explained record values by feature name.
 */
const linearExplainer: Plugin = async function linearExplainer(ctx, next) {
  ctx.provideExplainer(async (ctx, request) => {
    const outputs = await ctx.runModel(request.inputs)
    const x = request.inputs[0]!.data as Float32Array
    const rows = request.inputs[0]!.shape[0]!
    const records = (await ctx.records()) as Array<Record<string, unknown>>
    const names = ['income', 'age', 'purpose']
    const values = Array.from({ length: rows }, (_, r) => [
      WEIGHTS[0]! * x[r * 4]!,
      WEIGHTS[1]! * x[r * 4 + 1]!,
      WEIGHTS[2]! * x[r * 4 + 2]! + WEIGHTS[3]! * x[r * 4 + 3]!,
    ])
    const explanation: OutputExplanation = {
      output: 'score',
      method: 'exact',
      link: 'identity',
      base_value: BIAS,
      base_values: values.map(() => BIAS),
      values,
      feature_names: names,
      data: records.map((rec) => names.map((n) => rec[n] ?? null)),
      additivity: { ok: true, max_relative_error: 0, tolerance: 1e-6 },
    }
    return {
      outputs,
      explanation: {
        model: 'credit',
        method: 'exact',
        cached: false,
        explanations: [explanation],
        plot: {
          kind: 'table',
          render: (e, row) =>
            `<svg xmlns="http://www.w3.org/2000/svg"><text>${e.data[row]!.join(' ')}</text></svg>`,
        },
      },
    }
  })
  await next()
}

/** A gate whose models are loaded. */
async function ready(options: Parameters<typeof createGate>[0]) {
  const gate = createGate(options)
  await gate.ready()
  return gate
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`http://gate${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

const grant = (unmask: string[]): Plugin =>
  async function grant(ctx, next) {
    ctx.decision = { allow: true, reasons: ['test'], unmask }
    await next()
  }

const capture = (into: unknown[]): Plugin =>
  async function capture(ctx, next) {
    into.push(structuredClone(await ctx.json()))
    await next()
  }

const recordFacts = (into: GateFacts[]): Plugin => {
  const observer: Plugin = async function facts(_ctx, next) {
    await next()
  }
  observer.onResponse = (ctx) => void into.push(structuredClone(ctx.facts))
  return observer
}

describe('mask plugin: requests', () => {
  it('masks V1 records by schema before anything downstream and counts entities in the facts', async () => {
    const seen: Tensor[][] = []
    const inner: unknown[] = []
    const facts: GateFacts[] = []
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend(seen), schema }],
      plugins: [
        recordFacts(facts),
        mask({
          key,
          policy: { entities: { EMAIL_ADDRESS: { op: 'pseudonymize' }, '*': { op: 'replace' } } },
        }),
        capture(inner),
      ],
    })
    const res = await gate.fetch(
      post('/v1/models/credit:predict', {
        instances: [
          {
            income: 52000,
            age: 41,
            purpose: 'home',
            email: 'ana@example.org',
            notes: 'call +1 212 736 5000, SSN 536-22-1234',
          },
          { income: 41000, age: 30, purpose: 'car', email: 'bo@example.org', notes: 'nothing' },
        ],
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as { predictions: Array<{ default_probability: number }> }
    expect(body.predictions[0]!.default_probability).toBeCloseTo(BIAS + 0.208 + 0.123 - 0.05, 4)
    const masked = inner[0] as { instances: Array<Record<string, unknown>> }
    expect(masked.instances[0]!.email).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    expect(masked.instances[0]!.notes).toBe('call <PHONE_NUMBER>, SSN <US_SSN>')
    expect(masked.instances[0]!.purpose).toBe('home')
    expect(masked.instances[1]!.income).toBe(41000)
    expect(Array.from(seen[0]![0]!.data as Float32Array)).toEqual([
      52000, 41, 0, 1, 41000, 30, 1, 0,
    ])
    expect(facts[0]!.masking).toEqual({ EMAIL_ADDRESS: 2, PHONE_NUMBER: 1, US_SSN: 1 })
  })

  it('masks V2 numeric columns of the schema input by their feature rule, like V1 fields', async () => {
    const seen: Tensor[][] = []
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend(seen), schema }],
      plugins: [mask({ policy: { fields: { age: { op: 'generalize', size: 10 } } } })],
    })
    const v2 = await gate.fetch(
      post('/v2/models/credit/infer', {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [52000, 37, 1, 0] }],
      }),
    )
    expect(v2.status).toBe(200)
    const v1 = await gate.fetch(
      post('/v1/models/credit:predict', {
        instances: [{ income: 52000, age: 37, purpose: 'car', email: 'a@b.org', notes: '' }],
      }),
    )
    expect(v1.status).toBe(200)
    expect(Array.from(seen[0]![0]!.data as Float32Array)).toEqual([52000, 30, 1, 0])
    expect(Array.from(seen[1]![0]!.data as Float32Array)).toEqual([52000, 30, 1, 0])
  })

  it('masks a contributed route by its declared body shape, on the way in and out, and nothing else', async () => {
    const seen: unknown[] = []
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><a href="https://example.org/x"/></svg>'
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend([]), schema }],
      routes: [
        {
          name: 'cases',
          methods: ['POST'],
          path: '/cases',
          operation: 'custom',
          body: {
            records: 'applicants[]',
            schema,
            paths: { 'meta.owner': 'PERSON', 'comments[]': 'text' },
          },
          async terminal(ctx) {
            const body = (await ctx.json()) as Record<string, unknown>
            seen.push(body)
            ctx.body = {
              ...body,
              applicants: [
                ...(body.applicants as unknown[]),
                { email: 'cleo@example.org', age: 52, 'ana@example.org': 1 },
              ],
              svg,
            }
          },
        },
      ],
      plugins: [mask({ policy: { entities: { '*': { op: 'replace' } } } })],
    })
    const res = await gate.fetch(
      post('/cases', {
        meta: { owner: 'Ana Lopez', count: 2 },
        applicants: [
          { email: 'ana@example.org', age: 41, purpose: 'car', notes: 'mail bo@example.org' },
        ],
        comments: ['call +1 212 736 5000', 7],
        contact: 'dan@example.org',
      }),
    )
    expect(res.status).toBe(200)
    const inner = seen[0] as Record<string, unknown>
    expect(inner).toEqual({
      meta: { owner: '<PERSON>', count: 2 },
      applicants: [
        { email: '<EMAIL_ADDRESS>', age: 41, purpose: 'car', notes: 'mail <EMAIL_ADDRESS>' },
      ],
      comments: ['call <PHONE_NUMBER>', 7],
      // Not declared, and the shape does not ask to scan every string: left alone.
      contact: 'dan@example.org',
    })
    const out = (await res.json()) as Record<string, unknown>
    expect(out.applicants).toEqual([
      { email: '<EMAIL_ADDRESS>', age: 41, purpose: 'car', notes: 'mail <EMAIL_ADDRESS>' },
      // Keys are never rewritten, numbers without a rule never touched.
      { email: '<EMAIL_ADDRESS>', age: 52, 'ana@example.org': 1 },
    ])
    expect(out.svg).toBe(svg)
    // A declared body is JSON; text/plain would reach a protect() handler as the bytes sent.
    const plain = await gate.fetch(
      new Request('http://gate/cases', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ contact: 'dan@example.org' }),
      }),
    )
    expect(plain.status).toBe(415)
  })

  it('reads a route schema named by model, and refuses a name no model serves', async () => {
    const route = (name: string, schema: string) => ({
      name,
      methods: ['POST'],
      path: `/${name}`,
      operation: 'custom' as const,
      body: { records: 'people[]', schema },
      async terminal(ctx: { json(): Promise<unknown>; body: unknown }) {
        ctx.body = await ctx.json()
      },
    })
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend([]), schema }],
      routes: [route('named', 'credit'), route('unknown', 'nope')],
      plugins: [mask()],
    })
    const people = { people: [{ email: 'ana@example.org', purpose: 'home', age: 41 }] }
    const res = await gate.fetch(post('/named', people))
    expect(await res.json()).toEqual({
      people: [{ email: '<EMAIL_ADDRESS>', purpose: 'home', age: 41 }],
    })
    const bad = await gate.fetch(post('/unknown', people))
    expect(bad.status).toBe(500)
    expect(await bad.json()).toMatchObject({ code: 'mask_schema_unknown' })
  })
})

describe('mask plugin: answers', () => {
  it('noises outputs by outputNames column, clamped to the declared range', async () => {
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend([]), schema }],
      plugins: [
        mask({
          policy: {
            outputs: {
              default_probability: {
                op: 'noise',
                epsilon: 0.05,
                sensitivity: 1,
                range: 'probability',
              },
            },
          },
        }),
      ],
    })
    const instances = Array.from({ length: 200 }, (_, i) => ({
      income: 1000 * i,
      age: 30,
      purpose: 'car',
      email: 'a@b.org',
      notes: '',
    }))
    const res = await gate.fetch(post('/v1/models/credit:predict', { instances }))
    const { predictions } = (await res.json()) as {
      predictions: Array<{ default_probability: number }>
    }
    const p = predictions.map((x) => x.default_probability)
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true)
    // Laplace noise of scale 20: nearly every value is pushed to a bound of the range.
    expect(p.filter((v) => v === 0 || v === 1).length).toBeGreaterThan(150)
  })

  it('refuses explanations of noised outputs, and explains the others with keys and additivity intact', async () => {
    const seen: Tensor[][] = []
    const noised = await ready({
      models: [{ name: 'credit', backend: linearBackend(seen), schema }],
      plugins: [
        mask({ policy: { outputs: { score: { op: 'noise', epsilon: 1, sensitivity: 0.01 } } } }),
        linearExplainer,
      ],
    })
    const record = { income: 52000, age: 41, purpose: 'home', email: 'ana@example.org', notes: '' }
    for (const path of ['/v1/models/credit:explain', '/v2/models/credit/explain']) {
      const body = path.startsWith('/v1')
        ? { instances: [record] }
        : {
            inputs: [
              { name: 'features', datatype: 'FP32', shape: [1, 4], data: [52000, 41, 0, 1] },
            ],
          }
      const res = await noised.fetch(post(path, body))
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'explanation_refused' })
    }
    // Every output is noised: refused before the model runs.
    expect(seen).toHaveLength(0)

    const plain = await ready({
      models: [{ name: 'credit', backend: linearBackend([]), schema }],
      plugins: [
        mask({ policy: { fields: { age: { op: 'generalize', size: 10 } } } }),
        linearExplainer,
      ],
    })
    const res = await plain.fetch(post('/v1/models/credit:explain', { instances: [record] }))
    expect(res.status).toBe(200)
    const out = (await res.json()) as {
      predictions: Array<{ default_probability: number }>
      explanations: Array<
        OutputExplanation & {
          attributions: Array<Record<string, number>>
          plots: Array<{ svg: string }>
        }
      >
    }
    const e = out.explanations[0]!
    expect(Object.keys(e.attributions[0]!)).toEqual(['income', 'age', 'purpose'])
    expect(e.feature_names).toEqual(['income', 'age', 'purpose'])
    const sum = e.base_value + e.values[0]!.reduce((a, b) => a + b, 0)
    expect(Math.abs(sum - out.predictions[0]!.default_probability)).toBeLessThan(1e-4)
    // The model saw age 40 (masked on the way in); data shows that, not a twice-masked 40.
    expect(e.data[0]).toEqual([52000, 40, 'home'])
    expect(e.plots[0]!.svg).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"><text>52000 40 home</text></svg>',
    )
  })

  it('masks explanation data by feature name when the request was not masked', async () => {
    const gate = await ready({
      models: [{ name: 'credit', backend: linearBackend([]), schema }],
      plugins: [
        mask({
          scope: { request: false },
          policy: { fields: { age: { op: 'generalize', size: 10 }, purpose: { op: 'replace' } } },
        }),
        linearExplainer,
      ],
    })
    const res = await gate.fetch(
      post('/v1/models/credit:explain', {
        instances: [{ income: 52000, age: 47, purpose: 'home', email: 'a@b.org', notes: '' }],
      }),
    )
    const got = (await res.json()) as { explanations: OutputExplanation[] }
    expect(res.status, JSON.stringify(got)).toBe(200)
    const e = got.explanations[0]!
    expect(e.data[0]).toEqual([52000, 40, '<FIELD>'])
    expect(e.values[0]![1]).toBeCloseTo(0.003 * 47, 6)
  })

  it('reverses tokens it made in this request, only for origins the decision grants', async () => {
    const seen: Tensor[][] = []
    const policy = {
      entities: {
        EMAIL_ADDRESS: { op: 'encrypt' as const },
        CREDIT_CARD: { op: 'pseudonymize' as const },
        '*': { op: 'replace' as const },
      },
    }
    const text = 'mail ana@example.org, card 4111 1111 1111 1111, ip 10.1.2.3'
    const run = async (plugins: Plugin[]) => {
      const gate = await ready({ models: [{ name: 'echo', backend: echoBackend(seen) }], plugins })
      const res = await gate.fetch(
        post('/v2/models/echo/infer', {
          inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [text] }],
        }),
      )
      expect(res.status).toBe(200)
      return ((await res.json()) as { outputs: Array<{ data: string[] }> }).outputs[0]!.data[0]!
    }
    const plain = await run([mask({ key, policy })])
    expect(plain).toMatch(
      /^mail enc:v2:[A-Za-z0-9_-]+, card CREDIT_CARD_[0-9a-f]{16}, ip <IP_ADDRESS>$/,
    )
    expect((seen[0]![0]!.data as string[])[0]).toBe(plain)
    expect(await run([grant(['other']), mask({ key, policy })])).not.toContain('ana@example.org')
    // The free text of input "text", by field, by entity type, or everything.
    const clear = 'mail ana@example.org, card 4111 1111 1111 1111, ip <IP_ADDRESS>'
    expect(await run([grant(['text']), mask({ key, policy })])).toBe(clear)
    expect(await run([mask({ key, policy }), grant(['*'])])).toBe(clear)
    expect(await run([grant(['EMAIL_ADDRESS']), mask({ key, policy })])).toMatch(
      /^mail ana@example\.org, card CREDIT_CARD_[0-9a-f]{16}, ip <IP_ADDRESS>$/,
    )
    // The same token in the next request is opaque, even to a caller granted everything.
    const again = await run([grant(['*']), mask({ key, policy })].reverse())
    expect(again).toBe(clear)
    const gate = await ready({
      models: [{ name: 'echo', backend: echoBackend([]) }],
      plugins: [grant(['*']), mask({ key, policy })],
    })
    const res = await gate.fetch(
      post('/v2/models/echo/infer', {
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [plain] }],
      }),
    )
    expect(((await res.json()) as { outputs: Array<{ data: string[] }> }).outputs[0]!.data[0]).toBe(
      plain,
    )
  })
})

describe('mask plugin: options', () => {
  it('refuses unknown keys, naming the path and the nearest valid key', () => {
    const bad = (o: unknown) => () => mask(o as never)
    expect(bad({ polcy: {} })).toThrow('mask: unknown option "polcy" (did you mean "policy"?)')
    expect(bad({ policy: { entites: {} } })).toThrow(
      'mask: unknown option "policy.entites" (did you mean "policy.entities"?)',
    )
    expect(bad({ scope: { response: true, explanation: false } })).toThrow(
      'mask: unknown option "scope.explanation" (did you mean "scope.explanations"?)',
    )
    expect(bad({ budget: { maxScanByte: 1 } })).toThrow('did you mean "budget.maxScanBytes"?')
    expect(bad({ policy: { outputs: { p: { op: 'noise', epsilon: 1, rnage: [0, 1] } } } })).toThrow(
      'mask: policy.outputs.p: unknown option "rnage" (did you mean "range"?)',
    )
    // A key of another operator is as wrong as a typo.
    expect(bad({ policy: { fields: { card: { op: 'hash', keepLast: 4 } } } })).toThrow(
      'mask: policy.fields.card: unknown option "keepLast"',
    )
    expect(bad({ detector: { threshhold: 0.4 } })).toThrow('did you mean "threshold"?')
    expect(bad({ policy: { outputs: { p: { op: 'noise', epsilon: 1, range: [1, 0] } } } })).toThrow(
      /range must be/,
    )
    expect(bad({ policy: { fields: { email: { op: 'encrypt' } } } })).toThrow(/needs a key/)
    expect(bad({ key, scope: { request: 'yes' } })).toThrow(TypeError)
    expect(bad({ key, tenant: 'acme' })).toThrow(TypeError)
    expect(bad({ budget: { maxScanBytes: -1 } })).toThrow(/positive integer/)
    expect(mask({ key }).name).toBe('mask')
  })
})

describe('no leak', () => {
  const CANARIES = [
    'canary.7f3a@example.org',
    '4539 5787 6362 1486',
    '536-22-9981',
    'DE89 3704 0044 0532 0130 00',
    '+1 212 736 5000',
    '203.0.113.77',
  ]
  const leaks = (haystack: string) =>
    CANARIES.filter((c) => haystack.includes(c) || haystack.includes(c.replace(/ /g, '')))

  it('lets no planted value reach answers, logs, facts, errors or the backend, in several plugin orders', async () => {
    const written: string[] = []
    const log = (...parts: unknown[]) =>
      written.push(
        parts
          .map((p) => (p instanceof Error ? `${p.message}\n${p.stack}` : JSON.stringify(p)))
          .join(' '),
      )
    const seen: Tensor[][] = []
    const recorder: Plugin = async function recorder(ctx, next) {
      try {
        await next()
      } catch (error) {
        log('error', ctx.redactText(String((error as Error).message)))
        throw error
      }
    }
    recorder.onResponse = (ctx, outcome) =>
      log('facts', ctx.facts, ctx.redactText(decodeURIComponent(ctx.url.search)), outcome.status)
    const downstream: Plugin = async function downstream(ctx, next) {
      if (ctx.route.kind === 'v2-infer') {
        const body = await ctx.json()
        log('downstream saw', body)
        const text = JSON.stringify(body)
        if (text.includes('reject me')) throw new BadRequestError(`cannot use ${text}`)
      }
      await next()
      log(
        'outputs',
        ctx.outputs?.map((t) => Array.from(t.data as ArrayLike<unknown>)),
      )
    }
    const policy = {
      entities: {
        CREDIT_CARD: { op: 'fpe' as const },
        EMAIL_ADDRESS: { op: 'hash' as const },
        '*': { op: 'replace' as const },
      },
    }
    const sentence = `I am ${CANARIES.join(', ')}`
    // `downstream` logs request bodies, so it belongs inside mask; the others move around it.
    const orders = [
      [recorder, mask({ key, policy }), downstream, linearExplainer],
      [linearExplainer, mask({ key, policy }), recorder, downstream],
      [mask({ key, policy }), linearExplainer, downstream, recorder],
    ]
    for (const plugins of orders) {
      const gate = await ready({
        models: [
          { name: 'credit', backend: linearBackend(seen), schema },
          { name: 'echo', backend: echoBackend(seen) },
        ],
        onError: (error) => log('onError', error),
        plugins,
      })
      const v2 = (text: string) =>
        post(`/v2/models/echo/infer?q=${encodeURIComponent(CANARIES[0]!)}`, {
          inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [text] }],
        })
      const requests = [
        post('/v1/models/credit:predict', {
          instances: [{ income: 1, age: 30, purpose: 'car', email: CANARIES[0], notes: sentence }],
        }),
        post('/v1/models/credit:explain', {
          instances: [{ income: 1, age: 30, purpose: 'car', email: CANARIES[0], notes: sentence }],
        }),
        v2(sentence),
        v2(`reject me ${sentence}`),
        v2(`explode ${sentence}`),
      ]
      const statuses = []
      for (const req of requests) {
        const res = await gate.fetch(req)
        statuses.push(res.status)
        written.push(await res.text(), JSON.stringify([...res.headers]))
      }
      expect(statuses).toEqual([200, 200, 200, 400, 500])
    }
    for (const batch of seen)
      for (const t of batch) written.push(JSON.stringify(Array.from(t.data as ArrayLike<unknown>)))
    expect(written.join('\n')).toContain('<IP_ADDRESS>')
    expect(leaks(written.join('\n'))).toEqual([])
  })
})

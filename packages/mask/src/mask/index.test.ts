import {
  BadRequestError,
  createGate,
  type ModelBackend,
  type Plugin,
  type Tensor,
} from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { mask } from './index.js'

const key = crypto.getRandomValues(new Uint8Array(32))

function echoBackend(seen: Tensor[][]): ModelBackend {
  return {
    async metadata() {
      return {
        platform: 'echo',
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
        outputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      seen.push(inputs)
      if ((inputs[0]!.data as string[]).some((s) => s.includes('explode')))
        throw new Error(`backend failed on ${inputs[0]!.data[0]}`)
      return [{ ...inputs[0]!, name: 'text' }]
    },
  }
}

function creditBackend(seen: Tensor[][]): ModelBackend {
  return {
    async metadata() {
      return {
        platform: 'test',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      seen.push(inputs)
      const rows = inputs[0]!.shape[0]!
      return [
        {
          name: 'score',
          datatype: 'FP32',
          shape: [rows, 1],
          data: new Float32Array(rows).fill(0.5),
        },
      ]
    },
  }
}

const schema = {
  features: [
    { name: 'income', type: 'numeric' as const },
    { name: 'purpose', type: 'categorical' as const, categories: ['car', 'home'] },
    { name: 'email', type: 'passthrough' as const, pii: 'EMAIL_ADDRESS' },
    { name: 'notes', type: 'passthrough' as const, text: true },
  ],
}

const capture = (into: unknown[]): Plugin =>
  async function capture(ctx, next) {
    into.push(structuredClone(await ctx.json()))
    await next()
  }

const post = (path: string, body: unknown) =>
  new Request(`http://gate${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const grant = (unmask: string[]): Plugin =>
  async function authorize(ctx, next) {
    ctx.decision = { allow: true, reasons: ['test'], unmask }
    await next()
  }

describe('mask plugin', () => {
  it('masks V1 records by schema before anything downstream and counts entities in the audit', async () => {
    const seen: Tensor[][] = []
    const inner: unknown[] = []
    const audits: unknown[] = []
    const gate = createGate({
      models: [{ name: 'credit', backend: creditBackend(seen), schema }],
      plugins: [
        async function audit(ctx, next) {
          try {
            await next()
          } finally {
            audits.push(structuredClone(ctx.audit))
          }
        },
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
            purpose: 'home',
            email: 'ana@example.org',
            notes: 'call +1 212 736 5000, SSN 536-22-1234',
          },
          { income: 41000, purpose: 'car', email: 'bo@example.org', notes: 'nothing sensitive' },
        ],
      }),
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ predictions: [0.5, 0.5] })
    const body = inner[0] as { instances: Array<Record<string, unknown>> }
    expect(body.instances[0]!.email).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    expect(body.instances[0]!.notes).toBe('call <PHONE_NUMBER>, SSN <US_SSN>')
    expect(body.instances[0]!.purpose).toBe('home')
    expect(body.instances[1]!.income).toBe(41000)
    expect(Array.from(seen[0]![0]!.data as Float32Array)).toEqual([52000, 0, 1, 41000, 1, 0])
    expect(audits[0]).toEqual({ masking: { EMAIL_ADDRESS: 2, PHONE_NUMBER: 1, US_SSN: 1 } })
  })

  it('reverses reversible tokens only for granted fields', async () => {
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
      const gate = createGate({ models: [{ name: 'echo', backend: echoBackend(seen) }], plugins })
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
      /^mail enc:v1:[A-Za-z0-9_-]+, card CREDIT_CARD_[0-9a-f]{16}, ip <IP_ADDRESS>$/,
    )
    expect((seen[0]![0]!.data as string[])[0]).not.toContain('ana@example.org')
    expect(await run([grant(['other']), mask({ key, policy })])).not.toContain('ana@example.org')
    expect(await run([grant(['text']), mask({ key, policy })])).toBe(
      'mail ana@example.org, card 4111 1111 1111 1111, ip <IP_ADDRESS>',
    )
    expect(await run([grant(['*']), mask({ key, policy })])).toBe(
      'mail ana@example.org, card 4111 1111 1111 1111, ip <IP_ADDRESS>',
    )
  })

  it('adds Laplace noise to numeric outputs and masks explanations', async () => {
    const gate = createGate({
      models: [
        {
          name: 'credit',
          backend: creditBackend([]),
          schema: { ...schema, outputNames: { score: ['score'] } },
        },
      ],
      plugins: [
        mask({
          key,
          policy: { outputs: { score: { op: 'noise', epsilon: 2, sensitivity: 0.01 } } },
        }),
        async function explain(ctx, next) {
          await next()
          ctx.explanation = {
            feature_names: ['email', 'income'],
            data: [['ana@example.org', 52000]],
            note: 'for ana@example.org',
          }
          ;(ctx.body as Record<string, unknown>).explanations = [
            { feature_names: ['email', 'income'], feature_values: ['bo@example.org', 41000] },
          ]
        },
      ],
    })
    const res = await gate.fetch(
      post('/v1/models/credit:predict', {
        instances: [{ income: 1, purpose: 'car', email: 'ana@example.org', notes: '' }],
      }),
    )
    const body = (await res.json()) as {
      predictions: Array<{ score: number }>
      explanations: Array<{ feature_values: unknown[] }>
    }
    expect(body.predictions[0]!.score).not.toBe(0.5)
    expect(Math.abs(body.predictions[0]!.score - 0.5)).toBeLessThan(0.2)
    expect(body.explanations[0]!.feature_values).toEqual(['<EMAIL_ADDRESS>', 41000])
  })

  it('validates options at factory time', () => {
    expect(() => mask({ policy: { fields: { email: { op: 'encrypt' } } } })).toThrow(TypeError)
    expect(() => mask({ key, scope: { request: 'yes' as unknown as boolean } })).toThrow(TypeError)
    expect(() => mask({ key, tenant: 'acme' as never })).toThrow(TypeError)
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

  it('lets no planted value reach responses, logs, audit facts, errors or the backend', async () => {
    const written: string[] = []
    const log = (...parts: unknown[]) =>
      written.push(
        parts
          .map((p) => (p instanceof Error ? `${p.message}\n${p.stack}` : JSON.stringify(p)))
          .join(' '),
      )
    const seen: Tensor[][] = []
    const models = [
      { name: 'credit', backend: creditBackend(seen), schema },
      { name: 'echo', backend: echoBackend(seen) },
    ]
    const gate = createGate({
      models,
      onError: (error) => log('onError', error),
      plugins: [
        async function recorder(ctx, next) {
          try {
            await next()
          } catch (error) {
            log('error', error)
            throw error
          } finally {
            log('audit', ctx.audit)
          }
        },
        mask({
          key,
          policy: {
            entities: {
              CREDIT_CARD: { op: 'fpe' },
              EMAIL_ADDRESS: { op: 'hash' },
              '*': { op: 'replace' },
            },
          },
        }),
        async function downstream(ctx, next) {
          const body = await ctx.json()
          log('downstream saw', body)
          const text = JSON.stringify(body)
          if (text.includes('reject me')) throw new BadRequestError(`cannot use ${text}`)
          await next()
          log('response', ctx.body)
        },
      ],
    })
    const sentence = `I am ${CANARIES.join(', ')}`
    const requests = [
      post('/v1/models/credit:predict', {
        instances: [{ income: 1, purpose: 'car', email: CANARIES[0], notes: sentence }],
      }),
      post('/v2/models/echo/infer', {
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [sentence] }],
      }),
      post('/v2/models/echo/infer', {
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [`reject me ${sentence}`] }],
      }),
      post('/v2/models/echo/infer', {
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [`explode ${sentence}`] }],
      }),
    ]
    const statuses = []
    for (const req of requests) {
      const res = await gate.fetch(req)
      statuses.push(res.status)
      written.push(await res.text(), JSON.stringify([...res.headers]))
    }
    for (const batch of seen)
      for (const t of batch) written.push(JSON.stringify(Array.from(t.data as ArrayLike<unknown>)))
    expect(statuses).toEqual([200, 200, 400, 500])
    expect(written.join('\n')).toContain('<IP_ADDRESS>')
    expect(leaks(written.join('\n'))).toEqual([])
  })
})

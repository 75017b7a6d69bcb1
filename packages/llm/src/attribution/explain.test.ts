import { authenticate, authorize, createApiKey } from '@modelgate/access'
import { audit, createAuditTrail } from '@modelgate/audit'
import { createGate, MemoryStore, type Gate, type Plugin } from '@modelgate/core'
import { serveListener, serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import { mask } from '@modelgate/mask'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { llm } from '../llm/index.js'
import {
  attributionCase,
  createStandIn,
  SAMPLE_PII as PII,
  type StandIn,
} from '../testing/index.js'
import type { LlmOptions } from '../types.js'
import { memorySink } from '../../../audit/test/helpers.js'
import type { PromptExplanation } from './explain.js'

// Prompt attributions through the gate: POST /v1/explain/chat/completions, /completions and
// /messages, against the n-gram stand-in reading its prompt like a base model. The questions
// come from attributionCase: one sentence of the notes holds the answer. The mask plugin runs
// without its statistical layer: that tags the made-up project names in some sentences and not
// in others, and the questions need the model to see one name where the note and the question
// share it. E-mail addresses, phone numbers and names are found all the same.

const masking = () => mask({ detector: { ner: false } })

const VALUES = Object.values(PII)
const NOTES = [
  `The contact of project Orion is ${PII.email}.`,
  `The contact of project Lumen is ${PII.phone}.`,
  `Meetings are held every Tuesday morning.`,
  `Project Orion was reviewed by ${PII.name} in May.`,
]
const QUESTION = 'The contact of project Orion is'
const PROMPT = `${NOTES.join(' ')} ${QUESTION}`

type Body = Record<string, unknown>
interface Answer {
  choices?: Array<{ text?: string; message?: { content: string }; logprobs?: unknown }>
  content?: Array<{ type: string; text: string }>
  explanation: PromptExplanation
  code?: string
  error?: string
}

function standInUpstream(standIn: StandIn) {
  return { fetch: (url: string, init: RequestInit) => standIn.fetch(new Request(url, init)) }
}

const gates: Gate[] = []
afterEach(async () => {
  for (const g of gates.splice(0)) await g.close()
})

function setup(options: Partial<LlmOptions> = {}, plugins: Plugin[] = [], masked = true) {
  const standIn = createStandIn({ decode: 'continue' })
  const upstream = standInUpstream(standIn)
  const gate = createGate({
    models: [],
    plugins: [
      ...plugins,
      ...(masked ? [masking()] : []),
      llm({
        models: [
          { name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', ...upstream } },
          { name: 'claude', upstream: { type: 'anthropic', url: 'http://standin', ...upstream } },
        ],
        ...options,
      }),
    ],
  })
  gates.push(gate)
  return { gate, standIn }
}

async function post(
  target: Gate | string,
  path: string,
  body: Body,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Answer; headers: Headers }> {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }
  const res =
    typeof target === 'string'
      ? await fetch(`${target}${path}`, init)
      : await target.fetch(new Request(`http://gate${path}`, init))
  return { status: res.status, json: (await res.json()) as Answer, headers: res.headers }
}

const chatBody = (explain: Body = {}, extra: Body = {}): Body => ({
  model: 'chat',
  max_tokens: 12,
  stop: '.',
  messages: [{ role: 'user', content: PROMPT }],
  explain: { keepLast: true, ...explain },
  ...extra,
})

/** Nothing the upstream received holds a value of the prompt. */
function expectClean(standIn: StandIn): void {
  const sent = JSON.stringify(standIn.calls.map((c) => c.body))
  for (const v of VALUES) expect(sent).not.toContain(v)
  expect(sent).not.toContain('"explain"')
}

describe('prompt attributions on both runtimes', () => {
  let standIn: StandIn
  let upstreamServer: NodeServer
  let gate: Gate
  let expressServer: NodeServer
  let edgeServer: NodeServer
  const { sink, records } = memorySink()
  const trail = createAuditTrail({ sink })

  beforeAll(async () => {
    standIn = createStandIn({ decode: 'continue' })
    upstreamServer = await serveNode(standIn, { port: 0 })
    gate = createGate({
      models: [],
      plugins: [
        audit({ trail }),
        masking(),
        llm({
          models: [{ name: 'chat', upstream: { type: 'openai', url: `${upstreamServer.url}/v1` } }],
        }),
      ],
    })
    expressServer = await serveListener(createExpressApp(gate), { port: 0 })
    edgeServer = await serveNode(gate, { port: 0 })
  })

  afterAll(async () => {
    await expressServer?.close()
    await edgeServer?.close()
    await gate?.close()
    await upstreamServer?.close()
  })

  const runtimes = [
    { name: 'edge (gate.fetch)', target: () => gate as Gate | string },
    { name: 'node (Express)', target: () => expressServer.url },
    { name: 'node (serveNode)', target: () => edgeServer.url },
  ]

  it.each(runtimes)(
    'credits the sentence that holds the answer, on the masked prompt only ($name)',
    async ({ target }) => {
      const before = standIn.calls.length
      const { status, json } = await post(target(), '/v1/explain/chat/completions', chatBody())
      expect(status).toBe(200)
      // The answer is restored for the caller.
      expect(json.choices![0]!.message!.content).toBe(` ${PII.email}`)
      const e = json.explanation
      expect(e).toMatchObject({
        object: 'prompt.explanation',
        method: 'context_cite',
        unit: 'sentences',
        score: 'similarity',
        max_calls: 32,
      })
      expect(e.segments.map((s) => s.text.trim())).toEqual(NOTES)
      expect(e.segments[e.ranking[0]!]!.text).toContain(PII.email)
      expect(e.segments[0]!.value).toBeGreaterThan(0)
      // Every call the explanation made reached the upstream, masked, and none other.
      expect(standIn.calls.length - before).toBe(e.calls)
      expect(e.calls).toBeLessThanOrEqual(32)
      expectClean(standIn)
      await trail.flush()
      const record = records.at(-1)!
      expect(record.action).toBe('explain')
      expect(record.route).toBe('llm-explain-chat')
      expect(record.facts).toMatchObject({
        llm: {
          explain: { method: 'context_cite', unit: 'sentences', segments: 4, calls: e.calls },
        },
        explanation: { method: 'context_cite', rows: 1, cached: false },
      })
      for (const v of [...VALUES, 'Tuesday']) expect(JSON.stringify(record)).not.toContain(v)
    },
  )
})

describe('prompt attribution methods and scores', () => {
  it('scores legacy completions by the echoed probability of the whole answer', async () => {
    const { gate, standIn } = setup()
    for (const method of ['leave_one_out', 'kernel_shap', 'context_cite']) {
      const { status, json } = await post(gate, '/v1/explain/completions', {
        model: 'chat',
        prompt: PROMPT,
        max_tokens: 12,
        stop: '.',
        explain: { method, keepLast: true },
      })
      expect(status).toBe(200)
      expect(json.choices![0]!.text).toBe(` ${PII.email}`)
      const e = json.explanation
      expect(e.score).toBe('echo')
      expect(e.ranking[0]).toBe(0)
      // Without the note that holds it, the answer is all but impossible.
      expect(e.segments[0]!.value).toBeGreaterThan(0.9 * e.full)
      if (method === 'leave_one_out') {
        // The whole prompt, the answer, and one prompt per sentence left out.
        expect(e.calls).toBe(2 + 4)
        expect(e.base).toBeNull()
      }
      if (method === 'kernel_shap') {
        // Four sentences: every subset is scored, and the values add up to full − base.
        expect(e.calls).toBe(2 + 15)
        const sum = e.segments.reduce((a, s) => a + s.value, 0)
        expect(sum).toBeCloseTo(e.full - e.base!, 9)
        expect(e.base!).toBeLessThan(0.01 * e.full)
      }
    }
    const echoed = standIn.calls.filter((c) => c.body.echo === true)
    expect(echoed.length).toBeGreaterThan(0)
    expect(String(echoed[0]!.body.prompt).endsWith(`${QUESTION} <EMAIL_1>`)).toBe(true)
    expectClean(standIn)
  })

  it('scores chat by prompt_logprobs (vLLM) or first-token probabilities when asked to', async () => {
    const { gate, standIn } = setup()
    const whole = await post(
      gate,
      '/v1/explain/chat/completions',
      chatBody({ method: 'leave_one_out', score: 'prompt_logprobs' }),
    )
    expect(whole.status).toBe(200)
    expect(whole.json.explanation.ranking[0]).toBe(0)
    expect(whole.json.explanation.segments[0]!.value).toBeGreaterThan(
      0.9 * whole.json.explanation.full,
    )
    const scored = standIn.calls.filter((c) => c.body.prompt_logprobs === 0)
    expect(scored).toHaveLength(5)
    expect(scored[0]!.body).toMatchObject({
      continue_final_message: true,
      add_generation_prompt: false,
    })
    expect((scored[0]!.body.messages as Array<{ role: string; content: string }>).at(-1)).toEqual({
      role: 'assistant',
      content: ' <EMAIL_1>',
    })
    const first = await post(
      gate,
      '/v1/explain/chat/completions',
      chatBody({ method: 'leave_one_out', score: 'first_token' }),
    )
    expect(first.status).toBe(200)
    expect(first.json.explanation.score).toBe('first_token')
    // Log-probabilities the gate asked for to score the answer are not the client's.
    expect(first.json.choices![0]!.logprobs).toBeNull()
    expect(standIn.calls.at(-1)!.body).toMatchObject({
      max_tokens: 1,
      logprobs: true,
      top_logprobs: 20,
    })
    expectClean(standIn)
  })

  it('scores Anthropic messages, which have no log-probabilities, by text similarity', async () => {
    const { gate, standIn } = setup()
    const { status, json } = await post(gate, '/v1/explain/messages', {
      model: 'claude',
      max_tokens: 12,
      stop_sequences: ['.'],
      system: 'Answer from the notes.',
      messages: [{ role: 'user', content: PROMPT }],
      explain: { keepLast: true, method: 'leave_one_out' },
    })
    expect(status).toBe(200)
    expect(json.content![0]!.text).toBe(` ${PII.email}`)
    const e = json.explanation
    expect(e.score).toBe('similarity')
    expect(e.full).toBe(1)
    expect(e.segments.map((s) => [s.message, s.role])[0]).toEqual([-1, 'system'])
    expect(e.segments[e.ranking[0]!]!.text).toBe(`${NOTES[0]} `)
    expectClean(standIn)
  })

  it('credits masked entities, and whole messages', async () => {
    const { gate } = setup()
    const entities = await post(
      gate,
      '/v1/explain/chat/completions',
      chatBody({ unit: 'entities', keepLast: false, method: 'leave_one_out' }),
    )
    expect(entities.status).toBe(200)
    const e = entities.json.explanation
    expect(e.segments.map((s) => s.text)).toEqual([PII.email, PII.phone, PII.name])
    expect(e.ranking[0]).toBe(0)
    const messages = await post(gate, '/v1/explain/chat/completions', {
      ...chatBody({ unit: 'messages', keepLast: true, method: 'leave_one_out' }),
      messages: [
        { role: 'system', content: NOTES.slice(1).join(' ') },
        { role: 'user', content: NOTES[0] },
        { role: 'user', content: QUESTION },
      ],
    })
    expect(messages.status).toBe(200)
    expect(messages.json.explanation.segments.map((s) => s.role)).toEqual(['system', 'user'])
    expect(messages.json.explanation.ranking[0]).toBe(1)
  })

  it('keeps to the call budget and refuses what it cannot do within it', async () => {
    const { gate, standIn } = setup({ explain: { calls: 8, maxCalls: 16 } })
    const c = attributionCase(3, { min: 12, max: 12 })
    const body = {
      model: 'chat',
      max_tokens: 12,
      stop: '.',
      messages: [{ role: 'user', content: c.prompt }],
    }
    const ok = await post(gate, '/v1/explain/chat/completions', {
      ...body,
      explain: { keepLast: true },
    })
    expect(ok.status).toBe(200)
    expect(ok.json.explanation.calls).toBe(8)
    expect(standIn.calls).toHaveLength(8)
    const loo = await post(gate, '/v1/explain/chat/completions', {
      ...body,
      explain: { keepLast: true, method: 'leave_one_out' },
    })
    expect(loo.status).toBe(400)
    expect(loo.json.code).toBe('explain_budget')
    expect(standIn.calls).toHaveLength(9)
    const over = await post(gate, '/v1/explain/chat/completions', {
      ...body,
      explain: { calls: 17 },
    })
    expect([over.status, over.json.code]).toEqual([400, 'invalid_explain'])
    expect(standIn.calls).toHaveLength(9)
  })

  it('refuses bad explain requests with clear errors before any call', async () => {
    const { gate, standIn } = setup()
    const cases: Array<[string, Body, number, string]> = [
      ['/v1/explain/chat/completions', chatBody({ method: 'lime' }), 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', chatBody({ unit: 'words' }), 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', chatBody({ calls: 2 }), 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', chatBody({ seed: -1 }), 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', chatBody({ budget: 3 }), 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', { ...chatBody(), explain: 'yes' }, 400, 'invalid_explain'],
      ['/v1/explain/chat/completions', chatBody({}, { stream: true }), 400, 'explain_stream'],
      ['/v1/explain/chat/completions', chatBody({}, { model: 'nope' }), 404, 'model_not_found'],
      ['/v1/explain/messages', chatBody(), 400, 'protocol_mismatch'],
      [
        '/v1/explain/chat/completions',
        chatBody({ score: 'echo' }),
        400,
        'explain_unsupported_score',
      ],
      [
        '/v1/explain/completions',
        { model: 'chat', prompt: ['a', 'b'], explain: {} },
        400,
        'explain_unsupported_prompt',
      ],
      [
        '/v1/explain/chat/completions',
        { ...chatBody(), messages: [{ role: 'user', content: '  ' }] },
        422,
        'nothing_to_explain',
      ],
    ]
    for (const [path, body, status, code] of cases) {
      const res = await post(gate, path, body)
      expect([path, code, res.status, res.json.code]).toEqual([path, code, status, code])
    }
    // Only the echo-score refusal came after the answer: it needs the answer to choose.
    expect(standIn.calls).toHaveLength(1)
  })

  it('charges every call to the tenant’s token budget and stops when it runs out', async () => {
    const tenant: Plugin = async function tenant(ctx, next) {
      ctx.principal = { id: 'u1', kind: 'test', roles: [], scopes: [], tenant: 'acme' }
      await next()
    }
    const store = new MemoryStore()
    // A bucket that refills by a token a year: what it lost is what was charged.
    const year = 365 * 86_400
    const budgets = [{ by: 'tenant' as const, tokens: 1_000_000, perSeconds: year }]
    const bucket = { capacity: 1_000_000, refillPerSecond: 1_000_000 / year }
    const left = async () => (await store.take('llm:tok:tenant:acme', bucket, 0)).remaining
    const facts: Array<Record<string, unknown>> = []
    const spy: Plugin = async function spy(ctx, next) {
      await next()
      facts.push({ ...ctx.facts.llm })
    }
    const spied = setup({ budgets, budgetStore: store }, [tenant, spy]).gate
    const start = await left()
    const res = await post(spied, '/v1/explain/chat/completions', chatBody({ calls: 12 }))
    expect(res.status).toBe(200)
    expect(res.json.explanation.calls).toBe(12)
    const used = (facts[0]!.promptTokens as number) + (facts[0]!.completionTokens as number)
    expect(facts[0]!.promptTokens).toBeGreaterThan(12 * 10)
    // Each call is charged its estimate first, then what its usage adds (estimates not refunded).
    const spent = start - (await left())
    expect(spent).toBeGreaterThanOrEqual(used)
    expect(spent).toBeLessThan(2 * used)
    // A budget that covers the answer and a few perturbations refuses the rest with 429.
    const small = setup({ budgets: [{ by: 'tenant', tokens: 400, perSeconds: 86_400 }] }, [tenant])
    const refused = await post(small.gate, '/v1/explain/chat/completions', chatBody({ calls: 32 }))
    expect(refused.status).toBe(429)
    expect(small.standIn.calls.length).toBeGreaterThan(1)
    expect(small.standIn.calls.length).toBeLessThan(32)
  })

  it('is authorized as the explain operation, apart from chat', async () => {
    const pepper = 'p'.repeat(32)
    const writer = await createApiKey({
      pepper,
      principal: { id: 'w', roles: ['writer'], tenant: 'acme' },
    })
    const analyst = await createApiKey({
      pepper,
      principal: { id: 'a', roles: ['analyst'], tenant: 'acme' },
    })
    const standIn = createStandIn({ decode: 'continue' })
    const guarded = createGate({
      models: [],
      plugins: [
        authenticate({ apiKeys: { pepper, records: [writer.record, analyst.record] } }),
        llm({
          models: [
            {
              name: 'chat',
              upstream: { type: 'openai', url: 'http://standin/v1', ...standInUpstream(standIn) },
            },
          ],
        }),
        authorize({
          policy: {
            version: 1,
            rules: [
              {
                id: 'writers',
                effect: 'allow',
                principal: { roles: ['writer'] },
                actions: ['chat'],
                resource: { models: ['chat'] },
              },
              {
                id: 'analysts',
                effect: 'allow',
                principal: { roles: ['analyst'] },
                actions: ['chat', 'explain'],
                resource: { models: ['chat'] },
              },
            ],
          },
        }),
        masking(),
      ],
    })
    gates.push(guarded)
    const as = (key: string) => ({ 'x-api-key': key })
    expect((await post(guarded, '/v1/chat/completions', chatBody(), as(writer.key))).status).toBe(
      200,
    )
    const denied = await post(guarded, '/v1/explain/chat/completions', chatBody(), as(writer.key))
    expect(denied.status).toBe(403)
    expect(standIn.calls).toHaveLength(1)
    const allowed = await post(guarded, '/v1/explain/chat/completions', chatBody(), as(analyst.key))
    expect(allowed.status).toBe(200)
    expect(allowed.json.explanation.segments[allowed.json.explanation.ranking[0]!]!.text).toContain(
      PII.email,
    )
  })

  it('without the mask plugin, sends the prompt as it came', async () => {
    const { gate, standIn } = setup({}, [], false)
    const { status, json } = await post(
      gate,
      '/v1/explain/chat/completions',
      chatBody({ calls: 6 }),
    )
    expect(status).toBe(200)
    expect(JSON.stringify(standIn.calls[0]!.body)).toContain(PII.email)
    expect(json.explanation.calls).toBe(6)
  })
})

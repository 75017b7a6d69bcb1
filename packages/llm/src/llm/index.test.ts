import {
  createGate,
  MemoryStore,
  type Gate,
  type KeyValueStore,
  type GateFacts,
  type ModelBackend,
  type Plugin,
} from '@modelgate/core'
import { authenticate, authorize, createApiKey } from '@modelgate/access'
import { mask } from '@modelgate/mask'
import { afterEach, describe, expect, it } from 'vitest'
import { SseDecoder } from '../sse.js'
import {
  createStandIn,
  SAMPLE_PII as PII,
  SAMPLE_PROMPT as PROMPT,
  type StandIn,
} from '../testing/index.js'
import type { LlmOptions, LlmUpstream, UpstreamCall } from '../types.js'
import { llm } from './index.js'

const VALUES = Object.values(PII)

const gates: Gate[] = []
afterEach(async () => {
  for (const g of gates.splice(0)) await g.close()
})

function setup(
  options: Partial<LlmOptions> = {},
  extra: { plugins?: Plugin[]; standIn?: StandIn; masked?: boolean } = {},
) {
  const standIn = extra.standIn ?? createStandIn({ seed: 3 })
  const upstream = {
    fetch: (url: string, init: RequestInit) => standIn.fetch(new Request(url, init)),
  }
  const gate = createGate({
    models: [{ name: 'scorer', backend: echoBackend }],
    plugins: [
      ...(extra.plugins ?? []),
      ...(extra.masked === false ? [] : [mask()]),
      llm({
        models: [
          {
            name: 'chat',
            upstream: { type: 'openai', url: 'http://standin/v1', model: 'standin-1', ...upstream },
          },
          { name: 'claude', upstream: { type: 'anthropic', url: 'http://standin', ...upstream } },
        ],
        ...options,
      }),
    ],
  })
  gates.push(gate)
  return { gate, standIn }
}

const echoBackend: ModelBackend = {
  async metadata() {
    return {
      platform: 'echo',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(t) {
    return t
  },
}

function post(gate: Gate, path: string, body: unknown, headers: Record<string, string> = {}) {
  return gate.fetch(
    new Request(`http://gate${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  )
}

async function events(res: Response): Promise<Array<{ event?: string; data: string }>> {
  const d = new SseDecoder()
  const out = []
  for await (const chunk of res.body!) out.push(...d.push(chunk))
  return [...out, ...d.end()]
}

/**
 * The answer a client should get for what the stand-in generated: its placeholders replaced by
 * the values they stand for, learnt by lining up PROMPT with its masked copy the upstream got.
 */
function expected(standIn: StandIn, answer: string): string {
  const escaped = PROMPT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  let pattern = escaped
  for (const v of VALUES)
    pattern = pattern.split(v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('(<[A-Z]+_\\d+>)')
  const re = new RegExp(pattern)
  const order = [
    ...PROMPT.matchAll(
      new RegExp(VALUES.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'),
    ),
  ].map((m) => m[0])
  const map = new Map<string, string>()
  for (const c of standIn.calls) {
    const m = re.exec(JSON.stringify(c.body).replace(/\\"/g, '"'))
    if (m) m.slice(1).forEach((p, i) => map.set(p, order[i]!))
  }
  expect(map.size).toBe(VALUES.length)
  expect(answer).toMatch(/<[A-Z]+_\d+>/)
  return answer.replace(/<[A-Z]+_\d+>/g, (p) => map.get(p) ?? p)
}

/** What reached the upstream holds none of the values. */
function expectClean(standIn: StandIn) {
  const sent = JSON.stringify(standIn.calls.map((c) => c.body))
  for (const v of VALUES) expect(sent).not.toContain(v)
  for (const v of VALUES) expect(sent).not.toContain(JSON.stringify(v).slice(1, -1))
}

describe('chat completions', () => {
  it('masks every text of the request and restores the plain answer byte for byte', async () => {
    const { gate, standIn } = setup()
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [
        { role: 'system', content: `You assist ${PII.name} (${PII.email}).` },
        { role: 'user', name: 'ana', content: [{ type: 'text', text: `Earlier: ${PII.card}` }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'c1',
              type: 'function',
              function: {
                name: 'lookup',
                arguments: JSON.stringify({ iban: PII.iban, note: `for ${PII.name}` }),
              },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: `Account of ${PII.name}, SSN ${PII.ssn}` },
        { role: 'user', content: PROMPT },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'lookup',
            description: `Look up ${PII.email}`,
            parameters: {
              type: 'object',
              properties: { iban: { type: 'string', description: `e.g. ${PII.iban}` } },
            },
          },
        },
      ],
      user: PII.email,
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expectClean(standIn)
    const sent = standIn.calls[0]!
    expect(sent.body.model).toBe('standin-1')
    const args = JSON.parse((sent.body.messages as any)[2].tool_calls[0].function.arguments)
    expect(Object.keys(args)).toEqual(['iban', 'note'])
    expect(args.iban).toMatch(/^<IBAN_\d+>$/)
    expect((sent.body.messages as any)[1].name).toMatch(/^PERSON_\d+$/)
    expect(sent.answer).toMatch(/<EMAIL_\d+>/)
    expect(body.choices[0].message.content).toBe(PROMPT)
    expect(res.headers.get('x-modelgate-conversation')).toBeTruthy()
  })

  it('restores a stream split at random byte boundaries, per choice, byte for byte', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { gate, standIn } = setup({}, { standIn: createStandIn({ seed, maxSplit: 4 }) })
      const res = await post(gate, '/v1/chat/completions', {
        model: 'chat',
        stream: true,
        n: 2,
        messages: [{ role: 'user', content: `${PROMPT} Ünïcødé 你好 😀` }],
      })
      expect(res.headers.get('content-type')).toContain('text/event-stream')
      const texts = ['', '']
      const all = await events(res)
      expect(all.at(-1)!.data).toBe('[DONE]')
      for (const e of all.slice(0, -1)) {
        for (const c of JSON.parse(e.data).choices) texts[c.index] += c.delta.content ?? ''
      }
      expectClean(standIn)
      expect(standIn.calls[0]!.answer).toMatch(/<CARD_\d+>/)
      expect(texts).toEqual([`${PROMPT} Ünïcødé 你好 😀`, `${PROMPT} Ünïcødé 你好 😀`])
    }
  })

  it('sends no chunk whose text is all held back: held text goes out with the chunk that completes it', async () => {
    const { gate, standIn } = setup({}, { standIn: createStandIn({ seed: 3, maxSplit: 2 }) })
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    })
    const all = (await events(res))
      .filter((e) => e.data !== '[DONE]')
      .map((e) => JSON.parse(e.data))
    const said = (c: any) =>
      c.delta.role !== undefined || c.finish_reason !== null || c.delta.content !== ''
    expect(all.filter((chunk) => !chunk.choices.some(said))).toEqual([])
    expect(all.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(PROMPT)
    // The upstream split its placeholders over chunks, so some were held back whole.
    expect(standIn.calls[0]!.answer).toMatch(/<CARD_\d+>/)
  })

  it('restores tool-call arguments, plain and streamed, as valid JSON', async () => {
    const tricky = `${PROMPT} "quoted" back\\slash`
    for (const stream of [false, true]) {
      const { gate, standIn } = setup({}, { standIn: createStandIn({ seed: 9 }) })
      const res = await post(gate, '/v1/chat/completions', {
        model: 'chat',
        stream,
        tool_choice: 'required',
        tools: [
          {
            type: 'function',
            function: {
              name: 'send',
              parameters: {
                type: 'object',
                properties: { to: { type: 'string' }, body: { type: 'string' } },
              },
            },
          },
        ],
        messages: [{ role: 'user', content: tricky }],
      })
      expect(res.status).toBe(200)
      let args = ''
      if (stream) {
        for (const e of await events(res)) {
          if (e.data === '[DONE]') continue
          for (const tc of JSON.parse(e.data).choices[0]?.delta.tool_calls ?? [])
            args += tc.function.arguments ?? ''
        }
      } else {
        args = (await res.json()).choices[0].message.tool_calls[0].function.arguments
      }
      expectClean(standIn)
      expect(standIn.calls[0]!.answer).toMatch(/<SSN_\d+>/)
      expect(JSON.parse(args)).toEqual({ to: tricky, body: tricky })
    }
  })

  it('keeps the same placeholder for a value across messages and requests of a conversation', async () => {
    const { gate, standIn } = setup()
    const first = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `Hi ${PII.name}, write to ${PII.email}` }],
    })
    const conversation = first.headers.get('x-modelgate-conversation')!
    await first.json()
    const second = await post(
      gate,
      '/v1/chat/completions',
      {
        model: 'chat',
        messages: [
          { role: 'user', content: `Maria Garcia wrote first. Then ${PII.email} again` },
          { role: 'user', content: `and ${PII.name}` },
        ],
      },
      { 'x-modelgate-conversation': conversation },
    )
    expect(second.headers.get('x-modelgate-conversation')).toBe(conversation)
    await second.json()
    const one = JSON.stringify(standIn.calls[0]!.body.messages)
    const two = JSON.stringify(standIn.calls[1]!.body.messages)
    const email = /<EMAIL_\d+>/.exec(one)![0]
    const name = /<PERSON_\d+>/.exec(one)![0]
    expect(two).toContain(email)
    expect(two).toContain(name)
    expect(new Set(two.match(/<PERSON_\d+>/g)).size).toBe(2)
  })

  it('refuses a conversation id the gate did not issue', async () => {
    const { gate } = setup()
    const res = await post(
      gate,
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'hi' }] },
      { 'x-modelgate-conversation': 'AAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB' },
    )
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('invalid_conversation')
  })

  it('leaves technical words and masks denied ones', async () => {
    const { gate, standIn } = setup({
      words: { deny: [{ type: 'PROJECT', values: ['Bluebird'] }] },
    })
    await (
      await post(gate, '/v1/chat/completions', {
        model: 'chat',
        messages: [{ role: 'user', content: 'Deploy Bluebird to S3 and EKS on AWS with Lambda.' }],
      })
    ).json()
    const sent = JSON.stringify(standIn.calls[0]!.body.messages)
    expect(sent).toContain('Deploy <PROJECT_1> to S3 and EKS on AWS with Lambda.')
  })

  it('passes prompts through untouched without the mask plugin', async () => {
    const { gate, standIn } = setup({}, { masked: false })
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: PROMPT }],
    })
    expect((await res.json()).choices[0].message.content).toBe(standIn.calls[0]!.answer)
    expect((standIn.calls[0]!.body.messages as any)[0].content).toBe(PROMPT)
  })
})

/** An upstream answering a fixed text (or stream pieces) whatever it is sent. */
function fixedUpstream(
  pieces: string[],
  stream: boolean,
  /** Writes `<` as `\u003c`, as JSON encoders in Go (Ollama) do. */
  escapeHtml = false,
): LlmUpstream & { bodies: unknown[] } {
  const bodies: unknown[] = []
  return {
    protocol: 'openai',
    model: 'fixed',
    bodies,
    async send(call: UpstreamCall) {
      bodies.push(call.body)
      const json = (v: unknown) => {
        const text = JSON.stringify(v)
        return escapeHtml ? text.replace(/</g, '\\u003c').replace(/>/g, '\\u003e') : text
      }
      const chunk = (delta: object, finish: string | null) =>
        `data: ${json({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
      const body = stream
        ? pieces.map((p) => chunk({ content: p }, null)).join('') +
          chunk({}, 'stop') +
          'data: [DONE]\n\n'
        : JSON.stringify({
            id: 'x',
            object: 'chat.completion',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: pieces.join('') },
                finish_reason: 'stop',
              },
            ],
          })
      const response = new Response(body, {
        headers: { 'content-type': stream ? 'text/event-stream' : 'application/json' },
      })
      return { response, attempts: 1, idleTimeoutMs: 1000, abort() {}, done() {} }
    },
  }
}

function fixedGate(upstream: LlmUpstream, plugins: Plugin[] = []) {
  const gate = createGate({
    models: [],
    plugins: [...plugins, mask(), llm({ models: [{ name: 'chat', upstream }] })],
  })
  gates.push(gate)
  return gate
}

describe('placeholder scope', () => {
  it('restores only placeholders of the caller’s own request or conversation', async () => {
    const gate = fixedGate(fixedUpstream(['Write to <EMAIL_1> or <EMAIL_2>'], false))
    const mine = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `I am ${PII.email}` }],
    })
    expect((await mine.json()).choices[0].message.content).toBe(
      `Write to ${PII.email} or <EMAIL_2>`,
    )
    const stranger = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: 'Who wrote?' }],
    })
    expect((await stranger.json()).choices[0].message.content).toBe(
      'Write to <EMAIL_1> or <EMAIL_2>',
    )
  })

  it('keeps principals apart even in a conversation of the same name', async () => {
    const as = (id: string): Plugin =>
      async function principal(ctx, next) {
        ctx.principal = {
          id: ctx.requestHeaders.get('x-user') ?? id,
          kind: 'test',
          roles: [],
          scopes: [],
          tenant: 'acme',
        }
        await next()
      }
    const gate = fixedGate(fixedUpstream(['Hello <PERSON_1>'], false), [as('ana')])
    const headers = { 'x-modelgate-conversation': 'support-1' }
    const ana = await post(
      gate,
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: `I am ${PII.name}` }] },
      { ...headers, 'x-user': 'ana' },
    )
    expect((await ana.json()).choices[0].message.content).toBe(`Hello ${PII.name}`)
    const bob = await post(
      gate,
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'Who am I?' }] },
      { ...headers, 'x-user': 'bob' },
    )
    expect((await bob.json()).choices[0].message.content).toBe('Hello <PERSON_1>')
    const again = await post(
      gate,
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'Remember <PERSON_1>?' }] },
      { ...headers, 'x-user': 'ana' },
    )
    expect((await again.json()).choices[0].message.content).toBe(`Hello ${PII.name}`)
  })

  it('aborts the upstream call when the client goes away mid-stream', async () => {
    let aborted: unknown
    let facts: GateFacts | undefined
    const spy: Plugin = async function spy(ctx, next) {
      facts = ctx.facts
      await next()
    }
    const endless: LlmUpstream = {
      protocol: 'openai',
      model: 'endless',
      async send() {
        const body = new ReadableStream<Uint8Array>({
          async pull(c) {
            await new Promise((r) => setTimeout(r, 5))
            c.enqueue(
              new TextEncoder().encode(
                'data: {"choices":[{"index":0,"delta":{"content":"la "}}]}\n\n',
              ),
            )
          },
        })
        const response = new Response(body, { headers: { 'content-type': 'text/event-stream' } })
        return {
          response,
          attempts: 1,
          idleTimeoutMs: 1000,
          abort: (r) => (aborted = r ?? true),
          done() {},
        }
      },
    }
    const gate = fixedGate(endless, [spy])
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: 'sing' }],
    })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.read()
    await reader.cancel()
    expect(aborted).toBeTruthy()
    expect(facts!.llm!.end).toBe('client_closed')
  })

  it('restores streams from servers that write < as \\u003c in JSON (Go servers such as Ollama)', async () => {
    const gate = fixedGate(fixedUpstream(['Mail <EMA', 'IL_1> now'], true, true))
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: `I am ${PII.email}` }],
    })
    let text = ''
    for (const e of await events(res))
      if (e.data !== '[DONE]') text += JSON.parse(e.data).choices[0].delta.content ?? ''
    expect(text).toBe(`Mail ${PII.email} now`)
  })

  it('fails closed when a stream ends inside a placeholder, never sending the fragment', async () => {
    const gate = fixedGate(fixedUpstream(['Mail <EMA', 'IL_1> or <EMA'], true))
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: `I am ${PII.email}` }],
    })
    const all = await events(res)
    const text = all
      .filter((e) => e.data.startsWith('{') && !e.data.includes('"error"'))
      .map((e) => JSON.parse(e.data).choices[0].delta.content ?? '')
      .join('')
    expect(text).toBe(`Mail ${PII.email} or `)
    expect(JSON.parse(all.at(-1)!.data).error.code).toBe('placeholder_incomplete')
    expect(all.some((e) => e.data === '[DONE]')).toBe(false)
  })
})

describe('policies and seams', () => {
  it('restores only granted entity types with restore: "granted"', async () => {
    const grant: Plugin = async function grant(ctx, next) {
      ctx.decision = { allow: true, reasons: ['test'], unmask: ['EMAIL_ADDRESS'] }
      await next()
    }
    const { gate } = setup({ restore: 'granted' }, { plugins: [grant] })
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `I am ${PII.name}, mail ${PII.email}` }],
    })
    expect((await res.json()).choices[0].message.content).toMatch(
      new RegExp(`^I am <PERSON_\\d+>, mail ${PII.email.replace(/\./g, '\\.')}$`),
    )
  })

  it('lets a routing hook pick the upstream from the entity types found', async () => {
    const local = fixedUpstream(['handled on premises'], false)
    const { gate, standIn } = setup({
      select: (s) => (s.entities.US_SSN ? local : s.upstream),
    })
    const onPrem = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `SSN ${PII.ssn}` }],
    })
    expect((await onPrem.json()).choices[0].message.content).toBe('handled on premises')
    expect(local.bodies).toHaveLength(1)
    expect(standIn.calls).toHaveLength(0)
    expect(JSON.stringify(local.bodies)).not.toContain(PII.ssn)
    const cloud = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `Mail ${PII.email}` }],
    })
    expect((await cloud.json()).choices[0].message.content).toBe(`Mail ${PII.email}`)
    expect(standIn.calls).toHaveLength(1)
  })

  it('lets a routing hook send the prompt unmasked to an upstream inside the trust boundary', async () => {
    const onPremises = fixedUpstream(['kept at home'], false)
    const { gate, standIn } = setup({
      select: (s) =>
        s.entities.US_SSN ? { upstream: onPremises, unmasked: true } : { upstream: s.upstream },
    })
    const res = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `SSN ${PII.ssn}` }],
    })
    expect((await res.json()).choices[0].message.content).toBe('kept at home')
    expect(JSON.stringify(onPremises.bodies)).toContain(PII.ssn)
    expect(standIn.calls).toHaveLength(0)
  })

  it('serves a large model as an OIP text_input/text_output model on V2 infer', async () => {
    const { gate } = setup()
    await gate.ready()
    const res = await post(gate, '/v2/models/chat/infer', {
      inputs: [
        { name: 'text_input', datatype: 'BYTES', shape: [1], data: ['Say hello to the team'] },
      ],
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.outputs[0]).toMatchObject({ name: 'text_output', datatype: 'BYTES', shape: [1] })
    expect(body.outputs[0].data[0]).toBe('Say hello to the team')
  })
})

describe('other routes', () => {
  it('masks and restores legacy completions, echo and stream included', async () => {
    const { gate, standIn } = setup()
    const plain = await (
      await post(gate, '/v1/completions', {
        model: 'chat',
        prompt: PROMPT,
        max_tokens: 200,
        echo: true,
        logprobs: 2,
      })
    ).json()
    expect(plain.choices[0].text).toBe(PROMPT + PROMPT)
    expect(plain.choices[0].logprobs.token_logprobs[1]).toBeLessThan(0)
    const streamed = await post(gate, '/v1/completions', {
      model: 'chat',
      prompt: [PROMPT],
      max_tokens: 200,
      stream: true,
    })
    let text = ''
    for (const e of await events(streamed))
      if (e.data !== '[DONE]') text += JSON.parse(e.data).choices[0]?.text ?? ''
    expect(text).toBe(PROMPT)
    expectClean(standIn)
  })

  it('masks Responses API input and restores output, streamed text and function calls', async () => {
    const { gate, standIn } = setup({}, { standIn: createStandIn({ seed: 4, maxSplit: 3 }) })
    const base = { model: 'chat', instructions: `Assist ${PII.name}`, user: PII.email }
    const plain = await (await post(gate, '/v1/responses', { ...base, input: PROMPT })).json()
    expect(plain.output[0].content[0].text).toBe(PROMPT)
    const input = [
      { role: 'user', content: [{ type: 'input_text', text: 'start' }] },
      {
        type: 'function_call',
        call_id: 'c1',
        name: 'file',
        arguments: JSON.stringify({ note: PII.ssn }),
      },
      { type: 'function_call_output', call_id: 'c1', output: PROMPT },
    ]
    const streamed = await post(gate, '/v1/responses', { ...base, input, stream: true })
    let text = ''
    let done = ''
    let completed: any
    for (const e of await events(streamed)) {
      const d = JSON.parse(e.data)
      if (d.type === 'response.output_text.delta') text += d.delta
      if (d.type === 'response.output_text.done') done = d.text
      if (d.type === 'response.completed') completed = d.response
    }
    expect(text).toBe(PROMPT)
    expect(done).toBe(PROMPT)
    expect(completed.output[0].content[0].text).toBe(PROMPT)
    const tools = [
      {
        type: 'function',
        name: 'file',
        description: `File for ${PII.email}`,
        parameters: { type: 'object', properties: { note: { type: 'string' } } },
      },
    ]
    const call = await (
      await post(gate, '/v1/responses', { ...base, input: PROMPT, tools, tool_choice: 'required' })
    ).json()
    expect(JSON.parse(call.output[0].arguments)).toEqual({ note: PROMPT })
    const callStream = await post(gate, '/v1/responses', {
      ...base,
      input: PROMPT,
      tools,
      tool_choice: { type: 'function', name: 'file' },
      stream: true,
    })
    let args = ''
    for (const e of await events(callStream)) {
      const d = JSON.parse(e.data)
      if (d.type === 'response.function_call_arguments.delta') args += d.delta
    }
    expect(JSON.parse(args)).toEqual({ note: PROMPT })
    expectClean(standIn)
  })

  it('masks embedding inputs with keyed tokens, the same for the same value, or refuses them', async () => {
    const { gate, standIn } = setup()
    for (let i = 0; i < 2; i++) {
      const res = await post(gate, '/v1/embeddings', { model: 'chat', input: [PROMPT, PII.email] })
      expect((await res.json()).data).toHaveLength(2)
    }
    expectClean(standIn)
    const inputs = standIn.calls.map((c) => c.body.input as string[])
    expect(inputs[0]).toEqual(inputs[1])
    expect(inputs[0]![1]).toMatch(/^<EMAIL_[0-9a-f]{10}>$/)
    const refusing = setup({ embeddings: 'refuse' }).gate
    const refused = await post(refusing, '/v1/embeddings', { model: 'chat', input: PII.email })
    expect(refused.status).toBe(422)
    expect(await refused.text()).not.toContain(PII.email)
    const tokens = await post(gate, '/v1/embeddings', { model: 'chat', input: [[1, 2, 3]] })
    expect(tokens.status).toBe(400)
  })

  it('masks Anthropic messages and restores plain, streamed and tool_use answers', async () => {
    const { gate, standIn } = setup({}, { standIn: createStandIn({ seed: 11, maxSplit: 3 }) })
    const base = {
      model: 'claude',
      max_tokens: 300,
      system: [{ type: 'text', text: `Agent for ${PII.name}` }],
      metadata: { user_id: PII.email },
    }
    const plain = await (
      await post(gate, '/v1/messages', { ...base, messages: [{ role: 'user', content: PROMPT }] })
    ).json()
    expect(plain.content[0].text).toBe(PROMPT)
    const streamed = await post(gate, '/v1/messages', {
      ...base,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }],
    })
    let text = ''
    for (const e of await events(streamed)) {
      const d = JSON.parse(e.data)
      if (d.type !== 'content_block_delta') continue
      // A delta whose text is held back whole is not sent.
      expect(d.delta.text).not.toBe('')
      text += d.delta.text
    }
    expect(text).toBe(PROMPT)
    const tools = [
      {
        name: 'file',
        description: `File for ${PII.email}`,
        input_schema: { type: 'object', properties: { note: { type: 'string' } } },
      },
    ]
    const history = [
      { role: 'user', content: 'start' },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 't1', name: 'file', input: { note: PII.ssn } }],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: `Filed for ${PII.iban}` },
          { type: 'text', text: PROMPT },
        ],
      },
    ]
    const used = await (
      await post(gate, '/v1/messages', {
        ...base,
        tools,
        tool_choice: { type: 'any' },
        messages: history,
      })
    ).json()
    expect(used.content[0].input.note).toBe(
      expected(standIn, JSON.parse(standIn.calls[2]!.answer).note),
    )
    const usedStream = await post(gate, '/v1/messages', {
      ...base,
      stream: true,
      tools,
      tool_choice: { type: 'tool', name: 'file' },
      messages: history,
    })
    let json = ''
    for (const e of await events(usedStream)) {
      const d = JSON.parse(e.data)
      if (d.type === 'content_block_delta') json += d.delta.partial_json
    }
    expect(JSON.parse(json).note).toBe(expected(standIn, JSON.parse(standIn.calls[3]!.answer).note))
    expectClean(standIn)
  })

  it('answers OpenAI, Anthropic and KServe V1 clients on /v1/models', async () => {
    const { gate } = setup()
    const list = await (await gate.fetch(new Request('http://gate/v1/models'))).json()
    expect(list.object).toBe('list')
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(['chat', 'claude'])
    expect(list.data[0]).toMatchObject({ object: 'model', type: 'model', owned_by: 'modelgate' })
    expect(list.models).toEqual(['chat', 'claude'])
    const one = await gate.fetch(new Request('http://gate/v1/models/chat'))
    expect(await one.json()).toMatchObject({
      id: 'chat',
      object: 'model',
      name: 'chat',
      ready: true,
    })
    await gate.ready()
    const tensor = await gate.fetch(new Request('http://gate/v1/models/scorer'))
    expect(tensor.status).toBe(200)
    expect(await tensor.json()).toMatchObject({
      name: 'scorer',
      ready: true,
      id: 'scorer',
      object: 'model',
    })
    const predicted = await post(gate, '/v1/models/scorer:predict', { instances: [[1], [2]] })
    expect((await predicted.json()).predictions).toEqual([1, 2])
    expect((await gate.fetch(new Request('http://gate/v1/models/nope'))).status).toBe(404)
  })
})

describe('access, budgets and upstream failures', () => {
  const principal = (tenant: string): Plugin =>
    async function principal(ctx, next) {
      ctx.principal = { id: 'u1', kind: 'test', roles: [], scopes: [], tenant }
      await next()
    }

  it('applies tenant policies: models, types that may leave, types that refuse', async () => {
    const tenants = { acme: { models: ['chat'], leave: ['EMAIL_ADDRESS'], refuse: ['US_SSN'] } }
    const { gate, standIn } = setup({ tenants }, { plugins: [principal('acme')] })
    const forbidden = await post(gate, '/v1/messages', {
      model: 'claude',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(forbidden.status).toBe(403)
    const models = await (await gate.fetch(new Request('http://gate/v1/models'))).json()
    expect(models.models).toEqual(['chat'])
    await (
      await post(gate, '/v1/chat/completions', {
        model: 'chat',
        messages: [{ role: 'user', content: `${PII.email} ${PII.phone}` }],
      })
    ).json()
    const sent = JSON.stringify(standIn.calls[0]!.body)
    expect(sent).toContain(PII.email)
    expect(sent).not.toContain(PII.phone)
    const refused = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: `SSN ${PII.ssn}` }],
    })
    expect(refused.status).toBe(422)
    expect(standIn.calls).toHaveLength(1)
  })

  it('authorizes per model and operation with the access plugins, the model read from the body', async () => {
    const pepper = 'p'.repeat(32)
    const writer = await createApiKey({
      pepper,
      principal: { id: 'w', roles: ['writer'], tenant: 'acme' },
    })
    const indexer = await createApiKey({
      pepper,
      principal: { id: 'i', roles: ['indexer'], tenant: 'acme' },
    })
    const standIn = createStandIn()
    const upstream = {
      fetch: (url: string, init: RequestInit) => standIn.fetch(new Request(url, init)),
    }
    const gate = createGate({
      models: [],
      plugins: [
        authenticate({ apiKeys: { pepper, records: [writer.record, indexer.record] } }),
        llm({
          models: [
            { name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', ...upstream } },
            { name: 'other', upstream: { type: 'openai', url: 'http://standin/v1', ...upstream } },
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
                actions: ['chat', 'metadata'],
                resource: { models: ['chat'] },
              },
              {
                id: 'indexers',
                effect: 'allow',
                principal: { roles: ['indexer'] },
                actions: ['embed'],
              },
            ],
          },
        }),
        mask(),
      ],
    })
    gates.push(gate)
    const as = (key: string) => ({ 'x-api-key': key })
    const chat = { model: 'chat', messages: [{ role: 'user', content: `I am ${PII.email}` }] }
    const ok = await post(gate, '/v1/chat/completions', chat, as(writer.key))
    expect(ok.status).toBe(200)
    expect((await ok.json()).choices[0].message.content).toBe(`I am ${PII.email}`)
    expect(
      (await post(gate, '/v1/chat/completions', { ...chat, model: 'other' }, as(writer.key)))
        .status,
    ).toBe(403)
    expect(
      (await post(gate, '/v1/embeddings', { model: 'chat', input: 'x' }, as(writer.key))).status,
    ).toBe(403)
    expect((await post(gate, '/v1/chat/completions', chat, as(indexer.key))).status).toBe(403)
    expect(
      (await post(gate, '/v1/embeddings', { model: 'other', input: 'x' }, as(indexer.key))).status,
    ).toBe(200)
    expect((await post(gate, '/v1/chat/completions', chat)).status).toBe(401)
    expect(standIn.calls).toHaveLength(2)
    await gate.ready()
    const meta = await (
      await gate.fetch(new Request('http://gate/v2/models/chat', { headers: as(writer.key) }))
    ).json()
    expect(meta.platform).toBe('llm-openai')
  })

  it('charges token budgets before the call and reconciles them with usage', async () => {
    let facts: GateFacts | undefined
    const spy: Plugin = async function spy(ctx, next) {
      facts = ctx.facts
      await next()
    }
    // 120 tokens cover two estimates of this prompt (55 each) but not the first call's usage too.
    const budgets = [{ by: 'tenant' as const, tokens: 120, perSeconds: 3600 }]
    const { gate, standIn } = setup({ budgets }, { plugins: [spy, principal('acme')] })
    const first = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    })
    const all = await events(first)
    expect(all.some((e) => e.data.includes('"usage"'))).toBe(false)
    expect(standIn.calls[0]!.body.stream_options).toEqual({ include_usage: true })
    const used = facts!.llm!
    expect(used.estimatedTokens).toBe(55)
    // Only the usage charged after the first call leaves too little for a second estimate.
    expect(used.promptTokens! + used.completionTokens! - used.estimatedTokens!).toBeGreaterThan(
      120 - 2 * 55,
    )
    const second = await post(gate, '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: PROMPT }],
    })
    expect(second.status).toBe(429)
    expect(second.headers.get('retry-after')).toBeTruthy()
    expect(standIn.calls).toHaveLength(1)
  })

  it('retries an overloaded upstream, and hides the upstream’s view of its credentials', async () => {
    const standIn = createStandIn({ failFirst: 2, apiKey: 'sk-upstream' })
    const calls: string[] = []
    const gate = createGate({
      models: [],
      plugins: [
        llm({
          models: [
            {
              name: 'chat',
              upstream: {
                type: 'openai',
                url: 'http://standin/v1',
                apiKey: 'sk-upstream',
                retryBaseDelayMs: 1,
                fetch: (url, init) => {
                  calls.push(new Headers(init.headers).get('authorization')!)
                  return standIn.fetch(new Request(url, init))
                },
              },
            },
            {
              name: 'wrong',
              upstream: {
                type: 'openai',
                url: 'http://standin/v1',
                apiKey: 'sk-bad',
                fetch: (url, init) => standIn.fetch(new Request(url, init)),
              },
            },
          ],
        }),
      ],
    })
    gates.push(gate)
    const ok = await post(
      gate,
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer client-token' },
    )
    expect(ok.status).toBe(200)
    expect(calls).toEqual(['Bearer sk-upstream', 'Bearer sk-upstream', 'Bearer sk-upstream'])
    const bad = await post(gate, '/v1/chat/completions', {
      model: 'wrong',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(bad.status).toBe(502)
    expect((await bad.json()).code).toBe('upstream_auth')
  })

  it('refuses unknown options at creation, naming the nearest valid one', () => {
    const models = [
      { name: 'chat', upstream: { type: 'openai' as const, url: 'http://standin/v1' } },
    ]
    expect(() => llm({ models, budgtes: [] } as never)).toThrow('did you mean "budgets"')
    expect(() => llm({ models, tenants: { acme: { leaves: ['URL'] } } } as never)).toThrow(
      'tenants.acme.leaves',
    )
    expect(() =>
      llm({
        models: [{ name: 'chat', upstream: { ...models[0]!.upstream, apikey: 'x' } }],
      } as never),
    ).toThrow('did you mean "apiKey"')
    expect(() => llm({ models: [{ name: 'a:b', upstream: models[0]!.upstream }] })).toThrow('name')
  })

  it('charges prompt scanning to the mask plugin’s budget: a prompt past it is refused', async () => {
    const standIn = createStandIn()
    const gate = createGate({
      models: [],
      plugins: [
        mask({ budget: { maxScanBytes: 4096 } }),
        llm({
          models: [
            {
              name: 'chat',
              upstream: {
                type: 'openai',
                url: 'http://standin/v1',
                fetch: (u, i) => standIn.fetch(new Request(u, i)),
              },
            },
          ],
        }),
      ],
    })
    gates.push(gate)
    const messages = Array.from({ length: 40 }, () => ({ role: 'user', content: PROMPT }))
    const res = await post(gate, '/v1/chat/completions', { model: 'chat', messages })
    expect(res.status).toBe(413)
    expect((await res.json()).code).toBe('masking_budget_exceeded')
    expect(standIn.calls).toHaveLength(0)
  })

  it('needs a mask key when the vault is shared: a key made for one process cannot be shared', async () => {
    const memory = new MemoryStore()
    const shared: KeyValueStore = {
      get: (k) => memory.get(k),
      set: (k, v, t) => memory.set(k, v, t),
      setIfAbsent: (k, v, t) => memory.setIfAbsent(k, v, t),
      delete: (k) => memory.delete(k),
    }
    const models = [{ name: 'chat', upstream: fixedUpstream(['hi'], false) }]
    const keyless = createGate({ models: [], plugins: [mask({ vault: shared }), llm({ models })] })
    const keyed = createGate({
      models: [],
      plugins: [mask({ vault: shared, key: 'k'.repeat(43) }), llm({ models })],
    })
    gates.push(keyless, keyed)
    const body = { model: 'chat', messages: [{ role: 'user', content: `I am ${PII.email}` }] }
    const refused = await post(keyless, '/v1/chat/completions', body)
    expect(refused.status).toBe(500)
    expect((await refused.json()).code).toBe('mask_key_required')
    expect((await post(keyed, '/v1/chat/completions', body)).status).toBe(200)
  })

  it('refuses bad requests with clear JSON errors', async () => {
    const { gate } = setup()
    const cases: Array<[unknown, number, string]> = [
      [{ messages: [] }, 400, 'invalid_request'],
      [{ model: 'nope', messages: [] }, 404, 'model_not_found'],
      [{ model: 'claude', messages: [] }, 400, 'protocol_mismatch'],
      [{ model: 'chat', messages: 'hi' }, 400, 'invalid_request'],
      [[1, 2], 400, 'invalid_request'],
    ]
    for (const [body, status, code] of cases) {
      const res = await post(gate, '/v1/chat/completions', body)
      expect(res.status).toBe(status)
      expect((await res.json()).code).toBe(code)
    }
    const broken = await gate.fetch(
      new Request('http://gate/v1/chat/completions', { method: 'POST', body: '{"model":' }),
    )
    expect(broken.status).toBe(400)
    const method = await gate.fetch(new Request('http://gate/v1/chat/completions'))
    expect(method.status).toBe(405)
  })
})

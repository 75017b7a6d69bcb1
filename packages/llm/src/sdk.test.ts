import Anthropic from '@anthropic-ai/sdk'
import { createOpenAI } from '@ai-sdk/openai'
import { createGate, type Gate } from '@modelgate/core'
import { serveListener, serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import { mask } from '@modelgate/mask'
import { generateText, jsonSchema, streamText, tool } from 'ai'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { llm } from './index.js'
import {
  createStandIn,
  SAMPLE_PII as PII,
  SAMPLE_PROMPT as PROMPT,
  type StandIn,
} from './testing/index.js'

// The official SDKs as clients, through the gate on both runtimes: the Web fetch handler
// (`gate.fetch`, as Workers, Deno and Bun call it) and the Express app on a loopback port. The
// upstream is the n-gram stand-in on its own loopback port.

let standIn: StandIn
let upstreamServer: NodeServer
let gate: Gate
let expressServer: NodeServer
let edgeServer: NodeServer

beforeAll(async () => {
  standIn = createStandIn({ seed: 5, maxSplit: 5 })
  upstreamServer = await serveNode(standIn, { port: 0 })
  gate = createGate({
    models: [],
    plugins: [
      mask(),
      llm({
        models: [
          {
            name: 'chat',
            upstream: { type: 'openai', url: `${upstreamServer.url}/v1`, apiKeyEnv: 'STANDIN_KEY' },
          },
          { name: 'claude', upstream: { type: 'anthropic', url: upstreamServer.url } },
        ],
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

function expectClean(): void {
  const sent = JSON.stringify(standIn.calls.map((c) => c.body))
  for (const v of Object.values(PII)) expect(sent).not.toContain(v)
  // The clients' own credentials never reach the upstream.
  for (const c of standIn.calls)
    expect(c.headers.get('authorization') ?? c.headers.get('x-api-key')).toBeNull()
}

type Runtime = { name: string; baseURL: () => string; fetch?: typeof fetch }
const runtimes: Runtime[] = [
  {
    name: 'edge (gate.fetch)',
    baseURL: () => 'http://gate.local',
    fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
      gate.fetch(new Request(input, init))) as typeof fetch,
  },
  { name: 'node (Express)', baseURL: () => expressServer.url },
  { name: 'node (serveNode)', baseURL: () => edgeServer.url },
]

describe.each(runtimes)('official SDKs through $name', (runtime) => {
  const openai = () =>
    new OpenAI({
      baseURL: `${runtime.baseURL()}/v1`,
      apiKey: 'client-key',
      maxRetries: 0,
      ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
    })
  const anthropic = () =>
    new Anthropic({
      baseURL: runtime.baseURL(),
      apiKey: 'client-key',
      maxRetries: 0,
      ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
    })
  const vercel = () =>
    createOpenAI({
      baseURL: `${runtime.baseURL()}/v1`,
      apiKey: 'client-key',
      ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
    })
  const sendTool = {
    type: 'function' as const,
    function: {
      name: 'send',
      description: `Send a note for ${PII.name}`,
      parameters: {
        type: 'object',
        properties: { to: { type: 'string' }, note: { type: 'string' } },
      },
    },
  }

  it('openai: chat, plain and streamed', async () => {
    const client = openai()
    const plain = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: PROMPT }],
    })
    expect(plain.choices[0]!.message.content).toBe(PROMPT)
    const stream = await client.chat.completions.create({
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe(PROMPT)
    expectClean()
  })

  it('openai: tool calls, plain and streamed', async () => {
    const client = openai()
    const body = {
      model: 'chat',
      tools: [sendTool],
      tool_choice: 'required' as const,
      messages: [{ role: 'user' as const, content: PROMPT }],
    }
    const plain = await client.chat.completions.create(body)
    const call = plain.choices[0]!.message.tool_calls![0]! as { function: { arguments: string } }
    expect(JSON.parse(call.function.arguments)).toEqual({ to: PROMPT, note: PROMPT })
    const runner = client.chat.completions.stream(body)
    const final = await runner.finalChatCompletion()
    const streamed = final.choices[0]!.message.tool_calls![0]! as {
      function: { arguments: string }
    }
    expect(JSON.parse(streamed.function.arguments)).toEqual({ to: PROMPT, note: PROMPT })
    expectClean()
  })

  it('openai: completions, embeddings and models', async () => {
    const client = openai()
    const completion = await client.completions.create({
      model: 'chat',
      prompt: PROMPT,
      max_tokens: 200,
    })
    expect(completion.choices[0]!.text).toBe(PROMPT)
    const embedded = await client.embeddings.create({ model: 'chat', input: [PROMPT] })
    expect(embedded.data[0]!.embedding).toHaveLength(8)
    const models = []
    for await (const m of client.models.list()) models.push(m.id)
    expect(models).toEqual(['chat', 'claude'])
    expect((await client.models.retrieve('claude')).id).toBe('claude')
    expectClean()
  })

  it('openai: responses, plain, streamed and a function call', async () => {
    const client = openai()
    const plain = await client.responses.create({
      model: 'chat',
      instructions: `Agent for ${PII.name}`,
      input: PROMPT,
    })
    expect(plain.output_text).toBe(PROMPT)
    const stream = client.responses.stream({ model: 'chat', input: PROMPT })
    let text = ''
    stream.on('response.output_text.delta', (e) => (text += e.delta))
    const final = await stream.finalResponse()
    expect(text).toBe(PROMPT)
    expect(final.output_text).toBe(PROMPT)
    const tools = [
      {
        type: 'function' as const,
        name: 'send',
        description: `Mail ${PII.email}`,
        strict: false,
        parameters: { type: 'object', properties: { note: { type: 'string' } } },
      },
    ]
    const called = await client.responses.create({
      model: 'chat',
      input: PROMPT,
      tools,
      tool_choice: 'required',
    })
    const fc = called.output[0] as { type: string; arguments: string }
    expect(JSON.parse(fc.arguments)).toEqual({ note: PROMPT })
    expectClean()
  })

  it('anthropic: messages, plain, streamed and tool_use', async () => {
    const client = anthropic()
    const plain = await client.messages.create({
      model: 'claude',
      max_tokens: 300,
      system: `Agent for ${PII.name}`,
      messages: [{ role: 'user', content: PROMPT }],
    })
    expect(plain.content[0]!.type === 'text' && plain.content[0]!.text).toBe(PROMPT)
    const stream = client.messages.stream({
      model: 'claude',
      max_tokens: 300,
      messages: [{ role: 'user', content: PROMPT }],
    })
    let text = ''
    stream.on('text', (t) => (text += t))
    const final = await stream.finalMessage()
    expect(text).toBe(PROMPT)
    expect(final.content[0]!.type === 'text' && final.content[0]!.text).toBe(PROMPT)
    const tools = [
      {
        name: 'send',
        description: `Mail ${PII.email}`,
        input_schema: { type: 'object' as const, properties: { note: { type: 'string' } } },
      },
    ]
    const used = await client.messages
      .stream({
        model: 'claude',
        max_tokens: 300,
        tools,
        tool_choice: { type: 'any' },
        messages: [{ role: 'user', content: PROMPT }],
      })
      .finalMessage()
    expect(used.content[0]!.type === 'tool_use' && used.content[0]!.input).toEqual({ note: PROMPT })
    const counted = await client.messages.countTokens({
      model: 'claude',
      messages: [{ role: 'user', content: PROMPT }],
    })
    expect(counted.input_tokens).toBeGreaterThan(10)
    expectClean()
  })

  it('Vercel AI SDK: generateText, streamText and a tool call', async () => {
    const model = vercel().chat('chat')
    const generated = await generateText({ model, prompt: PROMPT })
    expect(generated.text).toBe(PROMPT)
    const streamed = streamText({ model, prompt: PROMPT })
    let text = ''
    for await (const t of streamed.textStream) text += t
    expect(text).toBe(PROMPT)
    const send = tool({
      description: `Send a note for ${PII.name}`,
      inputSchema: jsonSchema<{ note: string }>({
        type: 'object',
        properties: { note: { type: 'string' } },
        required: ['note'],
      }),
    })
    const called = await generateText({
      model,
      prompt: PROMPT,
      tools: { send },
      toolChoice: 'required',
    })
    expect(called.toolCalls[0]!.input).toEqual({ note: PROMPT })
    // The provider's default model speaks the Responses API.
    const responses = vercel()('chat')
    expect((await generateText({ model: responses, prompt: PROMPT })).text).toBe(PROMPT)
    let streamedText = ''
    for await (const t of streamText({ model: responses, prompt: PROMPT }).textStream)
      streamedText += t
    expect(streamedText).toBe(PROMPT)
    const viaResponses = await generateText({
      model: responses,
      prompt: PROMPT,
      tools: { send },
      toolChoice: 'required',
    })
    expect(viaResponses.toolCalls[0]!.input).toEqual({ note: PROMPT })
    expectClean()
  })
})

import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bundleWorker,
  startWorkerd,
  workspaceAliases,
  type WorkerdRuntime,
} from '@modelgate/testkit/workerd'
import { SAMPLE_PII, SAMPLE_PROMPT } from './testing/index.js'

// The default entry in workerd: a Worker module `export default { fetch }` with the mask and llm
// plugins, its upstream the stand-in inside the same Worker, driven by the official OpenAI SDK.

const WORKER = `
import { createGate } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { llm } from '@modelgate/llm'
import { createStandIn } from '@modelgate/llm/testing'

const standIn = createStandIn()
const gate = createGate({
  models: [],
  plugins: [
    mask(),
    llm({ models: [{ name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', fetch: (url, init) => standIn.fetch(new Request(url, init)) } }] }),
  ],
  routes: [{
    name: 'sent',
    methods: ['GET'],
    path: '/sent',
    operation: 'custom',
    async terminal(ctx) { ctx.body = standIn.calls.map((c) => c.body) },
  }],
})
export default { fetch: gate.fetch }
`

let url: string
let runtime: WorkerdRuntime

beforeAll(async () => {
  const source = await bundleWorker({
    contents: WORKER,
    aliases: workspaceAliases(['core', 'mask', 'llm', 'llm/testing']),
  })
  expect(source).not.toMatch(/from\s*["']node:|require\(["']node:/)
  runtime = await startWorkerd([{ name: 'gate', source }], { readyPath: '/v1/models' })
  url = runtime.urls.gate!
}, 60_000)

afterAll(() => runtime?.stop())

describe('the LLM routes in workerd', () => {
  it('mask prompts and restore plain and streamed answers for the OpenAI SDK', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'client-key', maxRetries: 0 })
    const messages = [{ role: 'user' as const, content: SAMPLE_PROMPT }]
    const plain = await client.chat.completions.create({ model: 'chat', messages })
    expect(plain.choices[0]!.message.content).toBe(SAMPLE_PROMPT)
    let text = ''
    for await (const c of await client.chat.completions.create({
      model: 'chat',
      messages,
      stream: true,
    }))
      text += c.choices[0]?.delta.content ?? ''
    expect(text).toBe(SAMPLE_PROMPT)
    const sent = await (await fetch(`${url}/sent`)).text()
    expect(sent).toContain('<EMAIL_1>')
    for (const v of Object.values(SAMPLE_PII)) expect(sent).not.toContain(v)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bundleWorker,
  startWorkerd,
  workspaceAliases,
  type WorkerdRuntime,
} from '@modelgate/testkit/workerd'
import { attributionCase, SAMPLE_PII as PII } from '../testing/index.js'

// Prompt attributions and privacy routing at the edge: one Worker (`export default { fetch }`)
// with the mask and llm plugins, privacyRouting from @modelgate/hybrid, and two stand-ins inside
// it, a local (edge) model server and a cloud one.

const WORKER = `
import { createGate } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { createUpstream, llm } from '@modelgate/llm'
import { createStandIn } from '@modelgate/llm/testing'
import { privacyRouting } from '@modelgate/hybrid'

const local = createStandIn({ decode: 'continue' })
const cloud = createStandIn({ decode: 'continue' })
const via = (s) => (url, init) => s.fetch(new Request(url, init))
const gate = createGate({
  models: [],
  plugins: [
    mask({ detector: { ner: false } }),
    llm({
      models: [{ name: 'chat', upstream: { type: 'openai', url: 'http://cloud/v1', fetch: via(cloud) } }],
      select: privacyRouting({
        local: createUpstream({ type: 'openai', url: 'http://local/v1', fetch: via(local) }, 'chat'),
        neverLeave: { '*': ['US_SSN'] },
      }),
    }),
  ],
  routes: [{
    name: 'sent',
    methods: ['GET'],
    path: '/sent',
    operation: 'custom',
    async terminal(ctx) {
      ctx.body = { local: local.calls.map((c) => c.body), cloud: cloud.calls.map((c) => c.body) }
    },
  }],
})
export default { fetch: gate.fetch }
`

let url: string
let runtime: WorkerdRuntime

beforeAll(async () => {
  const source = await bundleWorker({
    contents: WORKER,
    aliases: workspaceAliases([
      'core',
      'mask',
      'llm',
      'llm/testing',
      'explain',
      'backend-trees',
      'hybrid',
      'backend-remote',
      'client',
    ]),
  })
  expect(source).not.toMatch(/from\s*["']node:|require\(["']node:/)
  runtime = await startWorkerd([{ name: 'gate', source }], { readyPath: '/v1/models' })
  url = runtime.urls.gate!
}, 60_000)

afterAll(() => runtime?.stop())

const post = (path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const sent = async () =>
  (await (await fetch(`${url}/sent`)).json()) as { local: unknown[]; cloud: unknown[] }

describe('prompt attributions and privacy routing in workerd', () => {
  it('explains an answer by the sentence that holds it, within the call budget, masked', async () => {
    const c = attributionCase(11)
    const res = await post('/v1/explain/chat/completions', {
      model: 'chat',
      max_tokens: 12,
      stop: '.',
      messages: [{ role: 'user', content: c.prompt }],
      explain: { method: 'kernel_shap', keepLast: true },
    })
    expect(res.status).toBe(200)
    const { explanation } = (await res.json()) as {
      explanation: { ranking: number[]; calls: number; segments: unknown[] }
    }
    expect(explanation.segments).toHaveLength(c.sentences.length)
    expect(explanation.ranking[0]).toBe(c.deciding)
    expect(explanation.calls).toBeLessThanOrEqual(32)
    const { cloud } = await sent()
    expect(cloud).toHaveLength(explanation.calls)
  })

  it('answers a prompt with a never-leave entity from the local server only', async () => {
    const before = await sent()
    const prompt = `Check SSN ${PII.ssn} for ${PII.email}.`
    const res = await post('/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: prompt }],
    })
    expect(res.status).toBe(200)
    const after = await sent()
    expect(after.cloud).toHaveLength(before.cloud.length)
    expect(after.local).toHaveLength(before.local.length + 1)
    expect(JSON.stringify(after.local)).not.toContain(PII.ssn)
  })
})

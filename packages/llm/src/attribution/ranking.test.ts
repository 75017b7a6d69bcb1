import { createGate } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { afterAll, describe, expect, it } from 'vitest'
import { llm } from '../llm/index.js'
import { attributionCase, createStandIn } from '../testing/index.js'
import type { PromptExplanation } from './explain.js'

// The deciding sentence ranks first: random retrieval questions (4 to 16 sentences, one of which
// holds the answer; attributionCase) explained through the gate within 32 upstream calls, the
// stand-in a model that reads its prompt and continues it. Each method and score must rank the
// deciding sentence first, alone, in at least 95 % of the cases. The mask plugin runs without its
// statistical layer, which tags the made-up project names in some sentences and not in others
// (the note and the question would then name different projects); contacts are masked all the
// same.

const standIn = createStandIn({ decode: 'continue' })
const upstream = {
  fetch: (url: string, init: RequestInit) => standIn.fetch(new Request(url, init)),
}
const gate = createGate({
  models: [],
  plugins: [
    mask({ detector: { ner: false } }),
    llm({
      models: [
        { name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', ...upstream } },
        { name: 'claude', upstream: { type: 'anthropic', url: 'http://standin', ...upstream } },
      ],
    }),
  ],
})
afterAll(() => gate.close())

type Route = 'completions' | 'chat' | 'messages'

function body(route: Route, prompt: string, explain: Record<string, unknown>) {
  if (route === 'completions') return { model: 'chat', prompt, max_tokens: 12, stop: '.', explain }
  const messages = [{ role: 'user', content: prompt }]
  if (route === 'messages')
    return { model: 'claude', max_tokens: 12, stop_sequences: ['.'], messages, explain }
  return { model: 'chat', max_tokens: 12, stop: '.', messages, explain }
}

const PATHS: Record<Route, string> = {
  completions: '/v1/explain/completions',
  chat: '/v1/explain/chat/completions',
  messages: '/v1/explain/messages',
}

async function rate(route: Route, method: string, score: string, cases: number) {
  let first = 0
  for (let seed = 1; seed <= cases; seed++) {
    const c = attributionCase(seed)
    const before = standIn.calls.length
    const res = await gate.fetch(
      new Request(`http://gate${PATHS[route]}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(route, c.prompt, { method, score, keepLast: true, seed })),
      }),
    )
    expect(res.status).toBe(200)
    const e = ((await res.json()) as { explanation: PromptExplanation }).explanation
    expect(e.segments).toHaveLength(c.sentences.length)
    expect(e.calls).toBeLessThanOrEqual(32)
    expect(standIn.calls.length - before).toBe(e.calls)
    const top = e.segments[e.ranking[0]!]!.value
    const alone = e.segments.filter((s) => s.value === top).length === 1
    if (e.ranking[0] === c.deciding && alone) first++
  }
  return first / cases
}

describe('prompt attributions rank the deciding sentence first within 32 calls', () => {
  it.each([
    ['completions', 'leave_one_out', 'echo', 100],
    ['completions', 'kernel_shap', 'echo', 100],
    ['completions', 'context_cite', 'echo', 100],
    ['chat', 'context_cite', 'prompt_logprobs', 50],
    ['chat', 'leave_one_out', 'similarity', 50],
    ['chat', 'kernel_shap', 'similarity', 100],
    ['chat', 'context_cite', 'similarity', 50],
    ['messages', 'context_cite', 'similarity', 40],
  ] as const)(
    '%s, %s scored by %s, in at least 95 percent of %i cases',
    async (route, method, score, cases) => {
      expect(await rate(route, method, score, cases)).toBeGreaterThanOrEqual(0.95)
    },
    300_000,
  )
})

import { audit, createAuditTrail } from '@modelgate/audit'
import { createGate, type Gate, type Plugin } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { afterEach, describe, expect, it } from 'vitest'
import { createStandIn, SAMPLE_PII as PII, SAMPLE_REQUESTS } from '../testing/index.js'
import type { LlmOptions } from '../types.js'
import { memorySink } from '../../../audit/test/helpers.js'
import { llm } from './index.js'

// What the audit log records of LLM requests: the token usage of streamed answers too, which is
// known only when the stream ends (the gate observes a streamed answer when it ends).

const gates: Gate[] = []
afterEach(async () => {
  for (const g of gates.splice(0)) await g.close()
})

function setup(options: Partial<LlmOptions> = {}, plugins: Plugin[] = []) {
  const { sink, records } = memorySink()
  const trail = createAuditTrail({ sink })
  const standIn = createStandIn({ seed: 2 })
  const fetch = (url: string, init: RequestInit) => standIn.fetch(new Request(url, init))
  const gate = createGate({
    models: [],
    plugins: [
      audit({ trail }),
      ...plugins,
      mask(),
      llm({
        models: [
          { name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', fetch } },
          { name: 'claude', upstream: { type: 'anthropic', url: 'http://standin', fetch } },
        ],
        ...options,
      }),
    ],
  })
  gates.push(gate)
  return { gate, records, trail, standIn }
}

const post = (gate: Gate, path: string, body: unknown) =>
  gate.fetch(
    new Request(`http://gate${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
  input_tokens?: number
  output_tokens?: number
}

describe('audit records of LLM requests', () => {
  it.each(Object.keys(SAMPLE_REQUESTS))(
    'hold the token usage of streamed answers as of plain ones (%s)',
    async (path) => {
      const { gate, records, trail, standIn } = setup()
      const plain = await post(gate, path, SAMPLE_REQUESTS[path]!(false))
      const usage = ((await plain.json()) as { usage: Usage }).usage
      const res = await post(gate, path, SAMPLE_REQUESTS[path]!(true))
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).toContain(PII.email)
      // The gate asked for the usage; the client, which did not, gets no usage chunk.
      if (path === '/v1/chat/completions' || path === '/v1/completions') {
        expect(standIn.calls[1]!.body.stream_options).toEqual({ include_usage: true })
        expect(text).not.toContain('"usage"')
      }
      await trail.flush()
      expect(records).toHaveLength(2)
      const [a, b] = records.map((r) => r.facts.llm as Record<string, unknown>)
      expect(b).toMatchObject({ stream: true, end: 'done' })
      expect(a!.promptTokens).toBe(usage.prompt_tokens ?? usage.input_tokens)
      expect(a!.completionTokens).toBe(usage.completion_tokens ?? usage.output_tokens)
      expect([b!.promptTokens, b!.completionTokens]).toEqual([a!.promptTokens, a!.completionTokens])
    },
  )

  it('asks a server that refuses stream_options for no usage (streamUsage: false)', async () => {
    const standIn = createStandIn()
    const { gate, records, trail } = setup({
      models: [
        {
          name: 'chat',
          upstream: {
            type: 'openai',
            url: 'http://standin/v1',
            streamUsage: false,
            fetch: (url, init) => standIn.fetch(new Request(url, init)),
          },
        },
      ],
    })
    const res = await post(
      gate,
      '/v1/chat/completions',
      SAMPLE_REQUESTS['/v1/chat/completions']!(true),
    )
    await res.text()
    expect(standIn.calls[0]!.body.stream_options).toBeUndefined()
    await trail.flush()
    expect(records[0]!.facts.llm).not.toHaveProperty('completionTokens')
  })
})

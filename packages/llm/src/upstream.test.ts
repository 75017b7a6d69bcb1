import { GateError } from '@modelgate/core'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openAiHandler } from './openai.js'
import { relay, type StreamSummary } from './relay.js'
import { nodeFetch } from './node/index.js'
import type { UpstreamConfig } from './types.js'
import { createUpstream } from './upstream.js'

// A real server on loopback whose behaviour each test picks by path.
let server: NodeServer
const seen: Array<{ path: string; search: string; headers: Headers }> = []
let flaky = 0

beforeAll(async () => {
  server = await serveNode(
    {
      async fetch(request: Request) {
        const { pathname: path, search } = new URL(request.url)
        seen.push({ path, search, headers: request.headers })
        if (path.endsWith('/slow/chat/completions')) await new Promise((r) => setTimeout(r, 2000))
        if (path.endsWith('/flaky/chat/completions') && flaky-- > 0)
          return new Response('{}', { status: 503, headers: { 'retry-after-ms': '5' } })
        if (path.endsWith('/moved/chat/completions'))
          return new Response(null, { status: 302, headers: { location: 'http://elsewhere/' } })
        if (path.endsWith('/silent/chat/completions')) {
          const body = new ReadableStream({
            start(c) {
              c.enqueue(
                new TextEncoder().encode(
                  'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
                ),
              )
            },
          })
          return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
        }
        return Response.json({ ok: true, model: (await request.json()).model })
      },
    },
    { port: 0 },
  )
})

afterAll(() => server?.close())

const call = (stream = false, signal = new AbortController().signal) => ({
  path: '/chat/completions',
  body: { messages: [] },
  stream,
  signal,
})

// Every behaviour holds with the global fetch and with the Node one.
for (const [label, fetch] of [
  ['global fetch', undefined],
  ['nodeFetch', nodeFetch()],
] as const) {
  const make = (config: UpstreamConfig, model: string) =>
    createUpstream({ ...config, ...(fetch ? { fetch } : {}) }, model)

  describe(`createUpstream (${label})`, () => {
    it('sends the upstream model name and the configured key, never more than one credential', async () => {
      const up = make(
        { type: 'openai', url: `${server.url}/v1`, model: 'm-1', apiKeyEnv: 'LLM_TEST_KEY' },
        'chat',
      )
      const { response, done } = await up.send({ ...call(), env: { LLM_TEST_KEY: 'sk-env' } })
      expect(await response.json()).toEqual({ ok: true, model: 'm-1' })
      done()
      expect(seen.at(-1)!.headers.get('authorization')).toBe('Bearer sk-env')
      const azure = make(
        {
          type: 'openai',
          url: `${server.url}/openai/deployments/d?api-version=2024-10-21`,
          apiKey: 'az',
          apiKeyHeader: 'api-key',
        },
        'chat',
      )
      ;(await azure.send(call())).done()
      expect(seen.at(-1)!.path).toBe('/openai/deployments/d/chat/completions')
      expect(seen.at(-1)!.search).toBe('?api-version=2024-10-21')
      expect(seen.at(-1)!.headers.get('api-key')).toBe('az')
      const anthropic = make(
        { type: 'anthropic', url: server.url, apiKey: async () => 'sk-ant' },
        'claude',
      )
      ;(await anthropic.send({ ...call(), path: '/messages' })).done()
      expect(seen.at(-1)!.path).toBe('/v1/messages')
      expect(seen.at(-1)!.headers.get('x-api-key')).toBe('sk-ant')
      expect(seen.at(-1)!.headers.get('anthropic-version')).toBe('2023-06-01')
      expect(() =>
        make({ type: 'openai', url: server.url, headers: { authorization: 'x' } }, 'm'),
      ).toThrow(/apiKey/)
      expect(() => make({ type: 'openai', url: 'ftp://x' }, 'm')).toThrow(/http/)
      expect(() => make({ type: 'openai', url: server.url, retires: 2 } as never, 'm')).toThrow(
        /retires/,
      )
    })

    it('retries 503 honouring retry-after, and gives up with the last answer', async () => {
      flaky = 2
      const up = make({ type: 'openai', url: `${server.url}/flaky`, retryBaseDelayMs: 1 }, 'm')
      const ok = await up.send(call())
      expect(ok.response.status).toBe(200)
      expect(ok.attempts).toBe(3)
      ok.done()
      flaky = 5
      const tired = await make(
        { type: 'openai', url: `${server.url}/flaky`, retries: 1 },
        'm',
      ).send(call())
      expect(tired.response.status).toBe(503)
      expect(tired.attempts).toBe(2)
      tired.done()
    })

    it('answers 504 after timeoutMs, 503 for an unreachable server, 502 for a redirect', async () => {
      const slow = make({ type: 'openai', url: `${server.url}/slow`, timeoutMs: 100 }, 'm')
      await expect(slow.send(call())).rejects.toMatchObject({
        status: 504,
        code: 'upstream_timeout',
      })
      const gone = make(
        { type: 'openai', url: 'http://127.0.0.1:9/v1', retries: 1, retryBaseDelayMs: 1 },
        'm',
      )
      await expect(gone.send(call())).rejects.toMatchObject({
        status: 503,
        code: 'upstream_unavailable',
      })
      const moved = make({ type: 'openai', url: `${server.url}/moved` }, 'm')
      await expect(moved.send(call())).rejects.toMatchObject({ status: 502 })
    })

    it('stops at once when the caller goes away', async () => {
      const slow = make({ type: 'openai', url: `${server.url}/slow` }, 'm')
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 50)
      const started = Date.now()
      const error = await slow.send(call(false, controller.signal)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(GateError)
      expect((error as GateError).code).toBe('client_closed')
      expect(Date.now() - started).toBeLessThan(1000)
    })

    it('ends a stream that falls silent with an error event after idleTimeoutMs', async () => {
      const up = make({ type: 'openai', url: `${server.url}/silent`, idleTimeoutMs: 150 }, 'm')
      const result = await up.send(call(true))
      let summary: StreamSummary | undefined
      const text = await new Response(
        relay(
          result,
          openAiHandler(undefined, { stripUsage: false, countText: false }),
          (s) => (summary = s),
        ),
      ).text()
      expect(text).toContain('"content":"Hi"')
      expect(text).toContain('"code":"upstream_error"')
      expect(summary!.end).toBe('upstream_error')
    })
  })
}

import {
  createServer,
  request,
  type ClientRequest,
  type IncomingMessage,
  type Server,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { createGate, type GateFacts, type GateOutcome, type Plugin } from '@modelgate/core'
import { serveNode } from '@modelgate/edge/node'
import { mask } from '@modelgate/mask'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { llm } from '../llm/index.js'
import { nodeFetch } from './index.js'

// Streamed answers on Node end to end: node:http client → serveNode → observer → mask → llm
// (relay) → nodeFetch → an upstream over node:http. The bytes are pushed from socket to socket;
// these tests hold the guarantees of the Web stream path: backpressure reaches the upstream, a
// client that goes away stops the upstream call, and observers see how the stream ended.

const EMAIL = 'ana.lopez@example.org'
const EVENTS = 40_000
const FILLER = 'lorem ipsum '.repeat(80) // ~1 KB of text per event
const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`

let upstream: Server
let upstreamUrl: string
/** What the upstream wrote of its long answer, and whether it waits for its socket to drain. */
const fast = { written: 0, waiting: false, finished: false }
let endlessClosed: Promise<void> | undefined

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (req.url!.startsWith('/endless/')) {
      endlessClosed = new Promise((resolve) => res.once('close', resolve))
      const timer = setInterval(() => res.write(chunk('la ')), 5)
      res.once('close', () => clearInterval(timer))
      return
    }
    // As fast as the socket takes it: a long answer that quotes the masked e-mail address.
    let i = 0
    const pump = () => {
      fast.waiting = false
      while (i < EVENTS) {
        const piece = chunk(i % 1000 === 0 ? `<EMAIL_1> ${i} ` : `${FILLER}${i} `)
        i++
        fast.written += piece.length
        if (!res.write(piece)) {
          fast.waiting = true
          res.once('drain', pump)
          return
        }
      }
      res.end('data: [DONE]\n\n')
      fast.finished = true
    }
    pump()
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})

afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((resolve) => upstream.close(resolve))
})

interface Observed {
  /** The gate's address. */
  url: string
  /** What the observer saw of each request. */
  seen: Array<{ outcome: GateOutcome; facts: GateFacts }>
}

/** Runs `test` against a gate with an observer on loopback, closed after it. */
async function onNode(
  options: { observerDelayMs?: number; idleTimeoutMs?: number },
  test: (gate: Observed) => Promise<void>,
): Promise<void> {
  const seen: Array<{ outcome: GateOutcome; facts: GateFacts }> = []
  const observer: Plugin = Object.assign(
    async function observer(_ctx: unknown, next: () => Promise<void>) {
      await next()
      // A plugin still at work after the answer came: the reply is written after it.
      if (options.observerDelayMs) await new Promise((r) => setTimeout(r, options.observerDelayMs))
    },
    {
      onResponse(ctx: { facts: GateFacts }, outcome: GateOutcome) {
        seen.push({ outcome, facts: ctx.facts })
      },
    },
  ) as Plugin
  const fetch = nodeFetch()
  const idle = options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}
  const gate = createGate({
    models: [],
    plugins: [
      observer,
      mask(),
      llm({
        models: [
          {
            name: 'fast',
            upstream: { type: 'openai', url: `${upstreamUrl}/fast/v1`, fetch, ...idle },
          },
          {
            name: 'endless',
            upstream: { type: 'openai', url: `${upstreamUrl}/endless/v1`, fetch, ...idle },
          },
        ],
      }),
    ],
  })
  const server = await serveNode(gate, { port: 0 })
  try {
    await test({ url: server.url, seen })
  } finally {
    await server.close()
    await gate.close()
  }
}

/** Starts a streamed chat completion over node:http; resolves with the answer, unread. */
function streamFrom(
  url: string,
  model: string,
  started?: (req: ClientRequest) => void,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      model,
      stream: true,
      messages: [{ role: 'user', content: `Write to ${EMAIL} please.` }],
    })
    const req = request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    req.once('response', resolve).once('error', reject)
    req.end(body)
    started?.(req)
  })
}

const waitFor = async (check: () => boolean, ms = 5000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('streamed answers on Node', () => {
  it('hold the upstream back while the client reads slowly, then relay all of it restored', async () => {
    await onNode({}, async ({ url }) => {
      const res = await streamFrom(url, 'fast')
      expect(res.statusCode).toBe(200)
      res.pause()
      // Unread, the answer piles up no further than the sockets' buffers: the upstream stalls
      // (no progress for 300 ms) before it could write the whole answer.
      let before = -1
      while (fast.written !== before && !fast.finished) {
        before = fast.written
        await new Promise((r) => setTimeout(r, 300))
      }
      expect(fast.finished).toBe(false)
      expect(fast.waiting).toBe(true)

      let text = ''
      res.setEncoding('utf8')
      for await (const piece of res) text += piece
      expect(fast.finished).toBe(true)
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
      expect(text).not.toContain('EMAIL_1')
      expect(text.split(EMAIL).length - 1).toBe(EVENTS / 1000)
    })
  })

  it('stop the upstream call when the client goes away, and observers see client_closed', async () => {
    await onNode({}, async ({ url, seen }) => {
      const res = await streamFrom(url, 'endless')
      let events = 0
      await new Promise<void>((resolve) => {
        res.on('data', (bytes: Buffer) => {
          events += bytes.toString().split('\n\n').length - 1
          if (events >= 3) resolve()
        })
      })
      res.destroy()
      await endlessClosed
      await waitFor(() => seen.length === 1)
      expect(seen[0]!.outcome.error).toBe('client_closed')
      expect(seen[0]!.facts.llm).toMatchObject({ stream: true, end: 'client_closed' })
    })
  })
  it('stop the upstream call when the client left before the reply was written, and say so', async () => {
    await onNode({ observerDelayMs: 300 }, async ({ url, seen }) => {
      const closedBefore = endlessClosed
      await new Promise<void>((resolve) => {
        streamFrom(url, 'endless', (req) => {
          req.on('error', () => resolve())
          setTimeout(() => req.destroy(), 100)
        }).catch(() => resolve())
      })
      await waitFor(() => endlessClosed !== closedBefore)
      await endlessClosed
      await waitFor(() => seen.length === 1)
      expect(seen[0]!.outcome.error).toBe('client_closed')
      expect(seen[0]!.facts.llm).toMatchObject({ end: 'client_closed' })
    })
  })

  it('end the call when the client takes nothing for the idle timeout', async () => {
    await onNode({ idleTimeoutMs: 400 }, async ({ url, seen }) => {
      // A long answer, unread: once the sockets' buffers are full nothing moves for 400 ms.
      const res = await streamFrom(url, 'fast')
      res.pause()
      await waitFor(() => seen.length === 1)
      expect(seen[0]!.facts.llm).toMatchObject({ end: 'upstream_error' })
      res.destroy()
    })
  })
})

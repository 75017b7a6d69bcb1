import { rateLimit } from '@modelgate/access'
import { audit, createAuditTrail } from '@modelgate/audit'
import { createGate, type Gate, type Plugin } from '@modelgate/core'
import { serveListener, serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import { mask } from '@modelgate/mask'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memorySink } from '../../audit/test/helpers.js'
import { llm } from './llm/index.js'
import { nodeFetch } from './node/index.js'
import { createStandIn, SAMPLE_PII as PII, SAMPLE_REQUESTS } from './testing/index.js'

// The LLM routes at the seams: the guards that meet on a streamed answer (audit observing its end,
// a rate limit, masking, the relay) together in more than one order, on every LLM route, plain
// and streamed, through every adapter: the Web fetch handler, serveNode (whose writer takes the
// relay's push source) and Express. The upstream is the stand-in on loopback, its streams cut at
// random byte boundaries, called with nodeFetch. Invariants: no value reaches the upstream, every
// answer comes back restored with no placeholder left, one audit record per request, and a
// streamed answer's record says how it ended.

let standIn: ReturnType<typeof createStandIn>
let upstream: NodeServer

beforeAll(async () => {
  standIn = createStandIn({ seed: 11, maxSplit: 5 })
  upstream = await serveNode(standIn, { port: 0 })
})
afterAll(() => upstream?.close())

type Guard = 'audit' | 'rateLimit' | 'mask' | 'llm'
const ORDERS: Array<[string, Guard[]]> = [
  ['as documented', ['audit', 'rateLimit', 'mask', 'llm']],
  ['rate limit outermost', ['rateLimit', 'audit', 'mask', 'llm']],
]

function gateWith(order: Guard[]) {
  const { sink, records } = memorySink()
  const trail = createAuditTrail({ sink })
  const fetch = nodeFetch()
  const guards: Record<Guard, Plugin> = {
    audit: audit({ trail }),
    rateLimit: rateLimit({ rules: [{ by: 'model', capacity: 10_000, refillPerSecond: 1_000 }] }),
    mask: mask(),
    llm: llm({
      models: [
        { name: 'chat', upstream: { type: 'openai', url: `${upstream.url}/v1`, fetch } },
        { name: 'claude', upstream: { type: 'anthropic', url: upstream.url, fetch } },
      ],
    }),
  }
  const gate = createGate({ models: [], plugins: order.map((g) => guards[g]) })
  return { gate, records, trail }
}

type Send = (path: string, body: unknown) => Promise<Response>

/** The adapters, each as a way to send one request to the gate. */
async function adapters(
  gate: Gate,
): Promise<{ sends: Array<[string, Send]>; close(): Promise<void> }> {
  const node = await serveNode(gate, { port: 0 })
  const express = await serveListener(createExpressApp(gate), { port: 0 })
  const over =
    (base: string): Send =>
    (path, body) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
  const web: Send = (path, body) =>
    gate.fetch(
      new Request(`http://gate${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    )
  return {
    sends: [
      ['gate.fetch', web],
      ['serveNode', over(node.url)],
      ['Express', over(express.url)],
    ],
    async close() {
      await node.close()
      await express.close()
    },
  }
}

describe('LLM routes at the seams', () => {
  for (const [label, order] of ORDERS) {
    it(`hold every invariant with the guards ${label} (${order.join(' → ')})`, async () => {
      const { gate, records, trail } = gateWith(order)
      const { sends, close } = await adapters(gate)
      try {
        let requests = 0
        for (const [adapter, send] of sends) {
          for (const [path, body] of Object.entries(SAMPLE_REQUESTS)) {
            for (const stream of [false, true]) {
              const where = `${adapter} ${path} stream=${stream}`
              const calls = standIn.calls.length
              const res = await send(path, body(stream))
              requests++
              const text = await res.text()
              expect(res.status, where).toBe(200)
              // Restored byte for byte, and no placeholder of the request left over.
              expect(text, where).toContain(PII.email)
              expect(text, where).not.toMatch(/<(?:EMAIL|PERSON|PHONE|CARD|SSN|IBAN)_\d+>/)
              const sent = JSON.stringify(standIn.calls.slice(calls).map((c) => c.body))
              for (const value of Object.values(PII)) expect(sent, where).not.toContain(value)
            }
          }
        }
        await trail.flush()
        expect(records).toHaveLength(requests)
        for (const r of records) {
          const facts = r.facts.llm as { stream?: boolean; end?: string } | undefined
          expect(facts, r.route).toBeDefined()
          if (facts!.stream) expect(facts!.end).toBe('done')
        }
        expect(records.filter((r) => (r.facts.llm as { stream?: boolean }).stream)).toHaveLength(
          requests / 2,
        )
      } finally {
        await close()
        await gate.close()
      }
    })
  }
})

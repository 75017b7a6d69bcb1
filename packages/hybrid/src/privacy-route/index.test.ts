import { audit, createAuditTrail } from '@modelgate/audit'
import { createGate, type Gate, type GateFacts, type Plugin } from '@modelgate/core'
import { serveListener, serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import { createUpstream, llm, type UpstreamConfig } from '@modelgate/llm'
import { createStandIn, SAMPLE_PII as PII, type StandIn } from '@modelgate/llm/testing'
import { mask } from '@modelgate/mask'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { memorySink } from '../../../audit/test/helpers.js'
import { createCircuitBreaker } from '../breaker.js'
import type { LlmRouteEvent, PrivacyRoutingOptions } from '../types.js'
import { privacyRouting } from './index.js'

// Privacy routing between an edge model server and the cloud, both real servers on loopback
// (the n-gram stand-in), behind a gate with the mask and llm plugins, on both runtimes.

const SENSITIVE = `Please check SSN ${PII.ssn} for ${PII.email}.`
const ORDINARY = `Please write to ${PII.email} today.`

interface Side {
  standIn: StandIn
  server: NodeServer
  config: UpstreamConfig
}

async function side(): Promise<Side> {
  const standIn = createStandIn()
  const server = await serveNode(standIn, { port: 0 })
  return { standIn, server, config: { type: 'openai', url: `${server.url}/v1`, retries: 0 } }
}

/** An upstream whose server is gone: every call is refused by the operating system. */
async function deadUpstream(calls: { n: number }): Promise<UpstreamConfig> {
  const gone = await serveNode(createStandIn(), { port: 0 })
  const url = `${gone.url}/v1`
  await gone.close()
  return {
    type: 'openai',
    url,
    retries: 0,
    fetch: (input, init) => {
      calls.n++
      return fetch(input, init)
    },
  }
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  messages: [{ role: 'user', content }],
  ...extra,
})

function post(target: Gate | string, path: string, body: unknown, headers = {}) {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }
  return typeof target === 'string'
    ? fetch(`${target}${path}`, init)
    : target.fetch(new Request(`http://gate${path}`, init))
}

const sent = (s: StandIn) => JSON.stringify(s.calls.map((c) => c.body))

describe('privacy routing between the edge and the cloud, on both runtimes', () => {
  let local: Side
  let cloud: Side
  let gate: Gate
  let expressServer: NodeServer
  let edgeServer: NodeServer
  const { sink, records } = memorySink()
  const trail = createAuditTrail({ sink })

  beforeAll(async () => {
    local = await side()
    cloud = await side()
    gate = createGate({
      models: [],
      plugins: [
        audit({ trail }),
        mask(),
        llm({
          models: [{ name: 'chat', upstream: cloud.config }],
          select: privacyRouting({
            local: createUpstream(local.config, 'chat'),
            neverLeave: { '*': ['US_SSN', 'CREDIT_CARD'] },
          }),
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
    await local?.server.close()
    await cloud?.server.close()
  })

  const runtimes = [
    { name: 'edge (gate.fetch)', target: () => gate as Gate | string },
    { name: 'node (Express)', target: () => expressServer.url },
    { name: 'node (serveNode)', target: () => edgeServer.url },
  ]

  it.each(runtimes)(
    'answers a prompt with a never-leave entity from the local server, the cloud receiving nothing ($name)',
    async ({ target }) => {
      const cloudBefore = cloud.standIn.calls.length
      const localBefore = local.standIn.calls.length
      const res = await post(target(), '/v1/chat/completions', chat(SENSITIVE))
      expect(res.status).toBe(200)
      expect((await res.json()).choices[0].message.content).toBe(SENSITIVE)
      let streamed = ''
      const stream = await post(target(), '/v1/chat/completions', chat(SENSITIVE, { stream: true }))
      for (const line of (await stream.text()).split('\n'))
        if (line.startsWith('data: {'))
          streamed += JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? ''
      expect(streamed).toBe(SENSITIVE)
      expect(cloud.standIn.calls.length).toBe(cloudBefore)
      expect(local.standIn.calls.length).toBe(localBefore + 2)
      // The local server is inside the trust boundary, yet gets the prompt masked by default.
      expect(sent(local.standIn)).not.toContain(PII.ssn)
      expect(sent(local.standIn)).toContain('<SSN_1>')

      const ordinary = await post(target(), '/v1/chat/completions', chat(ORDINARY))
      expect((await ordinary.json()).choices[0].message.content).toBe(ORDINARY)
      expect(cloud.standIn.calls.length).toBe(cloudBefore + 1)
      expect(local.standIn.calls.length).toBe(localBefore + 2)
      expect(sent(cloud.standIn)).not.toContain(PII.email)
      expect(sent(cloud.standIn)).not.toContain(PII.ssn)

      await trail.flush()
      expect(records.slice(-3).map((r) => r.facts.llmRoute)).toEqual([
        { route: 'local', reason: 'never_leave' },
        { route: 'local', reason: 'never_leave' },
        { route: 'cloud', reason: 'allowed' },
      ])
    },
  )

  it('explains a never-leave prompt with the local server only', async () => {
    const cloudBefore = cloud.standIn.calls.length
    const localBefore = local.standIn.calls.length
    const res = await post(gate, '/v1/explain/chat/completions', {
      ...chat(`Card ${PII.card} was used. It was on Monday. Which card was used?`),
      explain: { method: 'leave_one_out', score: 'similarity' },
    })
    expect(res.status).toBe(200)
    const { explanation } = await res.json()
    expect(local.standIn.calls.length - localBefore).toBe(explanation.calls)
    expect(cloud.standIn.calls.length).toBe(cloudBefore)
    expect(sent(local.standIn)).not.toContain(PII.card)
  })
})

describe('privacy routing policies, breakers and fallback', () => {
  const sides: Side[] = []
  const gates: Gate[] = []
  afterEach(async () => {
    for (const g of gates.splice(0)) await g.close()
    for (const s of sides.splice(0)) await s.server.close()
  })

  async function setup(
    routing: Omit<PrivacyRoutingOptions, 'local'> & { local?: UpstreamConfig },
    cloudConfig?: UpstreamConfig,
    plugins: Plugin[] = [mask()],
  ) {
    const local = await side()
    const cloud = await side()
    sides.push(local, cloud)
    const events: LlmRouteEvent[] = []
    const facts: GateFacts[] = []
    const spy: Plugin = async function spy(ctx, next) {
      facts.push(ctx.facts)
      await next()
    }
    const gate = createGate({
      models: [],
      plugins: [
        spy,
        ...plugins,
        llm({
          models: [{ name: 'chat', upstream: cloudConfig ?? cloud.config }],
          select: privacyRouting({
            ...routing,
            local: createUpstream(routing.local ?? local.config, 'chat'),
            onRoute: (e) => events.push(e),
          }),
        }),
      ],
    })
    gates.push(gate)
    return { gate, local, cloud, events, facts }
  }

  it('takes the never-leave types of the request’s tenant, `*` for the others', async () => {
    const tenant: Plugin = async function tenant(ctx, next) {
      const t = ctx.requestHeaders.get('x-tenant')
      if (t) ctx.principal = { id: 'u', kind: 'test', roles: [], scopes: [], tenant: t }
      await next()
    }
    const { gate, local, cloud, events } = await setup(
      { neverLeave: { '*': ['US_SSN'], acme: ['EMAIL_ADDRESS'] } },
      undefined,
      [tenant, mask()],
    )
    await post(gate, '/v1/chat/completions', chat(ORDINARY), { 'x-tenant': 'acme' })
    await post(gate, '/v1/chat/completions', chat(ORDINARY), { 'x-tenant': 'globex' })
    await post(gate, '/v1/chat/completions', chat(SENSITIVE), { 'x-tenant': 'globex' })
    expect(events.map((e) => [e.tenant, e.route, e.reason])).toEqual([
      ['acme', 'local', 'never_leave'],
      ['globex', 'cloud', 'allowed'],
      ['globex', 'local', 'never_leave'],
    ])
    expect(local.standIn.calls).toHaveLength(2)
    expect(cloud.standIn.calls).toHaveLength(1)
  })

  it('sends prompts the gate could not scan to the local server', async () => {
    const { gate, local, cloud, events } = await setup(
      { neverLeave: { '*': ['US_SSN'] } },
      undefined,
      [],
    )
    const res = await post(gate, '/v1/chat/completions', chat(ORDINARY))
    expect(res.status).toBe(200)
    expect(events.map((e) => e.reason)).toEqual(['not_scanned'])
    expect([local.standIn.calls.length, cloud.standIn.calls.length]).toEqual([1, 0])
  })

  it('sends never-leave prompts unmasked to the local server only when asked to', async () => {
    const { gate, local } = await setup({ neverLeave: { '*': ['US_SSN'] }, unmaskedLocal: true })
    const res = await post(gate, '/v1/chat/completions', chat(SENSITIVE))
    expect((await res.json()).choices[0].message.content).toBe(SENSITIVE)
    expect(sent(local.standIn)).toContain(PII.ssn)
  })

  it('refuses a never-leave request when the local server is down, and never tries the cloud', async () => {
    const tries = { n: 0 }
    const { gate, cloud, facts } = await setup({
      neverLeave: { '*': ['US_SSN'] },
      local: await deadUpstream(tries),
      localBreaker: { failureThreshold: 2, cooldownMs: 60_000 },
    })
    for (let i = 0; i < 4; i++) {
      const res = await post(gate, '/v1/chat/completions', chat(SENSITIVE))
      expect(res.status).toBe(503)
      expect((await res.json()).code).toBe('local_unavailable')
    }
    // Two failures opened the breaker: the next requests were refused without a call.
    expect(tries.n).toBe(2)
    expect(cloud.standIn.calls).toHaveLength(0)
    expect(facts.map((f) => f.llmRoute?.degraded)).toEqual([
      'local_error',
      'local_error',
      'breaker_open',
      'breaker_open',
    ])
    // Ordinary prompts still go to the cloud.
    expect((await post(gate, '/v1/chat/completions', chat(ORDINARY))).status).toBe(200)
    expect(cloud.standIn.calls).toHaveLength(1)
  })

  it('falls back to the local server while the cloud is down, and back to the cloud after a probe', async () => {
    const tries = { n: 0 }
    let cloudUp: Side | undefined
    const dead = await deadUpstream(tries)
    const states: string[] = []
    const breaker = createCircuitBreaker({
      failureThreshold: 2,
      cooldownMs: 150,
      onStateChange: (state) => states.push(state),
    })
    const cloudConfig: UpstreamConfig = {
      ...dead,
      // The cloud comes back on another port once `cloudUp` is set.
      fetch: (input, init) => {
        tries.n++
        const url = cloudUp ? input.replace(dead.url, cloudUp.config.url) : input
        return fetch(url, init)
      },
    }
    const { gate, local, events } = await setup(
      {
        neverLeave: { '*': ['US_SSN'] },
        cloudBreaker: breaker,
      },
      cloudConfig,
    )
    for (let i = 0; i < 3; i++) {
      const res = await post(gate, '/v1/chat/completions', chat(ORDINARY))
      expect(res.status).toBe(200)
      expect((await res.json()).choices[0].message.content).toBe(ORDINARY)
    }
    expect(tries.n).toBe(2)
    expect(local.standIn.calls).toHaveLength(3)
    expect(sent(local.standIn)).not.toContain(PII.email)
    expect(events.filter((e) => e.route === 'local').map((e) => e.degraded)).toEqual([
      'cloud_error',
      'cloud_error',
      'breaker_open',
    ])
    cloudUp = await side()
    sides.push(cloudUp)
    await new Promise((r) => setTimeout(r, 200))
    const probe = await post(gate, '/v1/chat/completions', chat(ORDINARY))
    expect(probe.status).toBe(200)
    expect(cloudUp.standIn.calls).toHaveLength(1)
    expect(local.standIn.calls).toHaveLength(3)
    expect(states).toEqual(['open', 'half-open', 'closed'])
  })

  it('answers with the cloud’s error when fallback is off', async () => {
    const tries = { n: 0 }
    const { gate, local } = await setup(
      { neverLeave: { '*': ['US_SSN'] }, fallback: false },
      await deadUpstream(tries),
    )
    const res = await post(gate, '/v1/chat/completions', chat(ORDINARY))
    expect(res.status).toBe(503)
    expect((await res.json()).code).toBe('upstream_unavailable')
    expect(local.standIn.calls).toHaveLength(0)
  })

  it('checks its options and that both servers speak the model’s protocol', async () => {
    const local = createUpstream({ type: 'openai', url: 'http://127.0.0.1:9/v1' }, 'chat')
    expect(() => privacyRouting({ local, neverLeave: {}, fallbak: true } as never)).toThrow(
      'did you mean "fallback"',
    )
    expect(() => privacyRouting({ local: {} as never, neverLeave: {} })).toThrow(/local/)
    expect(() => privacyRouting({ local, neverLeave: { '*': 'US_SSN' } as never })).toThrow(
      /neverLeave/,
    )
    const { gate } = await setup({
      neverLeave: {},
      local: { type: 'anthropic', url: 'http://127.0.0.1:9' },
    })
    const res = await post(gate, '/v1/chat/completions', chat(ORDINARY))
    expect(res.status).toBe(500)
    expect((await res.json()).code).toBe('privacy_routing_misconfigured')
  })
})

import { afterAll, describe, expect, it } from 'vitest'
import {
  createGate,
  ForbiddenError,
  UnauthorizedError,
  type ModelBackend,
  type Plugin,
} from '@modelgate/core'
import { serveNode } from '@modelgate/edge/node'
import { metrics } from './index.js'
import { traced } from '../../tracing/index.js'
import { audit } from '../../audit/index.js'
import { createAuditTrail } from '../../trail.js'
import type { AuditSink } from '../../types.js'

declare module '@modelgate/core' {
  interface GateFacts {
    masking?: Record<string, number>
  }
}

const backend: ModelBackend = {
  async metadata() {
    return {
      platform: 't',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    if ((inputs[0]!.data as Float32Array)[0] === 13) throw new Error('unlucky input')
    await new Promise((resolve) => setTimeout(resolve, 5))
    return inputs
  },
}
/** `x-user` names the caller; no header is an anonymous request, refused except for health. */
const authenticate: Plugin = async function authenticate(ctx, next) {
  const user = ctx.requestHeaders.get('x-user')
  if (user) ctx.principal = { id: user, kind: 'test', roles: [], scopes: [] }
  else if (ctx.operation !== 'health' && ctx.operation !== 'metrics') throw new UnauthorizedError()
  await next()
}
const policy: Plugin = async function policy(ctx, next) {
  if (ctx.operation !== 'predict') return next()
  const allow = ctx.principal?.id !== 'mallory'
  ctx.decision = { allow, reasons: ['test'], unmask: [] }
  if (!allow) throw new ForbiddenError()
  ctx.facts.masking = { EMAIL_ADDRESS: 2, PHONE_NUMBER: 1 }
  await new Promise((resolve) => setTimeout(resolve, 2))
  await next()
}
const lines: string[] = []
let failing = false
const sink: AuditSink = {
  kind: 'memory',
  async open() {
    return undefined
  },
  async write(entries) {
    if (failing) throw new Error('no space')
    for (const e of entries) lines.push(e.line)
  },
  async close() {},
}
const trail = createAuditTrail({ sink, name: 'main' })
afterAll(() => trail.close())

const infer = (value: number, user: string | null = 'ana') =>
  new Request('http://gate/v2/models/credit/infer', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { 'x-user': user } : {}) },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [value] }],
    }),
  })
const scrape = (user: string | null = 'prometheus') =>
  new Request('http://gate/metrics', { headers: user ? { 'x-user': user } : {} })

const sample = (text: string, name: string) => {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name} `) || (l.startsWith(`${name}{`) && l.includes(' ')))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('metrics plugin', () => {
  it('counts requests, latency, decisions, masked entities, backend errors, batches and audit health', async () => {
    const m = metrics({ trails: [trail] })
    const gate = createGate({
      models: [
        { name: 'credit', version: '2', backend, batching: { maxBatchSize: 8, maxDelayMs: 1 } },
      ],
      plugins: [m, audit({ trail, closeTrail: false }), authenticate, traced(policy)],
    })
    await gate.ready()
    for (let i = 0; i < 3; i++) expect((await gate.fetch(infer(1))).status).toBe(200)
    expect((await gate.fetch(infer(1, 'mallory'))).status).toBe(403)
    expect((await gate.fetch(infer(13))).status).toBe(500)
    failing = true
    expect((await gate.fetch(infer(1))).status).toBe(200)
    failing = false

    const res = await gate.fetch(scrape())
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    expect(
      sample(text, 'modelgate_requests_total{model="credit@2",operation="predict",status="200"}'),
    ).toBe(4)
    expect(
      sample(text, 'modelgate_requests_total{model="credit@2",operation="predict",status="403"}'),
    ).toBe(1)
    expect(
      sample(text, 'modelgate_requests_total{model="credit@2",operation="predict",status="500"}'),
    ).toBe(1)
    expect(
      sample(
        text,
        'modelgate_request_duration_seconds_count{model="credit@2",operation="predict"}',
      ),
    ).toBe(6)
    expect(sample(text, 'modelgate_decisions_total{model="credit@2",decision="allow"}')).toBe(5)
    expect(sample(text, 'modelgate_decisions_total{model="credit@2",decision="deny"}')).toBe(1)
    expect(sample(text, 'modelgate_masked_entities_total{entity="EMAIL_ADDRESS"}')).toBe(10)
    expect(sample(text, 'modelgate_masked_entities_total{entity="PHONE_NUMBER"}')).toBe(5)
    expect(
      sample(text, 'modelgate_backend_errors_total{model="credit@2",code="backend_error"}'),
    ).toBe(1)
    expect(sample(text, 'modelgate_plugin_duration_seconds_count{plugin="policy"}')).toBe(6)
    const selfTime = sample(text, 'modelgate_plugin_duration_seconds_sum{plugin="policy"}')!
    expect(selfTime).toBeGreaterThan(0.005)
    expect(selfTime).toBeLessThan(
      sample(text, 'modelgate_request_duration_seconds_sum{model="credit@2",operation="predict"}')!,
    )
    expect(sample(text, 'modelgate_batch_size{model="credit@2",stat="max"}')).toBe(1)
    expect(sample(text, 'modelgate_audit_records_total{trail="main",sink="memory"}')).toBe(5)
    expect(sample(text, 'modelgate_audit_failures_total{trail="main",sink="memory"}')).toBe(1)
    expect(sample(text, 'modelgate_audit_sink_up{trail="main",sink="memory"}')).toBe(0)
    expect(text).not.toContain('ana')

    expect((await gate.fetch(infer(1))).status).toBe(200)
    const again = await (await m.handler()).text()
    expect(sample(again, 'modelgate_audit_sink_up{trail="main",sink="memory"}')).toBe(1)
    // The five records stored before the failed write, the scrape and the last prediction.
    expect(sample(again, 'modelgate_audit_records_total{trail="main",sink="memory"}')).toBe(7)
    expect(
      sample(again, 'modelgate_requests_total{model="credit@2",operation="predict",status="200"}'),
    ).toBe(5)
    expect(
      sample(again, 'modelgate_requests_total{model="none",operation="metrics",status="200"}'),
    ).toBe(1)
  })

  it('is a route inside the onion: listed first, it still answers only an authenticated caller', async () => {
    const m = metrics()
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [m, authenticate, policy],
    })
    await gate.ready()
    const anonymous = await gate.fetch(scrape(null))
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(await anonymous.json()).toMatchObject({ code: 'unauthorized' })
    expect((await gate.fetch(scrape())).status).toBe(200)
    // Requests refused before the plugin could run (an unknown route) are counted too.
    expect(
      (await gate.fetch(new Request('http://gate/nowhere', { headers: { 'x-user': 'a' } }))).status,
    ).toBe(404)
    const text = await (await m.handler()).text()
    expect(
      sample(text, 'modelgate_requests_total{model="none",operation="metrics",status="401"}'),
    ).toBe(1)
    expect(
      sample(text, 'modelgate_requests_total{model="none",operation="custom",status="404"}'),
    ).toBe(1)
  })

  it('with requirePrincipal: false, answers whoever the plugins let through', async () => {
    const refuseMetrics: Plugin = async function refuseMetrics(ctx, next) {
      if (ctx.operation === 'metrics' && ctx.requestHeaders.get('x-user') !== 'prometheus')
        throw new ForbiddenError()
      await next()
    }
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [metrics({ requirePrincipal: false }), refuseMetrics],
    })
    expect((await gate.fetch(scrape(null))).status).toBe(403)
    expect((await gate.fetch(scrape('prometheus'))).status).toBe(200)
  })

  it('with path: false serves no route; handler serves the text on a separate port', async () => {
    const m = metrics({ path: false })
    const gate = createGate({ models: [{ name: 'credit', backend }], plugins: [m] })
    await gate.ready()
    expect((await gate.fetch(scrape())).status).toBe(404)
    const admin = await serveNode({ fetch: (request: Request) => m.handler(request) }, { port: 0 })
    try {
      const res = await fetch(`http://127.0.0.1:${admin.port}/`)
      expect(res.status).toBe(200)
      expect(
        sample(
          await res.text(),
          'modelgate_requests_total{model="none",operation="custom",status="404"}',
        ),
      ).toBe(1)
    } finally {
      await admin.close()
    }
  })

  it('rejects bad options at factory time, naming a mistyped key', () => {
    expect(() => metrics({ path: 'metrics' })).toThrow(TypeError)
    expect(() => metrics({ prefix: 'bad-prefix' })).toThrow(TypeError)
    expect(() => metrics({ trails: {} as never })).toThrow(TypeError)
    expect(() => metrics({ requirePrincipal: 'yes' as never })).toThrow(TypeError)
    expect(() => metrics({ requirePrinciple: false } as never)).toThrow(
      'metrics: unknown option "requirePrinciple" (did you mean "requirePrincipal"?)',
    )
  })
})

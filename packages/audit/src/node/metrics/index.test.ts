import { afterAll, describe, expect, it } from 'vitest'
import { createGate, ForbiddenError, type ModelBackend, type Plugin } from '@modelgate/core'
import { metrics } from './index.js'
import { traced } from '../tracing/index.js'
import { audit } from '../audit/index.js'
import { createAuditTrail } from '../trail.js'
import type { AuditSink } from '../types.js'

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
const policy: Plugin = async function policy(ctx, next) {
  const allow = ctx.request.headers.get('x-user') !== 'mallory'
  ctx.decision = { allow, reasons: ['test'], unmask: [] }
  if (!allow) throw new ForbiddenError()
  ctx.audit.masking = { EMAIL_ADDRESS: 2, PHONE_NUMBER: 1 }
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

const infer = (value: number, user = 'ana') =>
  new Request('http://gate/v2/models/credit/infer', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user': user },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [value] }],
    }),
  })

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
      plugins: [m, audit({ trail }), traced(policy)],
    })
    await gate.ready()
    for (let i = 0; i < 3; i++) expect((await gate.fetch(infer(1))).status).toBe(200)
    expect((await gate.fetch(infer(1, 'mallory'))).status).toBe(403)
    expect((await gate.fetch(infer(13))).status).toBe(500)
    failing = true
    expect((await gate.fetch(infer(1))).status).toBe(200)
    failing = false

    const res = await gate.fetch(new Request('http://gate/metrics'))
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
    expect(sample(again, 'modelgate_audit_records_total{trail="main",sink="memory"}')).toBe(6)
    expect(
      sample(again, 'modelgate_requests_total{model="credit@2",operation="predict",status="200"}'),
    ).toBe(5)
  })

  it('rejects bad options at factory time', () => {
    expect(() => metrics({ path: 'metrics' })).toThrow(TypeError)
    expect(() => metrics({ prefix: 'bad-prefix' })).toThrow(TypeError)
    expect(() => metrics({ trails: {} as never })).toThrow(TypeError)
  })

  it('leaves GET /metrics to the gate when path is false', async () => {
    const gate = createGate({
      models: [{ name: 'credit', backend }],
      plugins: [metrics({ path: false })],
    })
    expect((await gate.fetch(new Request('http://gate/metrics'))).status).toBe(404)
  })
})

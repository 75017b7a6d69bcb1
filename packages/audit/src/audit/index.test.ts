import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGate,
  ForbiddenError,
  UnauthorizedError,
  type ModelBackend,
  type Plugin,
} from '@modelgate/core'
import { audit } from './index.js'
import { createAuditTrail } from '../trail.js'
import { jsonlSink } from '../sinks/jsonl.js'
import { verifyAuditFile } from '../verify.js'
import type { AuditRecord, AuditSink } from '../types.js'

const doubler: ModelBackend = {
  async metadata() {
    return {
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    const x = inputs[0]!
    return [
      {
        name: 'y',
        datatype: 'FP32',
        shape: x.shape,
        data: (x.data as Float32Array).map((v) => v * 2),
      },
    ]
  },
}

/** Bearer tokens `user:<id>` stand for principals; `deny` in the id is refused by policy. */
const auth: Plugin = async function auth(ctx, next) {
  if (ctx.operation === 'health') return next()
  const token = ctx.request.headers.get('authorization')?.replace(/^Bearer /, '')
  if (!token?.startsWith('user:')) throw new UnauthorizedError('missing token')
  ctx.principal = { id: token.slice(5), kind: 'test', roles: [], scopes: [], tenant: 'acme' }
  const allow = !ctx.principal.id.includes('deny')
  ctx.decision = { allow, reasons: [allow ? 'rule everyone' : 'rule no-deny'], unmask: [] }
  if (!allow) throw new ForbiddenError('not allowed')
  ctx.audit.masking = { EMAIL_ADDRESS: 2, US_SSN: 1 }
  ctx.audit.explanation = 'kernel_shap'
  await next()
}

const infer = (
  token: string | null,
  body: unknown = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] },
  id?: string,
) =>
  new Request('http://gate/v2/models/m/versions/3/infer', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(id ? { 'x-request-id': id } : {}),
    },
    body: JSON.stringify(body),
  })

const readRecords = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .filter((l) => l.startsWith('{"seq"'))
    .map((l) => JSON.parse(l) as AuditRecord)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-plugin-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('audit plugin', () => {
  it('rejects bad options at factory time', () => {
    expect(() => audit({} as never)).toThrow(TypeError)
    const trail = createAuditTrail({ sink: jsonlSink({ path: join(dir, 'x.jsonl') }) })
    expect(() => audit({ trail, include: 'all' as never })).toThrow(TypeError)
    expect(() => createAuditTrail({ sink: {} as never })).toThrow(TypeError)
    expect(() => jsonlSink({ path: 'a', fsync: 'sometimes' as never })).toThrow(TypeError)
    expect(() =>
      createAuditTrail({
        sink: jsonlSink({ path: 'a' }),
        checkpoint: { key: {} as never, alg: 'RS256' as never },
      }),
    ).toThrow(TypeError)
  })

  it('records every outcome with the facts other plugins left, and never a token or a payload', async () => {
    const path = join(dir, 'outcomes.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'always' }) })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), auth],
    })
    await gate.ready()
    expect((await gate.fetch(infer('user:ana', undefined, 'req-ok'))).status).toBe(200)
    expect((await gate.fetch(infer(null, undefined, 'req-401'))).status).toBe(401)
    expect((await gate.fetch(infer('user:deny-bob', undefined, 'req-403'))).status).toBe(403)
    expect((await gate.fetch(infer('user:ana', { inputs: [] }, 'req-400'))).status).toBe(400)
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    await trail.close()

    const records = await readRecords(path)
    expect(records.map((r) => [r.requestId, r.status, r.error])).toEqual([
      ['req-ok', 200, null],
      ['req-401', 401, 'unauthorized'],
      ['req-403', 403, 'forbidden'],
      ['req-400', 400, 'bad_request'],
    ])
    const ok = records[0]!
    expect(ok).toMatchObject({
      seq: 0,
      principal: 'ana',
      tenant: 'acme',
      model: 'm',
      modelVersion: '3',
      action: 'predict',
      route: 'v2-infer',
      decision: { allow: true, reasons: ['rule everyone'] },
      masking: { EMAIL_ADDRESS: 2, US_SSN: 1 },
      explanation: 'kernel_shap',
    })
    expect(ok.latencyMs).toBeGreaterThan(0)
    expect(records[1]).toMatchObject({ principal: null, decision: null, masking: null })
    expect(records[2]).toMatchObject({
      principal: 'deny-bob',
      decision: { allow: false, reasons: ['rule no-deny'] },
    })
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('Bearer')
    expect(text).not.toContain('user:ana')
    expect((await verifyAuditFile(path)).ok).toBe(true)
  })

  it('fails closed: 503 while the sink cannot write, not-ready health, recovery once it can', async () => {
    const logDir = join(dir, 'later')
    const path = join(logDir, 'audit.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'always' }) })
    let modelCalls = 0
    const counting: Plugin = async function counting(ctx, next) {
      if (ctx.operation === 'predict') modelCalls++
      await next()
    }
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail, failClosed: true }), auth, counting],
    })
    await gate.ready()

    const first = await gate.fetch(infer('user:ana'))
    expect(first.status).toBe(503)
    expect(await first.json()).toEqual({
      error: 'audit log unavailable',
      code: 'audit_unavailable',
    })
    expect(modelCalls).toBe(1)
    expect(trail.health()).toMatchObject({ ok: false, failed: 1, sink: 'jsonl' })
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(503)
    expect((await gate.fetch(infer('user:ana'))).status).toBe(503)
    expect(modelCalls).toBe(1)

    await mkdir(logDir)
    const refusedButRecorded = await gate.fetch(infer('user:ana', undefined, 'while-failing'))
    expect(refusedButRecorded.status).toBe(503)
    expect(trail.health().ok).toBe(true)
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    expect((await gate.fetch(infer('user:ana', undefined, 'after'))).status).toBe(200)
    await trail.close()
    const records = await readRecords(path)
    expect(records.map((r) => [r.requestId, r.status, r.error])).toEqual([
      ['while-failing', 503, 'audit_unavailable'],
      ['after', 200, null],
    ])
  })

  it('fails open by default: the request is served and the failure counted', async () => {
    const broken: AuditSink = {
      kind: 'broken',
      async open() {
        return undefined
      },
      async write() {
        throw new Error('disk full')
      },
      async close() {},
    }
    const errors: unknown[] = []
    const trail = createAuditTrail({ sink: broken, onError: (e) => errors.push(e) })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), auth],
    })
    await gate.ready()
    expect((await gate.fetch(infer('user:ana'))).status).toBe(200)
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    expect(trail.health()).toMatchObject({
      ok: false,
      failed: 1,
      written: 0,
      lastError: 'disk full',
      sink: 'broken',
    })
    expect(errors).toHaveLength(1)
    await trail.close()
  })

  it('fail-open over fsync batch: answers without waiting, writes every record in order, reports a failed write', async () => {
    const path = join(dir, 'grouped.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'batch' }) })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), auth],
    })
    await gate.ready()
    let next = 0
    const worker = async () => {
      while (next < 2000) {
        const i = next++
        const res = await gate.fetch(infer(i % 2 ? 'user:u' : null, undefined, `g${i}`))
        await res.arrayBuffer()
        expect(res.status).toBe(i % 2 ? 200 : 401)
      }
    }
    await Promise.all(Array.from({ length: 64 }, worker))
    expect(trail.health().pending).toBeGreaterThan(0)
    await trail.flush()
    expect(trail.health()).toMatchObject({ ok: true, written: 2000, failed: 0, pending: 0 })
    const records = await readRecords(path)
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i))
    expect(new Set(records.map((r) => r.requestId)).size).toBe(2000)
    expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 2000 })
    await trail.close()

    const errors: unknown[] = []
    const failing = createAuditTrail({
      sink: {
        kind: 'broken',
        durable: false,
        async open() {
          return undefined
        },
        async write() {
          throw new Error('disk full')
        },
        async close() {},
      },
      onError: (e) => errors.push(e),
    })
    const open = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail: failing }), auth],
    })
    await open.ready()
    expect((await open.fetch(infer('user:ana'))).status).toBe(200)
    await failing.flush()
    expect(failing.health()).toMatchObject({ ok: false, failed: 1, lastError: 'disk full' })
    expect(errors).toHaveLength(1)
    await failing.close()
  })

  it('loses no record and answers no 5xx under 10,000 mixed requests, 64 at a time', async () => {
    const path = join(dir, 'load.jsonl')
    const trail = createAuditTrail({ sink: jsonlSink({ path, fsync: 'batch' }) })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail, failClosed: true }), auth],
    })
    await gate.ready()
    const statuses = new Map<number, number>()
    let next = 0
    const worker = async () => {
      while (next < 10_000) {
        const i = next++
        const kind = i % 5
        const req =
          kind === 0
            ? infer(null, undefined, `r${i}`)
            : kind === 1
              ? infer('user:deny', undefined, `r${i}`)
              : kind === 2
                ? infer(
                    'user:u',
                    { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
                    `r${i}`,
                  )
                : infer('user:u', undefined, `r${i}`)
        const res = await gate.fetch(req)
        await res.arrayBuffer()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      }
    }
    await Promise.all(Array.from({ length: 64 }, worker))
    await trail.close()
    expect(Object.fromEntries(statuses)).toEqual({ 200: 4000, 400: 2000, 401: 2000, 403: 2000 })
    const records = await readRecords(path)
    expect(records).toHaveLength(10_000)
    expect(new Set(records.map((r) => r.requestId)).size).toBe(10_000)
    expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 10_000 })
  })
})

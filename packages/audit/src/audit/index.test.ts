import { generateKeyPairSync } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGate,
  ForbiddenError,
  GateError,
  UnauthorizedError,
  type Plugin,
} from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { maskText } from '@modelgate/mask'
import { doublingBackend } from '@modelgate/testkit/fixtures'
import { audit } from './index.js'
import { createAuditTrail } from '../trail.js'
import { jsonlSink } from '../node/sinks/jsonl.js'
import { verifyAuditFile } from '../node/verify.js'
import type { AuditRecord, AuditSink } from '../types.js'
import { memorySink } from '../../test/helpers.js'

declare module '@modelgate/core' {
  interface GateFacts {
    /** A fact of a plugin the audit plugin knows nothing about. */
    loyalty?: unknown
  }
}

const doubler = doublingBackend()

/** Bearer tokens `user:<id>` stand for principals; `deny` in the id is refused by policy. */
const auth: Plugin = async function auth(ctx, next) {
  if (ctx.operation === 'health') return next()
  const token = ctx.requestHeaders.get('authorization')?.replace(/^Bearer /, '')
  if (!token?.startsWith('user:')) throw new UnauthorizedError('missing token')
  ctx.principal = { id: token.slice(5), kind: 'test', roles: [], scopes: [], tenant: 'acme' }
  const allow = !ctx.principal.id.includes('deny')
  ctx.decision = { allow, reasons: [allow ? 'rule everyone' : 'rule no-deny'], unmask: [] }
  if (!allow) throw new ForbiddenError('not allowed')
  ctx.facts.masking = { EMAIL_ADDRESS: 2, US_SSN: 1 }
  await next()
}

/** What the masking plugin does for logs and records: mask personal data in text. */
const redaction: Plugin = async function redaction(ctx, next) {
  ctx.redactText = (text) => maskText(text)
  await next()
}

const inferBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }
const infer = (
  token: string | null,
  body: unknown = inferBody,
  id?: string,
  path = 'm/versions/3',
) =>
  new Request(`http://gate/v2/models/${path}/infer`, {
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
  it('rejects bad options at factory time, naming a mistyped key and the nearest valid one', () => {
    expect(() => audit({} as never)).toThrow(TypeError)
    const trail = createAuditTrail({ sink: memorySink().sink })
    expect(() => audit({ trail, include: 'all' as never })).toThrow(TypeError)
    expect(() => audit({ trail, failClosed: 'yes' as never })).toThrow(TypeError)
    expect(() => audit({ trail, failClosd: true } as never)).toThrow(
      'audit: unknown option "failClosd" (did you mean "failClosed"?)',
    )
    expect(() => createAuditTrail({ sink: {} as never })).toThrow(TypeError)
    expect(() => createAuditTrail({ sink: memorySink().sink, maxQueu: 5 } as never)).toThrow(
      /unknown option "maxQueu" \(did you mean "maxQueue"\?\)/,
    )
    const { privateKey } = generateKeyPairSync('ed25519')
    expect(() =>
      createAuditTrail({
        sink: memorySink().sink,
        checkpoint: { key: privateKey, alg: 'EdDSA', evry: 10 } as never,
      }),
    ).toThrow(/unknown option "checkpoint.evry" \(did you mean "checkpoint.every"\?\)/)
    expect(() => jsonlSink({ path: 'a', fsync: 'sometimes' as never })).toThrow(TypeError)
    expect(() => jsonlSink({ path: 'a', fsnyc: 'always' } as never)).toThrow(/did you mean "fsync"/)
    expect(() =>
      createAuditTrail({
        sink: memorySink().sink,
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
    await gate.close()

    const records = await readRecords(path)
    expect(records.map((r) => [r.clientRequestId, r.status, r.error])).toEqual([
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
      routeName: null,
      decision: { allow: true, reasons: ['rule everyone'] },
      facts: { masking: { EMAIL_ADDRESS: 2, US_SSN: 1 } },
    })
    expect(ok.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(ok.latencyMs).toBeGreaterThan(0)
    expect(records[1]).toMatchObject({ principal: null, decision: null, facts: {} })
    expect(records[2]).toMatchObject({
      principal: 'deny-bob',
      decision: { allow: false, reasons: ['rule no-deny'] },
    })
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('Bearer')
    expect(text).not.toContain('user:ana')
    expect((await verifyAuditFile(path, { allowUnsignedTail: true })).ok).toBe(true)
  })

  it('keys records by the gate’s id: a client’s x-request-id sent twice gives two records', async () => {
    const { sink, records } = memorySink()
    const trail = createAuditTrail({ sink })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), auth],
    })
    await gate.ready()
    const answers = [
      await gate.fetch(infer('user:ana', undefined, 'same-id')),
      await gate.fetch(infer('user:eve', undefined, 'same-id')),
    ]
    await gate.close()
    expect(records).toHaveLength(2)
    expect(records.map((r) => r.clientRequestId)).toEqual(['same-id', 'same-id'])
    expect(records.map((r) => r.principal)).toEqual(['ana', 'eve'])
    expect(records[0]!.requestId).not.toBe(records[1]!.requestId)
    expect(answers.map((a) => a.headers.get('x-request-id'))).toEqual(
      records.map((r) => r.requestId),
    )
  })

  it('gives exactly one record to every request, listed last: refusals by core, by adapters and by plugins before it', async () => {
    const { sink, records } = memorySink()
    const trail = createAuditTrail({ sink })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      limits: { maxBodyBytes: 1024 },
      plugins: [redaction, auth, audit({ trail })],
    })
    await gate.ready()
    const sent: Array<[string, number]> = []
    const send = async (label: string, req: Request) => {
      const res = await gate.fetch(req)
      await res.arrayBuffer()
      sent.push([label, res.status])
    }
    await send('ok', infer('user:ana'))
    await send('refused by a plugin before audit', infer(null))
    await send(
      'unknown route',
      new Request('http://gate/v3/nothing', { headers: { authorization: 'Bearer user:ana' } }),
    )
    await send(
      'wrong method',
      new Request('http://gate/v2/models/m/versions/3/infer', {
        headers: { authorization: 'Bearer user:ana' },
      }),
    )
    await send('too large', infer('user:ana', { inputs: [], pad: 'x'.repeat(4096) }))
    const post = (headers: Record<string, string>, body: string) =>
      new Request('http://gate/v2/models/m/versions/3/infer', {
        method: 'POST',
        headers: { authorization: 'Bearer user:ana', ...headers },
        body,
      })
    await send('unsupported media type', post({ 'content-type': 'application/xml' }, '<x/>'))
    await send('compressed', post({ 'content-encoding': 'gzip' }, 'zzz'))
    // An adapter refusal: a path with dot segments, over a real socket.
    const server = await serveNode(toFetchModule(gate), { port: 0 })
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: server.port, path: '/v2/models/m/../../v2/health/live' },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode!))
          },
        )
        req.on('error', reject)
        req.end()
      })
      sent.push(['dot segments', status])
    } finally {
      await server.close()
    }
    await gate.close()

    expect(sent).toEqual([
      ['ok', 200],
      ['refused by a plugin before audit', 401],
      ['unknown route', 404],
      ['wrong method', 405],
      ['too large', 413],
      ['unsupported media type', 415],
      ['compressed', 415],
      ['dot segments', 400],
    ])
    expect(records.map((r) => [r.status, r.error, r.route])).toEqual([
      [200, null, 'v2-infer'],
      [401, 'unauthorized', 'v2-infer'],
      [404, 'not_found', 'unknown'],
      [405, 'method_not_allowed', 'v2-infer'],
      [413, 'payload_too_large', 'v2-infer'],
      [415, 'unsupported_media_type', 'v2-infer'],
      [415, 'unsupported_content_encoding', 'v2-infer'],
      [400, 'bad_path', 'unknown'],
    ])
    expect(records.at(-1)!.facts).toEqual({ refused: 'bad_path' })
    expect(new Set(records.map((r) => r.requestId)).size).toBe(records.length)
  })

  it('records a new plugin’s facts generically: sanitised, bounded and masked', async () => {
    const { sink, records } = memorySink()
    const trail = createAuditTrail({ sink })
    const loyalty: Plugin = async function loyalty(ctx, next) {
      const deep: Record<string, unknown> = {}
      let level = deep
      for (let i = 0; i < 10; i++) level = (level.next = {}) as Record<string, unknown>
      ctx.facts.loyalty = {
        tier: 'gold',
        note: 'call ana@example.org \u202eevil\u202c about 512-34-8821',
        score: 0.25,
        notANumber: Number.NaN,
        since: new Date(0),
        big: 12n,
        run: () => 'dropped',
        items: Array.from({ length: 100 }, (_, i) => i),
        long: 'y'.repeat(5000),
        deep,
      }
      // What access's plugins also leave as facts: the record holds them once, in its own fields.
      Object.assign(ctx.facts, {
        principal: 'ana',
        tenant: 'acme',
        decision: { allow: true, action: 'predict', reasons: ['rule everyone'] },
      })
      await next()
    }
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), redaction, auth, loyalty],
    })
    await gate.ready()
    expect((await gate.fetch(infer('user:ana'))).status).toBe(200)
    await gate.close()
    expect(records[0]).toMatchObject({
      principal: 'ana',
      tenant: 'acme',
      decision: { allow: true, reasons: ['rule everyone'], action: 'predict' },
    })
    expect(Object.keys(records[0]!.facts).sort()).toEqual(['_truncated', 'loyalty', 'masking'])
    const facts = records[0]!.facts as { loyalty: Record<string, unknown>; _truncated?: boolean }
    const fact = facts.loyalty
    expect(fact).toMatchObject({
      tier: 'gold',
      score: 0.25,
      notANumber: null,
      since: '1970-01-01T00:00:00.000Z',
      big: '12',
    })
    expect(fact.note).toBe('call <EMAIL_ADDRESS> \ufffdevil\ufffd about <US_SSN>')
    expect(fact.run).toBeUndefined()
    expect(fact.items).toHaveLength(32)
    expect((fact.long as string).length).toBe(256)
    expect(JSON.stringify(fact.deep)).toBe('{"next":{"next":{}}}')
    expect(facts._truncated).toBe(true)
    expect(JSON.stringify(records[0])).not.toMatch(/ana@example|512-34|\u202e/)
  })

  it('caps and masks URL text of unauthenticated requests: an unknown model name', async () => {
    const { sink, records } = memorySink()
    const trail = createAuditTrail({ sink })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [redaction, audit({ trail })],
    })
    const name = encodeURIComponent(`ana@example.org\u202e${'z'.repeat(300)}`)
    expect((await gate.fetch(infer(null, inferBody, undefined, name))).status).toBe(404)
    expect(
      (
        await gate.fetch(
          infer(null, inferBody, undefined, `m/versions/${encodeURIComponent('512-34-8821')}`),
        )
      ).status,
    ).toBe(404)
    await gate.close()
    expect(records[0]!.model).toMatch(/^<EMAIL_ADDRESS>\ufffdz+…$/)
    expect(records[0]!.model!.length).toBe(64)
    expect(records[0]!.error).toBe('model_not_found')
    expect(records[1]).toMatchObject({ model: 'm', modelVersion: '<US_SSN>' })
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
    expect((await gate.fetch(new Request('http://gate/v2/health/live'))).status).toBe(200)
    expect((await gate.fetch(infer('user:ana'))).status).toBe(503)
    expect(modelCalls).toBe(1)

    await mkdir(logDir)
    const refusedButRecorded = await gate.fetch(infer('user:ana', undefined, 'while-failing'))
    expect(refusedButRecorded.status).toBe(503)
    expect(trail.health().ok).toBe(true)
    expect((await gate.fetch(new Request('http://gate/v2/health/ready'))).status).toBe(200)
    expect((await gate.fetch(infer('user:ana', undefined, 'after'))).status).toBe(200)
    await gate.close()
    const records = await readRecords(path)
    expect(records.map((r) => [r.clientRequestId, r.status, r.error])).toEqual([
      ['while-failing', 503, 'audit_unavailable'],
      ['after', 200, null],
    ])
  })

  it('fails closed when listed last too: the failed record replaces the answer with 503', async () => {
    let failing = true
    const records: AuditRecord[] = []
    const trail = createAuditTrail({
      sink: {
        kind: 'flaky',
        async open() {
          return undefined
        },
        async write(entries) {
          if (failing) throw new Error('disk full')
          for (const e of entries) if (e.type === 'record') records.push(e.record)
        },
        async close() {},
      },
    })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [auth, audit({ trail, failClosed: true })],
    })
    const refused = await gate.fetch(infer(null))
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as { code: string }).code).toBe('audit_unavailable')
    failing = false
    expect((await gate.fetch(infer(null))).status).toBe(401)
    await gate.close()
    expect(records.map((r) => r.status)).toEqual([401])
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
    await gate.close()
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
    expect(new Set(records.map((r) => r.clientRequestId)).size).toBe(2000)
    expect(await verifyAuditFile(path, { allowUnsignedTail: true })).toMatchObject({
      ok: true,
      records: 2000,
    })
    await gate.close()

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
    await open.close()
  })

  it('gate.close() flushes and closes the trail with a final checkpoint, unless closeTrail is false', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const owned = memorySink(false)
    const trail = createAuditTrail({
      sink: owned.sink,
      checkpoint: { key: privateKey, alg: 'EdDSA', every: 1000 },
    })
    const gate = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail }), auth],
    })
    await gate.ready()
    expect((await gate.fetch(infer('user:ana'))).status).toBe(200)
    await gate.close()
    expect(owned.entries.map((e) => e.type)).toEqual(['record', 'checkpoint'])
    await expect(trail.append(owned.records[0]!)).rejects.toBeInstanceOf(GateError)

    const shared = memorySink()
    const sharedTrail = createAuditTrail({ sink: shared.sink })
    const other = createGate({
      models: [{ name: 'm', version: '3', backend: doubler }],
      plugins: [audit({ trail: sharedTrail, closeTrail: false })],
    })
    await other.close()
    expect((await sharedTrail.append(owned.records[0]!)).seq).toBe(0)
    await sharedTrail.close()
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
    await gate.close()
    expect(Object.fromEntries(statuses)).toEqual({ 200: 4000, 400: 2000, 401: 2000, 403: 2000 })
    const records = await readRecords(path)
    expect(records).toHaveLength(10_000)
    expect(new Set(records.map((r) => r.clientRequestId)).size).toBe(10_000)
    expect(await verifyAuditFile(path, { allowUnsignedTail: true })).toMatchObject({
      ok: true,
      records: 10_000,
    })
  })
})

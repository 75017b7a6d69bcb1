import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { maskText } from '@modelgate/mask'
import { createGate, ForbiddenError, type ModelBackend, type Plugin } from '@modelgate/core'
import { createLogger, logErrors, requestLog } from './index.js'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return {
    lines,
    destination,
    parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

const backend: ModelBackend = {
  async metadata() {
    return {
      platform: 't',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
    }
  },
  async ready() {
    return true
  },
  async infer() {
    throw new Error('backend exploded while scoring ana@example.org')
  },
}

describe('createLogger', () => {
  it('passes every string of every line through the mask (paired with maskText of @modelgate/mask)', async () => {
    const out = capture()
    const log = createLogger({ mask: (t) => maskText(t), destination: out.destination })
    log.info(
      { note: 'call ana@example.org', nested: { ip: '10.1.2.3' }, count: 1234567890123 },
      'mail to ana@example.org',
    )
    log.error(new Error('lookup failed for ana@example.org'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(out.lines.join('\n')).not.toContain('ana@example.org')
    expect(out.lines.join('\n')).not.toContain('10.1.2.3')
    const [info, error] = out.parsed()
    expect(info).toMatchObject({
      level: 30,
      msg: 'mail to <EMAIL_ADDRESS>',
      note: 'call <EMAIL_ADDRESS>',
      nested: { ip: '<IP_ADDRESS>' },
      count: 1234567890123,
    })
    expect((error!.err as { message: string }).message).toBe('lookup failed for <EMAIL_ADDRESS>')
  })

  it('drops a line whose mask fails instead of writing it unmasked', async () => {
    const out = capture()
    const log = createLogger({
      mask: () => {
        throw new Error('detector down')
      },
      destination: out.destination,
    })
    log.warn({ email: 'ana@example.org' }, 'x')
    await new Promise((resolve) => setImmediate(resolve))
    expect(out.parsed()).toEqual([
      expect.objectContaining({ level: 50, msg: 'log line dropped: masking failed' }),
    ])
    expect(() => createLogger({ mask: 'no' as never })).toThrow(TypeError)
  })
})

describe('requestLog and logErrors', () => {
  it('logs one line per request and masks internal error messages', async () => {
    const out = capture()
    const log = createLogger({ mask: (t) => maskText(t), destination: out.destination })
    const who: Plugin = async function who(ctx, next) {
      ctx.principal = { id: 'user-1', kind: 't', roles: [], scopes: [] }
      await next()
    }
    const gate = createGate({
      models: [{ name: 'm', backend }],
      plugins: [requestLog({ logger: log }), who],
      onError: logErrors(log),
    })
    await gate.ready()
    const body = JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }],
    })
    const res = await gate.fetch(
      new Request('http://gate/v2/models/m/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'rid-1' },
        body,
      }),
    )
    expect(res.status).toBe(500)
    expect(
      (await gate.fetch(new Request('http://gate/v2/models/nope/infer', { method: 'POST', body })))
        .status,
    ).toBe(404)
    await new Promise((resolve) => setImmediate(resolve))
    const lines = out.parsed()
    expect(lines.map((l) => [l.level, l.msg, l.status ?? null])).toEqual([
      [50, 'internal error', null],
      [50, 'request failed', 500],
      [40, 'request refused', 404],
    ])
    expect((lines[0]!.err as { message: string }).message).toBe(
      'backend exploded while scoring <EMAIL_ADDRESS>',
    )
    expect(lines[1]).toMatchObject({
      clientRequestId: 'rid-1',
      model: 'm',
      operation: 'predict',
      route: 'v2-infer',
      code: 'backend_error',
      principal: 'user-1',
    })
    expect(lines[1]!.requestId).toBe(res.headers.get('x-request-id'))
    expect(() => requestLog({} as never)).toThrow(TypeError)
    expect(() => requestLog({ logger: log, levl: 'debug' } as never)).toThrow(
      /unknown option "levl" \(did you mean "level"\?\)/,
    )
    expect(() => createLogger({ mask: (t) => t, destinaton: out.destination } as never)).toThrow(
      /did you mean "destination"/,
    )
  })

  it('logs requests refused before it ran, by an outer plugin or by core', async () => {
    const out = capture()
    const log = createLogger({ destination: out.destination })
    const gatekeeper: Plugin = async function gatekeeper(ctx, next) {
      if (ctx.requestHeaders.get('x-user') !== 'ok') throw new ForbiddenError()
      await next()
    }
    const gate = createGate({
      models: [{ name: 'm', backend }],
      plugins: [gatekeeper, requestLog({ logger: log })],
    })
    expect((await gate.fetch(new Request('http://gate/v2/health/live'))).status).toBe(403)
    const head = { headers: { 'x-user': 'ok' } }
    expect((await gate.fetch(new Request('http://gate/v2/models/m/infer', head))).status).toBe(405)
    await new Promise((resolve) => setImmediate(resolve))
    expect(out.parsed().map((l) => [l.msg, l.status, l.code])).toEqual([
      ['request refused', 403, 'forbidden'],
      ['request refused', 405, 'method_not_allowed'],
    ])
  })
})

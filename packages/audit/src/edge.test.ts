import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair } from 'jose'
import { bundleWorker, startWorkerd, workspaceAliases } from '@modelgate/testkit/workerd'
import { verifyAuditLines } from './verify.js'
import type { AuditRecord } from './types.js'

/** The worker: a gate with the audit plugin of the default entry, over a sink in memory. */
const WORKER = `
import { createGate } from '@modelgate/core'
import { audit, createAuditTrail } from '@modelgate/audit'

const lines = []
const sink = {
  kind: 'memory',
  async open() { return undefined },
  async write(entries) { for (const e of entries) lines.push(e.line) },
  async close() {},
}
const doubler = {
  async metadata() {
    return {
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    }
  },
  async ready() { return true },
  async infer(inputs) {
    return [{ name: 'y', datatype: 'FP32', shape: inputs[0].shape, data: inputs[0].data.map((v) => v * 2) }]
  },
}
async function build(env) {
  const key = await crypto.subtle.importKey('jwk', env.AUDIT_KEY, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  const trail = createAuditTrail({ sink, checkpoint: { key, alg: 'ES256', every: 3 } })
  return createGate({
    models: [{ name: 'm', backend: doubler }],
    plugins: [audit({ trail })],
    routes: [{
      name: 'audit-lines',
      methods: ['GET'],
      path: '/audit-lines',
      operation: 'custom',
      async terminal(ctx) {
        await trail.checkpoint()
        ctx.body = lines.join('\\n')
      },
    }],
  })
}
let gate
export default {
  async fetch(request, env, ctx) {
    gate ??= build(env)
    return (await gate).fetch(request, env, ctx)
  },
}
`

interface Workerd {
  url: string
  publicKey: CryptoKey
  stop(): Promise<void>
}

/** Bundles the worker (`define` replaces globals) and serves it with workerd. */
async function startAuditWorker(define: Record<string, string>): Promise<Workerd> {
  const source = await bundleWorker({
    contents: WORKER,
    aliases: workspaceAliases(['core', 'audit']),
    define,
  })
  // The default entry imports nothing from Node.
  expect(source).not.toMatch(/from\s*["']node:|require\(["']node:/)
  const pair = await generateKeyPair('ES256', { extractable: true })
  const runtime = await startWorkerd([
    {
      name: 'gate',
      source,
      bindings: [{ name: 'AUDIT_KEY', json: await exportJWK(pair.privateKey) }],
    },
  ])
  return { url: runtime.urls.gate!, publicKey: pair.publicKey as CryptoKey, stop: runtime.stop }
}

// workerd offers `process.getBuiltinModule('node:crypto')`, so records are hashed by its
// `crypto.hash`; with `process` defined away, by the portable SHA-256 of runtimes without it.
describe.each([
  ['with node:crypto from process.getBuiltinModule', {}],
  ['with the portable SHA-256 (no process global)', { 'globalThis.process': 'undefined' }],
])('the default entry in workerd, %s', (_name, define) => {
  let edge: Workerd
  beforeAll(async () => {
    edge = await startAuditWorker(define)
  })
  afterAll(() => edge?.stop())

  it('records every request with a hash chain and chained ES256 checkpoints that Node verifies', async () => {
    const { url, publicKey } = edge
    const infer = (data: number[], id?: string) =>
      fetch(`${url}/v2/models/m/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(id ? { 'x-request-id': id } : {}) },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data }] }),
      })
    const statuses = [
      (await infer([1, 2], 'edge-1')).status,
      (await infer([1, 2, 3])).status,
      (await fetch(`${url}/v2/models/nope/infer`, { method: 'POST', body: '{}' })).status,
      (await fetch(`${url}/v2/models/m/infer`)).status,
      (await infer([3, 4], 'edge-1')).status,
      (await fetch(`${url}/nowhere`)).status,
      (await infer([5, 6])).status,
    ]
    expect(statuses).toEqual([200, 400, 404, 405, 200, 404, 200])
    const text = await (await fetch(`${url}/audit-lines`)).text()
    const lines = text.split('\n')
    const records = lines
      .filter((l) => l.startsWith('{"seq"'))
      .map((l) => JSON.parse(l) as AuditRecord)
    expect(records.map((r) => [r.status, r.error, r.clientRequestId])).toEqual([
      [200, null, 'edge-1'],
      [400, 'bad_request', null],
      [404, 'model_not_found', null],
      [405, 'method_not_allowed', null],
      [200, null, 'edge-1'],
      [404, 'not_found', null],
      [200, null, null],
    ])
    expect(new Set(records.map((r) => r.requestId)).size).toBe(7)
    // Hashes and checkpoints made in workerd, checked by Node.
    const result = await verifyAuditLines(
      lines.map((t) => ({ text: t })),
      { key: publicKey },
    )
    expect(result).toMatchObject({ ok: true, records: 7, checkpoints: 3, warnings: [] })
  })
})

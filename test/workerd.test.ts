// Every package that promises to run at the edge runs in workerd, from its default entry: one
// worker bundles the default entries of core, edge, access, crypto, mask, explain, audit,
// backend-trees, client and hybrid (a `node:` import anywhere they reach fails the bundle) and
// serves a gate that uses each; a second worker is exactly `export default { fetch: gate.fetch }`.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '@modelgate/client'
import {
  bundleWorker,
  startWorkerd,
  workspaceAliases,
  type WorkerdRuntime,
} from '@modelgate/testkit/workerd'

const EDGE_PACKAGES = [
  'core',
  'edge',
  'access',
  'crypto',
  'mask',
  'explain',
  'audit',
  'backend-trees',
  'client',
  'hybrid',
] as const

const trees = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../packages/backend-trees/fixtures/xgb-binary.json', import.meta.url)),
    'utf8',
  ),
) as unknown
const treeCases = JSON.parse(
  readFileSync(
    fileURLToPath(
      new URL('../packages/backend-trees/fixtures/xgb-binary.cases.json', import.meta.url),
    ),
    'utf8',
  ),
) as { rows: number[][]; prediction: number[] }

/** The bare module: a gate whose fetch is the module's fetch, as the TSDoc shows it. */
const BARE = `
import { createGate } from '@modelgate/core'
const backend = {
  async metadata() {
    return { platform: 'js', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] }
  },
  async ready() { return true },
  async infer([x]) {
    const rows = x.shape[0]
    return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: new Float32Array(rows).map((_, r) => 2 * x.data[2 * r] + x.data[2 * r + 1]) }]
  },
}
const gate = createGate({ models: [{ name: 'lin', backend }] })
export default { fetch: gate.fetch }
`

/** Every edge package's default entry, each doing its job in one gate. */
const FULL = `
import { createGate } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { authenticate, authorize, createApiKey, rateLimit } from '@modelgate/access'
import { decrypt, encrypt, sign } from '@modelgate/crypto'
import { mask } from '@modelgate/mask'
import { explain } from '@modelgate/explain'
import { audit, createAuditTrail } from '@modelgate/audit'
import { createTreesBackend } from '@modelgate/backend-trees'
import { createClient } from '@modelgate/client'
import { createHybridBackend } from '@modelgate/hybrid'

const linear = {
  async metadata() {
    return { platform: 'js', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] }
  },
  async ready() { return true },
  async infer([x]) {
    const rows = x.shape[0]
    return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: new Float32Array(rows).map((_, r) => 2 * x.data[2 * r] + x.data[2 * r + 1]) }]
  },
}
const schema = {
  features: [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
    { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' },
    { name: 'note', type: 'passthrough', text: true },
  ],
  outputNames: { y: ['score'] },
}
const lines = []
const sink = {
  kind: 'memory',
  async open() { return undefined },
  async write(entries) { for (const e of entries) lines.push(e.line) },
  async close() {},
}

async function build(env) {
  const pepper = 'a-pepper-of-at-least-thirty-two-bytes!'
  const key = await createApiKey({ pepper, principal: { id: 'edge-user', roles: ['user'] } })
  const gate = createGate({
    models: [
      { name: 'lin', backend: linear, schema },
      { name: 'trees', backend: createTreesBackend({ model: env.TREES }) },
      {
        name: 'hybrid',
        backend: createHybridBackend({
          local: linear,
          remote: { url: 'http://127.0.0.1:9', protocol: 'v2', model: 'lin', timeoutMs: 200 },
        }),
      },
    ],
    plugins: [
      audit({ trail: createAuditTrail({ sink }) }),
      decrypt({ keys: [env.GATE_KEY], required: false }),
      sign({ key: env.SIGNING_KEY }),
      authenticate({ apiKeys: { pepper, records: [key.record] } }),
      authorize({ policy: { version: 1, rules: [{ id: 'users', effect: 'allow', principal: { roles: ['user'] }, actions: ['*'] }] } }),
      rateLimit({ rules: [{ by: 'principal', capacity: 1000, refillPerSecond: 100 }] }),
      mask({ key: env.MASK_KEY }),
      explain({ models: { lin: { background: { data: [[0, 0]] }, method: 'exact_shap' } } }),
      encrypt({}),
    ],
    routes: [
      {
        name: 'api-key',
        methods: ['GET'],
        path: '/api-key',
        operation: 'health',
        async terminal(ctx) { ctx.body = { key: key.key } },
      },
      {
        name: 'audit-lines',
        methods: ['GET'],
        path: '/audit-lines',
        operation: 'health',
        async terminal(ctx) { ctx.body = { lines: lines.length } },
      },
      {
        name: 'client-call',
        methods: ['GET'],
        path: '/client-call',
        operation: 'health',
        async terminal(ctx) {
          // The client SDK inside the worker, calling the gate itself, sealed and signed.
          const client = createClient({
            baseUrl: 'http://gate.internal',
            token: undefined,
            headers: { 'x-api-key': key.key },
            encryption: { gateKey: env.GATE_PUBLIC },
            signature: { keys: [env.SIGNING_PUBLIC] },
            fetch: (input, init) => gate.fetch(new Request(input, init)),
          })
          const answer = await client.predict('lin', [{ a: 1, b: 2 }])
          ctx.body = { predictions: answer.predictions, encrypted: true }
        },
      },
    ],
  })
  return toFetchModule(gate)
}
let module
export default {
  async fetch(request, env, ctx) {
    module ??= build(env)
    return (await module).fetch(request, env, ctx)
  },
}
`

describe('the default entries in workerd', () => {
  let runtime: WorkerdRuntime
  let keys: { gatePublic: JWK; signingPublic: JWK }

  beforeAll(async () => {
    const aliases = workspaceAliases(EDGE_PACKAGES)
    const [bare, full] = await Promise.all([
      bundleWorker({ contents: BARE, aliases }),
      bundleWorker({ contents: FULL, aliases }),
    ])
    for (const source of [bare, full]) expect(source).not.toMatch(/(?:from|import\()\s*["']node:/)
    const jwe = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })
    const sig = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const gateKey = { ...(await exportJWK(jwe.privateKey)), kid: 'g1', alg: 'ECDH-ES+A256KW' }
    const signingKey = { ...(await exportJWK(sig.privateKey)), kid: 's1', alg: 'EdDSA' }
    keys = {
      gatePublic: { ...(await exportJWK(jwe.publicKey)), kid: 'g1', alg: 'ECDH-ES+A256KW' },
      signingPublic: { ...(await exportJWK(sig.publicKey)), kid: 's1', alg: 'EdDSA' },
    }
    const maskKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    runtime = await startWorkerd([
      { name: 'bare', source: bare },
      {
        name: 'full',
        source: full,
        bindings: [
          { name: 'TREES', json: trees },
          { name: 'GATE_KEY', json: gateKey },
          { name: 'GATE_PUBLIC', json: keys.gatePublic },
          { name: 'SIGNING_KEY', json: signingKey },
          { name: 'SIGNING_PUBLIC', json: keys.signingPublic },
          { name: 'MASK_KEY', text: maskKey },
        ],
      },
    ])
  }, 60_000)
  afterAll(async () => {
    await runtime?.stop()
  })

  it('serves `export default { fetch: gate.fetch }` as a module', async () => {
    const res = await fetch(`${runtime.urls.bare}/v2/models/lin/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
      }),
    })
    expect(res.status).toBe(200)
    expect((await res.json()).outputs[0].data).toEqual([4])
    expect((await fetch(`${runtime.urls.bare}/v2/models/nope`)).status).toBe(404)
  })

  it('runs access, crypto, mask, explain, audit, trees, client and hybrid from their default entries', async () => {
    const base = runtime.urls.full!
    const { key } = (await (await fetch(`${base}/api-key`)).json()) as { key: string }
    expect(
      (await fetch(`${base}/v1/models/lin:predict`, { method: 'POST', body: '{}' })).status,
    ).toBe(401)

    // access + crypto + mask + explain, through the Node client: sealed, signed, masked, additive.
    const client = createClient({
      baseUrl: base,
      headers: { 'x-api-key': key },
      encryption: { gateKey: keys.gatePublic },
      signature: { keys: [keys.signingPublic] },
    })
    const explained = await client.request('POST', '/v1/models/lin:explain', {
      instances: [{ a: 1, b: 2, email: 'edge.user@example.org', note: 'call +1 212 736 5000' }],
    })
    expect(explained.encrypted).toBe(true)
    expect(explained.signedBy).toBeDefined()
    const body = explained.body as {
      predictions: Array<{ score: number }>
      explanations: Array<{ base_value: number; values: number[][]; data: unknown[][] }>
    }
    expect(body.predictions).toEqual([{ score: 4 }])
    const [e] = body.explanations
    expect(e!.base_value + e!.values[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(4, 5)
    expect(JSON.stringify(explained.body)).not.toContain('edge.user@example.org')

    // backend-trees: the XGBoost model evaluated at the edge, as XGBoost predicts.
    const rows = treeCases.rows.slice(0, 3)
    const trees = await client.infer('trees', {
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [rows.length, rows[0]!.length],
          data: rows.flat(),
        },
      ],
    })
    const prediction = trees.outputs.find((o) => o.name === 'prediction')!.data as number[]
    prediction.forEach((p, i) => expect(p).toBeCloseTo(treeCases.prediction[i]!, 5))

    // hybrid: the cloud is unreachable, the edge answers alone and says so.
    const hybrid = await fetch(`${base}/v2/models/hybrid/infer`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
      }),
    })
    expect(hybrid.status).toBe(200)
    expect((await hybrid.json()).outputs[0].data).toEqual([4])

    // client: the SDK itself runs in the worker, sealing and checking signatures.
    const inWorker = await (await fetch(`${base}/client-call`)).json()
    expect(inWorker).toEqual({ predictions: [{ score: 4 }], encrypted: true })

    // audit: every request above got its record (the 401, explain, trees, hybrid and the client's
    // call inside the worker; the health-operation helper routes are not audited by default).
    let audited = 0
    for (let i = 0; i < 50 && audited < 5; i++) {
      audited = ((await (await fetch(`${base}/audit-lines`)).json()) as { lines: number }).lines
      if (audited < 5) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(audited).toBe(5)
  })
})

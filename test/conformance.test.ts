import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair } from 'jose'
import { authenticate, authorize, createApiKey, rateLimit } from '@modelgate/access'
import { audit, createAuditTrail } from '@modelgate/audit'
import { metrics } from '@modelgate/audit/node'
import { createGate, type Gate, type Plugin } from '@modelgate/core'
import { decrypt, encrypt, sign } from '@modelgate/crypto'
import { explain } from '@modelgate/explain'
import { mask } from '@modelgate/mask'
import { createOnnxBackend } from '@modelgate/backend-onnx'
import { toFetchModule } from '@modelgate/edge'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp } from '@modelgate/express'
import {
  conformanceCases,
  fixturePath,
  MLP_REFERENCE,
  MLP_ROWS,
  runConformance,
  type ConformanceResult,
} from '@modelgate/testkit'

let gate: Gate
let expressServer: Server
let expressUrl: string
let edge: NodeServer

beforeAll(async () => {
  gate = createGate({
    models: [
      { name: 'mlp', version: '1', backend: createOnnxBackend({ path: fixturePath('mlp.onnx') }) },
      { name: 'multi_io', backend: createOnnxBackend({ path: fixturePath('multi_io.onnx') }) },
    ],
  })
  await gate.ready()
  expressServer = createExpressApp(gate).listen(0, '127.0.0.1')
  await new Promise((resolve) => expressServer.once('listening', resolve))
  expressUrl = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`
  edge = await serveNode(toFetchModule(gate), { port: 0 })
})

afterAll(async () => {
  expressServer?.closeAllConnections()
  await new Promise((resolve) => expressServer?.close(resolve))
  await edge?.close()
  await gate?.close()
})

/**
 * Runs cases while sampling memory; reports the peak growth over the starting point. Garbage from
 * discarded upload chunks counts too, so the bound sits between that and a buffered 40 MB body.
 */
async function measured(run: () => Promise<ConformanceResult[]>) {
  const start = process.memoryUsage()
  let peak = 0
  const sample = () => {
    const now = process.memoryUsage()
    peak = Math.max(
      peak,
      now.rss - start.rss,
      now.heapUsed + now.arrayBuffers - start.heapUsed - start.arrayBuffers,
    )
  }
  const timer = setInterval(sample, 5)
  try {
    const results = await run()
    sample()
    return { results, peakGrowth: peak }
  } finally {
    clearInterval(timer)
  }
}

const strip = (results: ConformanceResult[]) => results.map(({ problems: _, ...rest }) => rest)

describe('conformance across adapters', () => {
  const runs: Record<string, ConformanceResult[]> = {}

  it('the direct gate.fetch passes every case', async () => {
    runs.direct = await runConformance((request) => gate.fetch(request))
    expect(runs.direct.filter((r) => r.problems.length > 0)).toEqual([])
    expect(runs.direct).toHaveLength(conformanceCases.length)
  })

  it('createExpressApp on a loopback server passes every case', async () => {
    runs.express = await runConformance(expressUrl)
    expect(runs.express.filter((r) => r.problems.length > 0)).toEqual([])
  })

  it('serveNode(toFetchModule(gate)) on a loopback server passes every case', async () => {
    runs.edge = await runConformance(edge.url)
    expect(runs.edge.filter((r) => r.problems.length > 0)).toEqual([])
  })

  it('the three adapters give identical normalised results', () => {
    expect(strip(runs.express!)).toEqual(strip(runs.direct!))
    expect(strip(runs.edge!)).toEqual(strip(runs.direct!))
  })

  it('memory does not balloon while 40 MB bodies are refused', async () => {
    const huge = conformanceCases.filter((c) => c.name.startsWith('40 MB body'))
    expect(huge).toHaveLength(1)
    const targets = {
      direct: (request: Request) => gate.fetch(request),
      express: expressUrl,
      edge: edge.url,
    }
    for (const [name, target] of Object.entries(targets)) {
      const run = await measured(() =>
        runConformance(target, { cases: [...huge, ...huge, ...huge] }),
      )
      expect(run.results.flatMap((r) => r.problems)).toEqual([])
      expect(run.peakGrowth, `${name} peak growth`).toBeLessThan(32 * 1024 * 1024)
    }
  })

  it('mlp outputs match the numpy reference', () => {
    const expected = JSON.parse(readFileSync(fixturePath('mlp.expected.json'), 'utf8'))
    expect(MLP_ROWS).toEqual(expected.features.slice(0, 2))
    expect(MLP_REFERENCE.probabilities).toEqual(expected.probabilities.slice(0, 2))
    const flat = runs.direct!.find((r) => r.name === 'infer, flat data')!
    const outputs = (flat.body as { outputs: Array<{ name: string; data: number[] }> }).outputs
    const probs = outputs.find((o) => o.name === 'probabilities')!.data
    MLP_REFERENCE.probabilities.flat().forEach((p, i) => expect(probs[i]).toBeCloseTo(p, 5))
    expect(outputs.find((o) => o.name === 'label')!.data).toEqual(MLP_REFERENCE.label)
  })
})

describe('conformance with the full plugin chain on both adapters', () => {
  // A user plugin that mirrors every request to a loopback upstream with the Fetch API, as shadow
  // traffic: it needs a real Request on every adapter, and the gate must still read the same body.
  let upstream: Server
  let upstreamUrl: string
  const mirrored: Array<{ method: string; path: string; bytes: number }> = []
  let chained: Gate
  let chainedExpress: Server
  let chainedExpressUrl: string
  let chainedEdge: NodeServer
  const apiKey = { 'x-api-key': '' }

  beforeAll(async () => {
    const { createServer } = await import('node:http')
    upstream = createServer((req, res) => {
      let bytes = 0
      req.on('data', (chunk: Buffer) => (bytes += chunk.byteLength))
      req.on('end', () => {
        mirrored.push({ method: req.method!, path: req.url!, bytes })
        res.end('ok')
      })
      req.on('error', () => res.destroy())
    }).listen(0, '127.0.0.1')
    await new Promise((resolve) => upstream.once('listening', resolve))
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    const mirror: Plugin = async function mirror(ctx, next) {
      try {
        const copy = new Request(
          new URL(ctx.url.pathname + ctx.url.search, upstreamUrl),
          ctx.request,
        )
        await (await fetch(copy)).arrayBuffer()
      } catch {
        // Shadow traffic never fails the request itself (a body over the limit fails both).
      }
      await next()
    }
    const pepper = 'a-pepper-of-at-least-thirty-two-bytes!'
    const key = await createApiKey({ pepper, principal: { id: 'conformance', roles: ['tester'] } })
    apiKey['x-api-key'] = key.key
    const signing = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwe = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })
    const trail = createAuditTrail({
      sink: { kind: 'memory', async open() {}, async write() {}, async close() {} },
    })
    chained = createGate({
      models: [
        {
          name: 'mlp',
          version: '1',
          backend: createOnnxBackend({ path: fixturePath('mlp.onnx') }),
        },
        { name: 'multi_io', backend: createOnnxBackend({ path: fixturePath('multi_io.onnx') }) },
      ],
      plugins: [
        metrics(),
        audit({ trail }),
        decrypt({
          keys: [{ ...(await exportJWK(jwe.privateKey)), kid: 'g1', alg: 'ECDH-ES+A256KW' }],
          required: false,
        } as never),
        sign({
          key: { ...(await exportJWK(signing.privateKey)), kid: 's1', alg: 'EdDSA' } as never,
        }),
        authenticate({ apiKeys: { pepper, records: [key.record] } }),
        authorize({
          policy: {
            version: 1,
            rules: [
              { id: 'tester', effect: 'allow', principal: { roles: ['tester'] }, actions: ['*'] },
            ],
          },
        }),
        rateLimit({ rules: [{ by: 'principal', capacity: 100_000, refillPerSecond: 10_000 }] }),
        mask({ key: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))) }),
        explain({}),
        encrypt({}),
        mirror,
      ],
    })
    await chained.ready()
    chainedExpress = createExpressApp(chained).listen(0, '127.0.0.1')
    await new Promise((resolve) => chainedExpress.once('listening', resolve))
    chainedExpressUrl = `http://127.0.0.1:${(chainedExpress.address() as AddressInfo).port}`
    chainedEdge = await serveNode(chained, { port: 0 })
  })

  afterAll(async () => {
    chainedExpress?.closeAllConnections()
    await new Promise((resolve) => chainedExpress?.close(resolve))
    await chainedEdge?.close()
    await chained?.close()
    upstream?.closeAllConnections()
    await new Promise((resolve) => upstream?.close(resolve))
  })

  const options = () => ({
    headers: apiKey,
    volatileHeaders: ['x-modelgate-signature', 'ratelimit-remaining'],
  })

  it('passes every case on both adapters with identical results, and the mirror saw each body', async () => {
    const results: Record<string, ConformanceResult[]> = {}
    for (const [name, target] of [
      ['express', chainedExpressUrl],
      ['edge', chainedEdge.url],
    ] as const) {
      mirrored.length = 0
      results[name] = await runConformance(target, options())
      expect(
        results[name]!.filter((r) => r.problems.length > 0),
        name,
      ).toEqual([])
      // Every case reached the mirror with the body the gate read (refused oversize bodies aside).
      const valid = conformanceCases.filter(
        (c) => c.method === 'POST' && c.status === 200 && typeof c.body === 'string',
      )
      for (const c of valid) {
        const seen = mirrored.find(
          (m) => m.path === c.path && m.bytes === Buffer.byteLength(c.body as string),
        )
        expect(seen, `${name}: ${c.name} mirrored`).toBeDefined()
      }
    }
    expect(strip(results.edge!)).toEqual(strip(results.express!))
    // The chain changes no protocol answer: same statuses and bodies as the bare gate, but for
    // the extension the explain plugin adds to the server metadata.
    const bare = await runConformance(edge.url)
    const answers = (runs: ConformanceResult[]) =>
      runs.filter((r) => r.name !== 'server metadata').map((r) => [r.name, r.status, r.body])
    expect(answers(results.edge!)).toEqual(answers(bare))
    expect(results.edge!.find((r) => r.name === 'server metadata')!.body).toMatchObject({
      extensions: ['explain'],
    })
  })
})

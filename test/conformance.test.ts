import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGate, type Gate } from '@modelgate/core'
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

import {
  createGate,
  type FeatureSchemaDefinition,
  type Gate,
  type ModelBackend,
} from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mask } from './index.js'

/**
 * Bounded masking work (issue 15 item 3): a note too large to scan ends in 413 before any
 * scanning, one too costly to scan in 422, and a request within the budget is scanned in slices
 * that let health probes on the same process through.
 */

const schema: FeatureSchemaDefinition = {
  features: [
    { name: 'income', type: 'numeric' },
    { name: 'note', type: 'passthrough', text: true },
  ],
}

const backend: ModelBackend = {
  async metadata() {
    return {
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    return [{ ...inputs[0]!, name: 'y' }]
  },
}

/**
 * Text full of phone numbers that take libphonenumber's slow path (a national prefix after the
 * country code, non-geographic codes), each different so no cached verdict helps.
 */
function phoneHeavy(bytes: number): string {
  const digit = () => String(Math.floor(Math.random() * 10))
  const parts: string[] = []
  let length = 0
  for (let n = 0; length < bytes; n++) {
    const d = Array.from({ length: 14 }, digit)
    const part = `call +44 020 79${d[0]}${d[1]} ${d.slice(2, 6).join('')} or +800 ${d.slice(6, 10).join('')} ${d.slice(10).join('')}, ref ${n}. `
    parts.push(part)
    length += part.length
  }
  return parts.join('').slice(0, bytes)
}

const predict = (note: string) => JSON.stringify({ instances: [{ income: 1, note }] })

let gate: Gate
let server: NodeServer

beforeAll(async () => {
  gate = createGate({
    models: [{ name: 'm', backend, schema }],
    limits: { maxBodyBytes: 16 << 20 },
    plugins: [mask({ budget: { maxScanBytes: 1 << 20, maxScanMs: 60_000 } })],
  })
  await gate.ready()
  server = await serveNode(toFetchModule(gate), { port: 0 })
})

afterAll(async () => {
  await server?.close()
  await gate?.close()
})

describe('masking budget', () => {
  it('refuses a 9 MiB note with 413 before scanning it', async () => {
    const note = 'Call me at +44 020 7946 0958. '.repeat(Math.ceil((9 << 20) / 30))
    const started = performance.now()
    const res = await fetch(`${server.url}/v1/models/m:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: predict(note),
    })
    const elapsed = performance.now() - started
    expect(res.status).toBe(413)
    const body = (await res.json()) as { code: string; error: string }
    expect(body.code).toBe('masking_budget_exceeded')
    expect(body.error).toMatch(/1048576 bytes/)
    // Reading and parsing 9 MiB takes a moment; scanning it would take about a minute here.
    expect(elapsed).toBeLessThan(5000)
  })

  it('refuses a note whose scanning runs past the time budget with 422', async () => {
    const strict = createGate({
      models: [{ name: 'm', backend, schema }],
      plugins: [mask({ budget: { maxScanMs: 50 } })],
    })
    await strict.ready()
    const res = await strict.fetch(
      new Request('http://gate/v1/models/m:predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: predict(phoneHeavy(512 << 10)),
      }),
    )
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'masking_budget_exceeded' })
  })

  it('answers health probes while a request within the budget is masked', async () => {
    // Near the per-request budget (1 MiB), so masking lasts long enough for several probes on any
    // machine.
    const note = phoneHeavy(900 << 10)
    const probes: number[] = []
    // The longest stretch without an event-loop turn, in CPU time of this process: what the
    // masking code controls, whatever else the machine runs.
    let worstStallMs = 0
    let cpu = process.cpuUsage()
    const tick = setInterval(() => {
      const used = process.cpuUsage(cpu)
      worstStallMs = Math.max(worstStallMs, (used.user + used.system) / 1000)
      cpu = process.cpuUsage()
    }, 1)
    let done = false
    const masked = (async () => {
      const started = performance.now()
      const res = await fetch(`${server.url}/v1/models/m:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: predict(note),
      })
      done = true
      return { status: res.status, ms: performance.now() - started, body: await res.text() }
    })()
    await new Promise((resolve) => setTimeout(resolve, 20))
    while (!done) {
      const started = performance.now()
      const res = await fetch(`${server.url}/v2/health/live`)
      await res.arrayBuffer()
      if (!done) probes.push(performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const result = await masked
    clearInterval(tick)
    expect(result.status, result.body).toBe(200)
    expect(probes.length).toBeGreaterThanOrEqual(3)
    expect(worstStallMs).toBeLessThan(150)
    const sorted = [...probes].sort((a, b) => a - b)
    console.log(
      `masking ${note.length >> 10} KiB of phone-heavy text took ${result.ms.toFixed(0)} ms; ` +
        `${probes.length} health probes meanwhile, median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, ` +
        `slowest ${sorted[sorted.length - 1]!.toFixed(1)} ms; longest stall ${worstStallMs.toFixed(1)} ms of CPU`,
    )
  })
})

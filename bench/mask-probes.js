// Health probes while the largest request the mask plugin accepts is being masked: the gate runs
// in its own process (mask plugin with its default per-request budget, default detector), two
// clients keep sending V1 records whose free-text note fills the budget with phone-heavy text and
// names, and a prober asks GET /v2/health/live every 20 ms. Reported: probe latency p50/p99 while
// masking, against the same probes to the idle gate in the same run (goal: p99 ≤ 250 ms), and how
// long one maximal request takes.
// Usage: npx tsc -b && [BENCH_SECONDS=8] node bench/mask-probes.js → prints a table, writes bench/mask-probes-results.json.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)

if (process.argv[2] === '--serve') {
  const { createGate } = await import('../packages/core/dist/index.js')
  const { serveNode } = await import('../packages/edge/dist/node/index.js')
  const { mask } = await import('../packages/mask/dist/index.js')
  const backend = {
    async metadata() {
      return {
        platform: 'js',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer([x]) {
      return [{ name: 'y', datatype: 'FP32', shape: x.shape, data: x.data }]
    },
  }
  const gate = createGate({
    models: [
      {
        name: 'm',
        backend,
        schema: {
          features: [
            { name: 'a', type: 'numeric' },
            { name: 'note', type: 'passthrough', text: true },
          ],
        },
        // The note may be as large as the masking budget.
      },
    ],
    plugins: [mask({ key: crypto.getRandomValues(new Uint8Array(32)) })],
    limits: { maxBodyBytes: 4 << 20 },
  })
  const server = await serveNode(gate, { port: 0 })
  process.stdout.write(`${server.url}\n`)
  process.on('SIGTERM', () => server.close().then(() => process.exit(0)))
} else {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise((resolve) =>
    child.stdout.once('data', (d) => resolve(String(d).trim())),
  )
  let seed = 7
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
  const d = (n) => Array.from({ length: n }, () => rnd(10)).join('')
  const names = ['Ana Lopez', 'Jean-Luc Müller', 'Leila Asante', 'Zara Okafor', 'Dan Tailor']
  const lines = [
    () => `call +44 020 ${d(4)} ${d(4)} or the desk on +44 (0)20 ${d(4)} ${d(4)}. `,
    () => `${names[rnd(names.length)]} asked for a callback on +1 (212) ${d(3)}-${d(4)}. `,
    () => `freephone +800 ${d(4)} ${d(4)}, fax +49 030 ${d(6)}, mail x${d(3)}@example.org. `,
  ]
  let note = ''
  // Just under the default per-request budget of 1 MiB (the record's other bytes are few).
  while (note.length < 1_000_000) note += lines[rnd(lines.length)]()
  const body = JSON.stringify({ instances: [{ a: 1, note }] })

  const probe = async (until) => {
    const latencies = []
    while (performance.now() < until) {
      const start = performance.now()
      const res = await fetch(`${url}/v2/health/live`)
      await res.arrayBuffer()
      latencies.push(performance.now() - start)
      await new Promise((r) => setTimeout(r, 20))
    }
    return latencies
  }
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
  }

  const idle = await probe(performance.now() + 2000)
  const until = performance.now() + SECONDS * 1000
  const masked = []
  let failures = 0
  const client = async () => {
    while (performance.now() < until) {
      const start = performance.now()
      const res = await fetch(`${url}/v1/models/m:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await res.arrayBuffer()
      if (res.status === 200) masked.push(performance.now() - start)
      else failures++
    }
  }
  const [busy] = await Promise.all([probe(until), client()])
  child.kill('SIGTERM')

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    noteBytes: Buffer.byteLength(note),
    probes: {
      idle: { n: idle.length, p50: pct(idle, 50), p99: pct(idle, 99) },
      whileMasking: {
        n: busy.length,
        p50: pct(busy, 50),
        p99: pct(busy, 99),
        max: Math.max(...busy),
      },
    },
    maximalRequest: { n: masked.length, p50Ms: pct(masked, 50), failures },
    goal: { probeP99Ms: 250, met: pct(busy, 99) <= 250 },
  }
  const ms = (v) => `${v.toFixed(1)} ms`
  console.log(`note of ${(results.noteBytes / 1048576).toFixed(2)} MiB, 1 client, ${SECONDS} s`)
  console.log(
    `probes idle:           p50 ${ms(results.probes.idle.p50)}, p99 ${ms(results.probes.idle.p99)}`,
  )
  console.log(
    `probes while masking:  p50 ${ms(results.probes.whileMasking.p50)}, p99 ${ms(results.probes.whileMasking.p99)} (goal ≤ 250 ms: ${results.goal.met ? 'met' : 'NOT met'})`,
  )
  console.log(
    `one maximal request:   p50 ${ms(results.maximalRequest.p50Ms)} (${masked.length} answered, ${failures} refused)`,
  )
  writeFileSync(
    new URL('./mask-probes-results.json', import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  )
}

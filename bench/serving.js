// Serving benchmarks: every comparison runs its baseline and its candidate in the same run, alternating,
// on loopback, and reports the ratio against a goal. Results go to stdout and bench/serving-results.json.
//   node bench/serving.js [--only name,name] [--seconds N] [--rounds N]
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
  },
})
const seconds = Number(args.seconds)
const rounds = Number(args.rounds)

const row = (n, width, seed) =>
  Array.from({ length: n * width }, (_, i) => Math.round(Math.sin(seed * 7919 + i) * 1000) / 1000)
const v2Body = (width, seed = 1) =>
  JSON.stringify({
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, width], data: row(1, width, seed) }],
  })

/**
 * Each comparison: a baseline and a candidate server scenario, the load, and goals on the ratios
 * candidate/baseline (`throughput` = requests/s, `p99` = 99th percentile latency).
 */
const comparisons = [
  {
    name: 'gate-overhead',
    title: 'gate with no plugins vs a bare Express route, same ONNX backend',
    baseline: { server: 'bare-express', model: 'fixture-mlp' },
    candidate: { server: 'gate-express', model: 'fixture-mlp' },
    connections: 32,
    body: v2Body(4),
    goals: { throughput: { min: 0.9 } },
  },
  {
    name: 'batching',
    title:
      'micro-batching on vs off, 64 concurrent clients, ONNX MLP 64x4096x4096x1 (17M weights, seeded)',
    baseline: { server: 'gate-express', model: 'mlp:64x4096x4096x1' },
    candidate: {
      server: 'gate-express',
      model: 'mlp:64x4096x4096x1',
      batching: { maxBatchSize: 64, maxDelayMs: 5 },
    },
    connections: 64,
    body: v2Body(64),
    goals: { throughput: { min: 5 }, p99: { max: 2 } },
  },
]

async function startServer(scenario) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./server.js', import.meta.url)), JSON.stringify(scenario)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const m = /listening (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve)
        child.kill('SIGTERM')
      }),
  }
}

async function load(port, comparison, duration) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v2/models/m/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(comparison.headers ?? {}) },
    body: comparison.body,
    connections: comparison.connections,
    duration,
  })
  return {
    throughput: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  }
}

async function measure(scenario, comparison) {
  const server = await startServer(scenario)
  try {
    await load(server.port, comparison, 1)
    return await load(server.port, comparison, seconds)
  } finally {
    await server.stop()
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length

const results = []
for (const comparison of comparisons) {
  if (args.only && !args.only.split(',').includes(comparison.name)) continue
  const runs = { baseline: [], candidate: [] }
  for (let r = 0; r < rounds; r++) {
    runs.baseline.push(await measure(comparison.baseline, comparison))
    runs.candidate.push(await measure(comparison.candidate, comparison))
  }
  const summary = (list) => ({
    throughput: mean(list.map((x) => x.throughput)),
    p50: mean(list.map((x) => x.p50)),
    p99: mean(list.map((x) => x.p99)),
    errors: list.reduce((a, x) => a + x.errors, 0),
  })
  const baseline = summary(runs.baseline)
  const candidate = summary(runs.candidate)
  const ratios = {
    throughput: candidate.throughput / baseline.throughput,
    p50: candidate.p50 / baseline.p50,
    p99: candidate.p99 / baseline.p99,
  }
  const verdicts = Object.entries(comparison.goals).map(([metric, goal]) => {
    const value = ratios[metric]
    const ok =
      (goal.min === undefined || value >= goal.min) && (goal.max === undefined || value <= goal.max)
    return { metric, value, goal, ok }
  })
  results.push({
    name: comparison.name,
    title: comparison.title,
    baseline,
    candidate,
    ratios,
    verdicts,
  })
  console.log(`\n${comparison.name}: ${comparison.title}`)
  console.log(
    `  baseline  ${baseline.throughput.toFixed(0)} req/s  p50 ${baseline.p50} ms  p99 ${baseline.p99.toFixed(1)} ms  errors ${baseline.errors}`,
  )
  console.log(
    `  candidate ${candidate.throughput.toFixed(0)} req/s  p50 ${candidate.p50} ms  p99 ${candidate.p99.toFixed(1)} ms  errors ${candidate.errors}`,
  )
  for (const v of verdicts) {
    const goal = v.goal.min !== undefined ? `>= ${v.goal.min}` : `<= ${v.goal.max}`
    console.log(
      `  ${v.metric} ratio ${v.value.toFixed(3)} (goal ${goal}) ${v.ok ? 'PASS' : 'MISS'}`,
    )
  }
}

const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
}
await writeFile(
  fileURLToPath(new URL('./serving-results.json', import.meta.url)),
  JSON.stringify({ date: new Date().toISOString(), machine, seconds, rounds, results }, null, 2),
)
console.log(
  `\nmachine: ${machine.cpus} x ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
)

// Queued batch explanations (built packages; needs redis-server on PATH): `modelgate explain
// --queue` on a local redis-server with `modelgate worker` processes (concurrency 1 each).
//   node bench/queue.js [--rows N] [--rounds N] [--chunk-size N]
// 1. Scaling: the same batch (permutation SHAP, 16-feature random XGBoost, 50 trees of depth 6,
//    N rows in chunks of the default size) on tenant "one" (one worker process) and on tenant
//    "two" (two worker processes); rows/s and their ratio (goal ≥ 1.8 on 2 cores). All three
//    workers are started and warmed up (thread, model fetched and loaded) before the rounds.
// 2. Overhead: the 1-worker batch against the same explainer on the same rows in this process
//    (explainInputs, one thread), per chunk, relative to a chunk's in-process time (goal ≤ 5 %),
//    in wall time and in CPU time (workers, redis-server and the submitting process, from /proc,
//    against this process's CPU time), the latter being what other load on the machine disturbs
//    least.
// Each round runs the three set-ups (the order alternates) and a probe of the machine itself: the
// speedup of two CPU-bound processes over one (2 on two free cores; less when the cores are
// shared), the ceiling of any speedup in that round. Figures are medians [min–max] of the rounds. Batch times are the submitting command's own figure (enqueued → output written), so
// process start-up and reading the input are not counted.
// 3. Cost: CPU time per row of each explainer in this process (16-feature XGBoost; the credit-risk
//    TF.js model for Integrated Gradients and beside it for the model-agnostic methods), and what
//    a million rows cost in CPU-hours and wall time on N dedicated worker cores (CPU-hours times
//    the queue's CPU overhead, over N).
// Prints a table and writes bench/queue-results.json.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { explainInputs, readExplainInputs } from '../packages/explain/dist/node/index.js'
import { gaussRows, randomXgb } from './random-trees.js'
import { startRedis } from './redis-server.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '5' },
    'chunk-size': { type: 'string' },
  },
})
const ROWS = Number(args.rows)
const node = (argv, options) => spawn(process.execPath, argv, options)
const root = fileURLToPath(new URL('../', import.meta.url))
const bin = join(root, 'packages/cli/dist/bin.js')
const METHOD = 'permutation_shap'

if (!(await onPath('redis-server'))) {
  console.log('queue bench skipped: redis-server is not on PATH (apt-get install redis-server)')
  process.exit(0)
}

const dir = await mkdtemp(join(os.tmpdir(), 'bench-queue-'))
const file = (name) => join(dir, name)
await writeFile(
  file('xgb16.json'),
  JSON.stringify(randomXgb({ features: 16, trees: 50, depth: 6, seed: 16 })),
)
await writeFile(file('rows.json'), JSON.stringify(gaussRows(ROWS, 16, 7)))
await writeFile(file('bg.json'), JSON.stringify(gaussRows(10, 16, 99)))
await writeFile(file('warm.json'), JSON.stringify(gaussRows(40, 16, 3)))
const explainArgs = [
  '--model',
  file('xgb16.json'),
  '--background',
  file('bg.json'),
  '--method',
  METHOD,
  '--output',
  'prediction',
  '--seed',
  '1',
]
const inputs = await readExplainInputs({
  model: file('xgb16.json'),
  data: file('rows.json'),
  background: file('bg.json'),
  output: 'prediction',
})

const redis = await startRedis()
const ROUNDS = Number(args.rounds)
const chunkArgs = args['chunk-size'] ? ['--chunk-size', args['chunk-size']] : []
// Tenant "one" has one worker process, tenant "two" two: both set-ups stay warm for every round.
const workers = { one: [], two: [] }
const results = { machine: machine(), method: METHOD, rows: ROWS, rounds: [] }

try {
  for (const [tenant, n] of [
    ['one', 1],
    ['two', 2],
  ]) {
    for (let i = 0; i < n; i++) workers[tenant].push(await startWorker(tenant))
    await batch(tenant, 'warm.json', ['--chunk-size', '20'])
  }
  await inProcess()
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['machine', 'in', 'one', 'two'] : ['two', 'one', 'in', 'machine']
    const round = {}
    for (const step of order) {
      if (step === 'in') round.in = await inProcess()
      else if (step === 'machine') round.machine = await machineSpeedup()
      else {
        const threads0 = workers[step].map((w) => threadCpu(w.pid))
        const redis0 = cpuOf([redis.pid])
        const run = await batch(step, 'rows.json', chunkArgs)
        // Per worker, its busiest thread explained the chunks; every other thread is the queue's.
        const deltas = workers[step].map((w, i) => {
          const now = threadCpu(w.pid)
          return [...now].map(([tid, cpu]) => cpu - (threads0[i].get(tid) ?? 0))
        })
        const explaining = deltas.reduce((s, d) => s + Math.max(...d), 0)
        const total = deltas.reduce((s, d) => s + d.reduce((a, b) => a + b, 0), 0)
        run.cpuParts = {
          explaining,
          worker_other_threads: total - explaining,
          redis: cpuOf([redis.pid]) - redis0,
          submitter: run.submitterCpu,
        }
        run.cpu = total + run.cpuParts.redis + run.cpuParts.submitter
        run.queueCpu = run.cpu - explaining
        round[step] = run
      }
    }
    results.rounds.push(round)
    console.log(
      `round ${r + 1}: in-process ${round.in.wall.toFixed(1)} s (CPU ${round.in.cpu.toFixed(2)} s), 1 worker ${round.one.seconds.toFixed(1)} s (CPU ${round.one.cpu.toFixed(2)} s: explaining ${round.one.cpuParts.explaining.toFixed(2)}, other worker threads ${round.one.cpuParts.worker_other_threads.toFixed(2)}, redis ${round.one.cpuParts.redis.toFixed(2)}, submitter ${round.one.cpuParts.submitter.toFixed(2)}), 2 workers ${round.two.seconds.toFixed(1)} s; two CPU-bound processes ×${round.machine.toFixed(2)} one`,
    )
  }
  const chunkSize = results.rounds[0].one.chunkSize
  const chunks = Math.ceil(ROWS / chunkSize)
  const perRound = (f) => spread(results.rounds.map(f))
  results.scaling = {
    chunk_size: chunkSize,
    chunks,
    rows_per_s_in_process: perRound((r) => ROWS / r.in.wall),
    rows_per_s_one_worker: perRound((r) => ROWS / r.one.seconds),
    rows_per_s_two_workers: perRound((r) => ROWS / r.two.seconds),
    speedup_two_over_one: perRound((r) => r.one.seconds / r.two.seconds),
    machine_speedup_two_processes: perRound((r) => r.machine),
    speedup_relative_to_machine: perRound((r) => r.one.seconds / r.two.seconds / r.machine),
    goal_speedup: 1.8,
  }
  results.overhead = {
    wall_per_chunk_ms: perRound((r) => ((r.one.seconds - r.in.wall) * 1000) / chunks),
    wall_relative: perRound((r) => r.one.seconds / r.in.wall - 1),
    cpu_per_chunk_ms: perRound((r) => ((r.one.cpu - r.in.cpu) * 1000) / chunks),
    cpu_relative: perRound((r) => r.one.cpu / r.in.cpu - 1),
    queue_cpu_per_chunk_ms: perRound((r) => (r.one.queueCpu * 1000) / chunks),
    queue_cpu_relative: perRound((r) => r.one.queueCpu / r.in.cpu),
    explaining_in_worker_vs_in_process: perRound((r) => r.one.cpuParts.explaining / r.in.cpu),
    chunk_in_process_ms: perRound((r) => (r.in.wall * 1000) / chunks),
    goal_relative_max: 0.05,
  }
  results.cost = await costs(1 + results.overhead.queue_cpu_relative.median)
} finally {
  const all = [...workers.one, ...workers.two]
  for (const w of all) w.kill('SIGTERM')
  await Promise.all(
    all.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.once('exit', r)))),
  )
  await redis.stop()
  await rm(dir, { recursive: true, force: true })
}

const s = results.scaling
const o = results.overhead
const f = (x, d = 1) => `${x.median.toFixed(d)} [${x.min.toFixed(d)}–${x.max.toFixed(d)}]`
const pct = (x) =>
  `${(x.median * 100).toFixed(1)} % [${(x.min * 100).toFixed(1)}–${(x.max * 100).toFixed(1)}]`
console.log(
  `machine: ${results.machine.cpus} × ${results.machine.model}, load average before ${results.machine.load_average.join(' ')}, after ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
)
console.log(
  `${METHOD}, ${ROWS} rows in ${s.chunks} chunks of ${s.chunk_size}, medians [min–max] of ${ROUNDS} rounds: in-process ${f(s.rows_per_s_in_process)} rows/s, 1 worker ${f(s.rows_per_s_one_worker)}, 2 workers ${f(s.rows_per_s_two_workers)}: ×${f(s.speedup_two_over_one, 2)} (goal ≥ 1.8); in the same rounds the machine ran two CPU-bound processes ×${f(s.machine_speedup_two_processes, 2)} faster than one, so the queue reached ${f(s.speedup_relative_to_machine, 2)} of the machine's own scaling`,
)
console.log(
  `queue overhead per chunk of ${f(o.chunk_in_process_ms, 0)} ms in-process: wall ${f(o.wall_per_chunk_ms, 0)} ms = ${pct(o.wall_relative)}; CPU of the queue (worker threads other than the explaining one, redis-server, submitting process) ${f(o.queue_cpu_per_chunk_ms, 0)} ms = ${pct(o.queue_cpu_relative)} (goal ≤ 5 %); all CPU against in-process ${pct(o.cpu_relative)} (the explaining thread itself ${f(o.explaining_in_worker_vs_in_process, 3)}× the in-process CPU)`,
)
console.log(
  'a million rows (CPU time per row on one core here; wall time on N dedicated worker cores with the queue CPU overhead):',
)
for (const c of results.cost) {
  const walls = Object.entries(c.million_rows_wall_hours)
    .map(([n, h]) => `${n} cores ${formatHours(h)}`)
    .join(', ')
  console.log(
    `  ${c.method.padEnd(20)} ${c.model.padEnd(22)} ${c.cpu_ms_per_row.toFixed(1).padStart(8)} ms/row  ${c.million_rows_cpu_hours.toFixed(1).padStart(8)} CPU-h  (${walls})`,
  )
}
await writeFile(
  new URL('./queue-results.json', import.meta.url),
  JSON.stringify(results, null, 2) + '\n',
)

async function inProcess() {
  const c = process.cpuUsage()
  const t = performance.now()
  await explainInputs(inputs, { method: METHOD, seed: 1 })
  const u = process.cpuUsage(c)
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 }
}

function startWorker(tenant) {
  const argv = [bin, 'worker', '--queue', redis.url, '--tenant', tenant, '--concurrency', '1']
  const child = node([...argv, '--cache-dir', file('cache')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    child.stderr.on('data', () => err.includes('modelgate worker ') && resolve(child))
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)))
  })
}

/**
 * Runs `modelgate explain --queue` to completion: the batch's own seconds (enqueued → output
 * written), its chunk size, and the submitting process's CPU seconds (sampled from /proc).
 */
async function batch(tenant, data, extra) {
  const argv = [
    bin,
    'explain',
    ...explainArgs,
    '--data',
    file(data),
    '--queue',
    redis.url,
    '--tenant',
    tenant,
    ...extra,
    '--out',
    file('out.json'),
  ]
  const { code, stderr, cpu } = await new Promise((resolve) => {
    const child = node(argv, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    // The submitting process's CPU from the moment the batch is enqueued (start-up, reading and
    // enqueueing the input are once per batch, not per chunk).
    let cpu = 0
    let enqueued
    const sample = setInterval(() => (cpu = cpuOf([child.pid]) || cpu), 50)
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d
      if (enqueued === undefined && /^batch \S+: \d+ rows in/m.test(stderr))
        enqueued = cpuOf([child.pid])
    })
    child.once('exit', (code) => {
      clearInterval(sample)
      resolve({ code, stderr, cpu: cpu - (enqueued ?? 0) })
    })
  })
  if (code !== 0) throw new Error(`explain --queue failed (${code}): ${stderr}`)
  const done = /^batch \S+ done: (\d+) rows in ([\d.]+) s/m.exec(stderr)
  const size = /^batch \S+: \d+ rows in \d+ chunks of (\d+)/m.exec(stderr)
  return { seconds: Number(done[2]), chunkSize: Number(size[1]), submitterCpu: cpu }
}

/**
 * What the machine gives two CPU-bound processes at once: 2 × (time of one) / (time of two). On
 * two free cores this is 2; on a shared or throttled machine it is the ceiling of any speedup.
 */
async function machineSpeedup() {
  const spin = () =>
    new Promise((resolve) =>
      node(['-e', 'let x = 0; for (let i = 0; i < 4e8; i++) x += i & 1'], { stdio: 'ignore' }).once(
        'exit',
        resolve,
      ),
    )
  let t = performance.now()
  await spin()
  const one = performance.now() - t
  t = performance.now()
  await Promise.all([spin(), spin()])
  return (2 * one) / (performance.now() - t)
}

/** CPU seconds of each thread of a process, from /proc/<pid>/task/<tid>/stat. */
function threadCpu(pid) {
  const out = new Map()
  for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(tid, cpuOf([`${pid}/task/${tid}`]))
  return out
}

/** CPU seconds (user + system, all threads) of processes, from /proc/<pid>/stat. */
function cpuOf(pids) {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid.pid ?? pid}/stat`, 'utf8')
        .split(') ')[1]
        .split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks / 100
}

function spread(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) }
}

async function costs(cpuFactor) {
  const xgb = inputs
  const treeModel = await readExplainInputs({ model: file('xgb16.json'), data: file('rows.json') })
  const credit = await creditRisk()
  const plan = [
    ['tree_shap', 'xgboost 16 features', treeModel, 400],
    ['permutation_shap', 'xgboost 16 features', xgb, 40],
    ['kernel_shap', 'xgboost 16 features', xgb, 3],
    ['exact_shap', 'xgboost 16 features', xgb, 1],
    ['permutation_shap', 'credit-risk tfjs 14', credit, 40],
    ['kernel_shap', 'credit-risk tfjs 14', credit, 2],
    ['exact_shap', 'credit-risk tfjs 14', credit, 1],
    ['integrated_gradients', 'credit-risk tfjs 14', credit, 40],
  ]
  const out = []
  for (const [method, model, source, rows] of plan) {
    if (!source) continue
    const part = { ...source, rows: source.rows.slice(0, rows) }
    await explainInputs({ ...part, rows: part.rows.slice(0, 1) }, { method })
    const c = process.cpuUsage()
    await explainInputs(part, { method })
    const u = process.cpuUsage(c)
    const cpuMs = (u.user + u.system) / 1000 / rows
    const cpuHours = ((cpuMs / 1000) * 1e6) / 3600
    out.push({
      method,
      model,
      rows_measured: rows,
      cpu_ms_per_row: cpuMs,
      million_rows_cpu_hours: cpuHours,
      million_rows_wall_hours: Object.fromEntries(
        [1, 10, 100].map((n) => [n, (cpuHours * cpuFactor) / n]),
      ),
    })
  }
  return out
}

async function creditRisk() {
  const model = join(root, 'examples/credit-risk/model/model.json')
  const metrics = JSON.parse(
    await readFile(join(root, 'examples/credit-risk/model/metrics.json'), 'utf8'),
  )
  const lines = (await readFile(join(root, 'examples/credit-risk/data/applications.jsonl'), 'utf8'))
    .trim()
    .split('\n')
  const rows = lines.slice(0, 60).map((l) => {
    const r = JSON.parse(l)
    return metrics.columns.map((c) =>
      c.startsWith('purpose=') ? Number(r.purpose === c.slice(8)) : r[c],
    )
  })
  const csv = (list) => [metrics.columns.join(','), ...list.map((r) => r.join(','))].join('\n')
  await writeFile(file('credit.csv'), csv(rows.slice(0, 40)))
  await writeFile(file('credit-bg.csv'), csv(rows.slice(40, 60)))
  try {
    return await readExplainInputs({
      model,
      data: file('credit.csv'),
      background: file('credit-bg.csv'),
    })
  } catch (error) {
    console.log(`credit-risk model skipped: ${error.message}`)
    return undefined
  }
}

function machine() {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? '?',
    load_average: os.loadavg().map((v) => Number(v.toFixed(2))),
    node: process.version,
  }
}

function formatHours(h) {
  return h >= 48
    ? `${(h / 24).toFixed(1)} days`
    : h >= 1
      ? `${h.toFixed(1)} h`
      : `${(h * 60).toFixed(0)} min`
}

async function onPath(command) {
  return new Promise((resolve) => {
    const child = spawn(command, ['--version'], { stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('exit', (code) => resolve(code === 0))
  })
}

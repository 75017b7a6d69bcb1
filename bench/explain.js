// Explanation benchmarks (built packages): Kernel SHAP accuracy against exact values beside a port
// of shap's sampler (same models, budgets and seeds in the same run), TreeSHAP throughput on one
// core (beside the Algorithm 2 port, wall clock and CPU time, repeated) and on two workers, and
// request latency.
//   node bench/explain.js   →   stdout and bench/explain-results.json
import { writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { parseTreeModel } from '../packages/backend-trees/dist/index.js'
import { createTreesBackend } from '../packages/backend-trees/dist/node/index.js'
import { explainModel, modelFromEnsemble, kmeans } from '../packages/explain/dist/index.js'
import { ExplainPool, explain } from '../packages/explain/dist/node/index.js'
import { createGate } from '../packages/core/dist/index.js'
import { treeShapAlgorithm2 } from '../packages/explain/dist/explainers/tree.js'
import { gaussRows, randomXgb } from './random-trees.js'

const relL2 = (a, b) =>
  Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0))
const results = { kernel: [], treeshap: {}, latency: {} }

for (const M of [16, 20]) {
  const ensemble = parseTreeModel(randomXgb({ features: M, trees: 50, depth: 6, seed: M }))
  const background = { data: gaussRows(10, M, 99) }
  const x = gaussRows(10, M, 7)
  const tree = modelFromEnsemble(ensemble)
  const exact = await explainModel({
    model: tree,
    x,
    background,
    method: 'tree_shap',
    treeMode: 'interventional',
  })
  const plain = { width: M, outputs: 1, predict: tree.predict }
  const err = {}
  const variants = {
    shap: { sampler: 'shap', surrogate: 'none' },
    leverage: { sampler: 'leverage', surrogate: 'none' },
    trees: { sampler: 'leverage', surrogate: 'trees' },
    default: {},
  }
  for (const [name, options] of Object.entries(variants)) {
    const per = []
    for (const seed of [0, 1, 2]) {
      const k = await explainModel({
        model: plain,
        x,
        background,
        method: 'kernel_shap',
        ...options,
        seed: seed * 1000,
        bootstrap: 8,
      })
      per.push(x.reduce((s, _, r) => s + relL2(k.values[r], exact.values[r]), 0) / x.length)
    }
    err[name] = { mean: per.reduce((a, b) => a + b, 0) / per.length, per_seed: per }
  }
  const row = {
    features: M,
    budget: 2 * M + 2048,
    shap_sampler_rel_l2: err.shap.mean,
    leverage_rel_l2: err.leverage.mean,
    leverage_tree_surrogate_rel_l2: err.trees.mean,
    default_rel_l2: err.default.mean,
    per_seed: Object.fromEntries(Object.entries(err).map(([k, v]) => [k, v.per_seed])),
    ratio: err.default.mean / err.shap.mean,
    goal_ratio_max: 0.5,
  }
  results.kernel.push(row)
  const pct = (v) => `${(v * 100).toFixed(2)}%`
  console.log(
    `kernel_shap M=${M}: shap sampler ${pct(err.shap.mean)}, leverage ${pct(err.leverage.mean)}, leverage + tree surrogate ${pct(err.trees.mean)}, default (auto) ${pct(err.default.mean)}, ratio ${row.ratio.toFixed(2)} (goal ≤ 0.5)`,
  )
}

const spread = (a) => ({
  median: [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)],
  min: Math.min(...a),
  max: Math.max(...a),
})

{
  const M = 32
  const ensemble = parseTreeModel(randomXgb({ features: M, trees: 100, depth: 8, seed: 5 }))
  const model = modelFromEnsemble(ensemble)
  const x = gaussRows(400, M, 11)
  const flat = Float64Array.from(x.flat())
  const timed = (fn) => {
    const c = process.cpuUsage()
    const t = performance.now()
    fn()
    const u = process.cpuUsage(c)
    return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 }
  }
  await explainModel({ model, x: x.slice(0, 64), method: 'tree_shap' })
  treeShapAlgorithm2(ensemble, flat, 20)
  const wall = []
  const cpu = []
  const ref = []
  for (let i = 0; i < 5; i++) {
    const a = timed(() => treeShapAlgorithm2(ensemble, flat, 100))
    ref.push(100 / a.cpu)
    let done
    const c = process.cpuUsage()
    const t = performance.now()
    done = await explainModel({ model, x, method: 'tree_shap' })
    const u = process.cpuUsage(c)
    wall.push(x.length / ((performance.now() - t) / 1000))
    cpu.push(x.length / ((u.user + u.system) / 1e6))
    void done
  }
  const pool = new ExplainPool({ size: 2 })
  await pool.runSplit({ model, x: x.slice(0, 128), method: 'tree_shap' }, 2)
  const two = []
  const oneSame = []
  for (let i = 0; i < 5; i++) {
    let t = performance.now()
    await explainModel({ model, x, method: 'tree_shap' })
    oneSame.push(x.length / ((performance.now() - t) / 1000))
    t = performance.now()
    await pool.runSplit({ model, x, method: 'tree_shap' }, 2)
    two.push(x.length / ((performance.now() - t) / 1000))
  }
  await pool.close()
  const speedups = two.map((v, i) => v / oneSame[i])
  results.treeshap = {
    trees: 100,
    depth: 8,
    features: M,
    rows: x.length,
    rows_per_s_one_core_wall: spread(wall),
    rows_per_s_one_core_cpu_time: spread(cpu),
    algorithm2_rows_per_s_cpu_time: spread(ref),
    speedup_over_algorithm2_cpu_time: spread(cpu).median / spread(ref).median,
    rows_per_s_two_workers_wall: spread(two),
    two_worker_speedup: spread(speedups),
    goal_rows_per_s: 250,
  }
  const f = (s) => `${s.median.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`
  console.log(
    `tree_shap 100 trees depth 8, one core: ${f(spread(wall))} rows/s wall, ${f(spread(cpu))} rows/s CPU time (goal ≥ 250); Algorithm 2 port ${f(spread(ref))} rows/s CPU time`,
  )
  console.log(
    `tree_shap 2 workers: ${f(spread(two))} rows/s, speedup ×${spread(speedups).median.toFixed(2)} [${spread(speedups).min.toFixed(2)}–${spread(speedups).max.toFixed(2)}]`,
  )
}

{
  const fixture = new URL(
    '../packages/backend-trees/fixtures/xgb-binary.cases.json',
    import.meta.url,
  )
  const rows = JSON.parse(readFileSync(fixture, 'utf8')).rows
  const background = kmeans(rows, 10, { seed: 1 })
  const gate = createGate({
    models: [
      {
        name: 'demo',
        backend: createTreesBackend({
          path: new URL('../packages/backend-trees/fixtures/xgb-binary.json', import.meta.url)
            .pathname,
        }),
      },
    ],
    plugins: [explain({ models: { demo: { background, output: 'prediction' } }, cache: false })],
  })
  await gate.ready()
  for (const explainer of ['tree_shap', 'kernel_shap', 'exact_shap']) {
    const times = []
    for (let i = 0; i < 60; i++) {
      const body = JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 6], data: rows[i % rows.length] }],
        parameters: { explainer, seed: i },
      })
      const t = performance.now()
      const res = await gate.fetch(
        new Request('http://gate/v2/models/demo/explain', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      )
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`status ${res.status}`)
      if (i >= 10) times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    results.latency[explainer] = {
      p50_ms: times[Math.floor(times.length / 2)],
      p99_ms: times[times.length - 1],
      goal_p50_ms: 50,
    }
    console.log(
      `latency ${explainer} (6 features, 10 background rows): p50 ${results.latency[explainer].p50_ms.toFixed(2)} ms (goal ≤ 50)`,
    )
  }
}

await writeFile(
  new URL('./explain-results.json', import.meta.url),
  JSON.stringify(results, null, 2) + '\n',
)
process.exit(0)

// Edge–cloud hybrid: latency of answers at the edge alone vs escalated to the cloud (loopback,
// separate processes, sequential requests, alternating; the edge → cloud hop and the direct cloud
// calls are JWE over mTLS), and the size and accuracy of the quantised credit model against the
// float32 one on the demo data.
//   node bench/hybrid.js [--requests N] [--runtime node|workerd]
// Writes bench/hybrid-results.json.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createTfjsBackend, quantizeTfjsModel } from '../packages/backend-tfjs/dist/index.js'
import { encodeApplications, MODEL_PATH } from '../examples/credit-risk/dist/index.js'
import {
  CONFIDENT_APPLICATION,
  UNCERTAIN_APPLICATION,
  createDemoPki,
  readDemoPki,
  removeDemoPki,
  spawnCloud,
  spawnEdge,
} from '../examples/hybrid/dist/index.js'
import { createSealedFetch } from '../packages/hybrid/dist/index.js'
import { createMtlsFetch } from '../packages/hybrid/dist/node/index.js'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    runtime: { type: 'string', default: 'node' },
  },
})
const requests = Number(args.requests)
const here = fileURLToPath(new URL('.', import.meta.url))

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const summary = (ms) => {
  const sorted = [...ms].sort((a, b) => a - b)
  const r = (v) => Math.round(v * 100) / 100
  return {
    n: sorted.length,
    p50_ms: r(percentile(sorted, 50)),
    p99_ms: r(percentile(sorted, 99)),
    mean_ms: r(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  }
}

async function predict(url, application, doFetch = fetch) {
  const started = performance.now()
  const res = await doFetch(`${url}/v1/models/credit:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [application] }),
  })
  await res.arrayBuffer()
  const ms = performance.now() - started
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  return {
    ms,
    route: res.headers.get('x-modelgate-route'),
    degraded: res.headers.get('x-modelgate-degraded'),
  }
}

async function latency() {
  const pkiDir = await createDemoPki()
  const pki = await readDemoPki(pkiDir)
  const mtls = createMtlsFetch({ cert: pki.edge.certPem, key: pki.edge.keyPem, ca: pki.caPem })
  const sealed = createSealedFetch({ gateKey: pki.jwe.publicJwk, fetch: mtls })
  const cloud = await spawnCloud({ pkiDir })
  const edge = await spawnEdge({ cloudUrl: cloud.url, pkiDir, runtime: args.runtime })
  try {
    for (let i = 0; i < 50; i++) {
      await predict(edge.url, CONFIDENT_APPLICATION)
      await predict(edge.url, UNCERTAIN_APPLICATION)
      await predict(cloud.url, UNCERTAIN_APPLICATION, sealed)
    }
    const edgeOnly = []
    const escalated = []
    const cloudDirect = []
    const routes = { edge: 0, cloud: 0, degraded: 0 }
    for (let i = 0; i < requests; i++) {
      const a = await predict(edge.url, CONFIDENT_APPLICATION)
      const b = await predict(edge.url, UNCERTAIN_APPLICATION)
      const c = await predict(cloud.url, UNCERTAIN_APPLICATION, sealed)
      if (a.route !== 'edge' || b.degraded) routes.degraded++
      if (b.route === 'cloud') routes.cloud++
      if (a.route === 'edge') routes.edge++
      edgeOnly.push(a.ms)
      escalated.push(b.ms)
      cloudDirect.push(c.ms)
    }
    return {
      runtime: args.runtime,
      edge_only: summary(edgeOnly),
      edge_to_cloud: summary(escalated),
      cloud_direct: summary(cloudDirect),
      routes,
    }
  } finally {
    await Promise.all([edge.stop(), cloud.stop()])
    mtls.close()
    await removeDemoPki(pkiDir)
  }
}

async function accuracyOf(modelJson, rows, x) {
  const backend = createTfjsBackend({
    path: modelJson,
    backend: 'cpu',
    warmup: false,
    inputNames: ['features'],
  })
  await backend.load()
  const [p] = await backend.infer([
    { name: 'features', datatype: 'FP32', shape: x.shape, data: x.data },
  ])
  await backend.close()
  let correct = 0
  rows.forEach((r, i) => p.data[i] >= 0.5 === (r.default === 1) && correct++)
  return { accuracy: correct / rows.length, scores: p.data }
}

async function compression() {
  const text = await readFile(join(here, '../examples/credit-risk/data/applications.jsonl'), 'utf8')
  const rows = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  const x = encodeApplications(rows)
  const base = await accuracyOf(MODEL_PATH, rows, x)
  const dir = await mkdtemp(join(os.tmpdir(), 'modelgate-quantize-'))
  const variants = [
    { name: 'uint8', dtype: 'uint8' },
    {
      name: 'uint8 + float16 standardize/gamma',
      dtype: 'uint8',
      overrides: { 'standardize/gamma': 'float16' },
    },
    { name: 'uint16', dtype: 'uint16' },
    { name: 'float16', dtype: 'float16' },
  ]
  const out = []
  try {
    for (const [i, v] of variants.entries()) {
      const result = await quantizeTfjsModel({
        in: MODEL_PATH,
        out: join(dir, String(i)),
        dtype: v.dtype,
        overrides: v.overrides,
      })
      const q = await accuracyOf(result.modelJson, rows, x)
      let maxDiff = 0
      q.scores.forEach((s, j) => (maxDiff = Math.max(maxDiff, Math.abs(s - base.scores[j]))))
      out.push({
        variant: v.name,
        weight_bytes: result.weightBytes,
        float32_weight_bytes: result.originalWeightBytes,
        weight_ratio: Math.round((result.weightBytes / result.originalWeightBytes) * 1000) / 1000,
        model_bytes: result.bytes,
        float32_model_bytes: result.originalBytes,
        model_ratio: Math.round((result.bytes / result.originalBytes) * 1000) / 1000,
        accuracy: Math.round(q.accuracy * 10000) / 10000,
        float32_accuracy: Math.round(base.accuracy * 10000) / 10000,
        accuracy_drop_points: Math.round((base.accuracy - q.accuracy) * 10000) / 100,
        max_probability_change: Math.round(maxDiff * 10000) / 10000,
      })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { data: 'examples/credit-risk/data/applications.jsonl', rows: rows.length, variants: out }
}

const quantization = await compression()
for (const v of quantization.variants) {
  console.log(
    `${v.variant.padEnd(36)} weights ${v.weight_bytes} B (${(v.weight_ratio * 100).toFixed(1)} % of float32), ` +
      `model ${(v.model_ratio * 100).toFixed(1)} %, accuracy ${(v.accuracy * 100).toFixed(2)} % ` +
      `(float32 ${(v.float32_accuracy * 100).toFixed(2)} %, drop ${v.accuracy_drop_points} points)`,
  )
}
const timing = await latency()
for (const key of ['edge_only', 'edge_to_cloud', 'cloud_direct']) {
  const s = timing[key]
  console.log(
    `${key.padEnd(14)} p50 ${s.p50_ms} ms  p99 ${s.p99_ms} ms  (n=${s.n}, ${timing.runtime} edge)`,
  )
}
const goals = (() => {
  const check = (v) => ({
    size_ok: v.weight_ratio <= 0.3,
    accuracy_ok: v.accuracy_drop_points <= 0.5,
  })
  return Object.fromEntries(quantization.variants.map((v) => [v.variant, check(v)]))
})()
console.log('goals (weights <= 30 % of float32, accuracy drop <= 0.5 points):')
for (const [variant, g] of Object.entries(goals)) {
  console.log(
    `  ${variant.padEnd(36)} size ${g.size_ok ? 'met' : 'NOT met'}, accuracy ${g.accuracy_ok ? 'met' : 'NOT met'}`,
  )
}
const results = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version },
  latency: timing,
  quantization,
  goals,
}
await writeFile(join(here, 'hybrid-results.json'), `${JSON.stringify(results, null, 2)}\n`)
await stat(join(here, 'hybrid-results.json'))
console.log('wrote bench/hybrid-results.json')

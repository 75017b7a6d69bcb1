// LLM routes: added time to first token and throughput of streamed chat completions through the
// gate (mask + llm plugins, serveNode, upstream calls with nodeFetch as `modelgate serve` makes
// them) against direct calls to the upstream, at 1 and 64 concurrent streams, and at 64 with the
// gate calling its upstream through Node's global fetch; and the cost of masking one 2 KB prompt.
// The upstream replays the stand-in's answer (an n-gram model over o200k) one token every
// --token-delay ms over node:http; it and each gate run in their own processes on loopback, the
// client runs here and reports each process's CPU share and event-loop delay. Every prompt holds
// personal data, so each request through the gate is masked and each answer restored; direct
// calls send the prompt as the gate sends it on (masked) and get the same answer. A pass-through
// proxy in plain node:http stands in the gate's place once more, as a floor for any Node relay.
// Prompt attributions: random retrieval questions (attributionCase: 4 to 16 sentences, one of
// which holds the answer) explained through the gate within 32 upstream calls by each method and
// score, against the stand-in reading its prompt like a base model: how often the deciding
// sentence ranks first, the calls taken, and the time of one explanation against one plain
// completion of the same prompt through the same gate.
//   node bench/llm.js [--rounds N] [--pairs N] [--token-delay MS] [--cases N]
//                     [--only http|in-process|masking|attributions]
// Writes bench/llm-results.json (--only updates its section of it).
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    role: { type: 'string' },
    upstream: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    pairs: { type: 'string', default: '4' },
    'token-delay': { type: 'string', default: '10' },
    cases: { type: 'string', default: '100' },
    only: { type: 'string' },
    fetch: { type: 'string', default: 'node' },
  },
})
const here = fileURLToPath(new URL('.', import.meta.url))
const PROMPT =
  'Hello, I am Ana Lopez (ana.lopez@example.org, +1 415-555-2671). Please confirm the refund to card 4111 1111 1111 1111 and the IBAN DE89 3704 0044 0532 0130 00 for the account of Maria Garcia, SSN 536-22-8745. Thanks a lot for your help with this request today.'

function child(role, extra = []) {
  const script = fileURLToPath(import.meta.url)
  const flags =
    process.env.LLM_BENCH_PROFILE === role ? ['--cpu-prof', '--cpu-prof-dir=/tmp/llm-prof'] : []
  const proc = spawn(
    process.execPath,
    [...flags, script, '--role', role, '--token-delay', args['token-delay'], ...extra],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  )
  /** The CPU time and event-loop delay of the child since the last call. */
  const usage = () =>
    new Promise((resolve) => {
      proc.once('message', resolve)
      proc.send('usage')
    })
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.stdout.once('data', (d) => resolve({ proc, url: String(d).trim(), usage }))
  })
}

/**
 * Measures this process's CPU time, event-loop delay and GC pauses from now; the returned function
 * reads them (CPU in ms, delay percentiles in ms, pauses) and starts over.
 */
function usageMeter() {
  const resolutionMs = 1
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs })
  histogram.enable()
  let cpu = process.cpuUsage()
  // Garbage-collection pauses: how many, the longest, and their total.
  let gc = { count: 0, max: 0, total: 0 }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++
      gc.total += e.duration
      gc.max = Math.max(gc.max, e.duration)
    }
  }).observe({ entryTypes: ['gc'] })
  // The histogram holds the intervals between timer turns: the delay is what exceeds the period.
  const late = (ns) => round(Math.max(0, ns / 1e6 - resolutionMs))
  return () => {
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    const out = {
      cpu_ms: round((used.user + used.system) / 1000),
      loop_delay_p50_ms: late(histogram.percentile(50)),
      loop_delay_p99_ms: late(histogram.percentile(99)),
      loop_delay_max_ms: late(histogram.max),
      gc_pauses: gc.count,
      gc_pause_max_ms: round(gc.max),
      gc_pause_total_ms: round(gc.total),
    }
    histogram.reset()
    gc = { count: 0, max: 0, total: 0 }
    return out
  }
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round = (v) => Math.round(v * 100) / 100

/**
 * One streamed chat completion: time to the first non-empty content delta, and the completion
 * tokens the upstream reports in the stream's usage chunk (asked for with `include_usage`), which
 * counts the same tokens on both paths whether or not the gate sends a chunk whose text it holds
 * back whole.
 */
async function stream(call) {
  const started = performance.now()
  const res = await call()
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
  const decoder = new TextDecoder()
  let ttft
  let tokens = 0
  let buffer = ''
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true })
    let at
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, at)
      buffer = buffer.slice(at + 2)
      if (event.includes('"completion_tokens"'))
        tokens = JSON.parse(event.slice('data: '.length)).usage.completion_tokens
      const content = event.includes('"content":"') && !event.includes('"content":""')
      if (ttft === undefined && content && !event.includes('"role"'))
        ttft = performance.now() - started
    }
  }
  if (tokens === 0) throw new Error('the stream carried no usage')
  return { ttft, tokens }
}

/**
 * `concurrency` clients, each making `rounds` streams one after the other. Their first calls are
 * spread over one stream's duration, as streams of independent users overlap in steady state,
 * rather than all starting in the same millisecond.
 */
// The load generator reads over node:http (nodeFetch) rather than the global fetch: at 64 streams
// the global fetch costs this client about 0.1 core more, taken from the gate on a 2-core machine.
const clientFetch = (await import('../packages/llm/dist/node/index.js')).nodeFetch()

const overHttp = (url, prompt) => () =>
  clientFetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'chat',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 60,
      messages: [{ role: 'user', content: prompt }],
    }),
  })

const load = (url, prompt, concurrency, rounds) =>
  loadWith(overHttp(url, prompt), concurrency, rounds)

/** Direct and gated runs side by side: their means, and what the gate added. */
function compare(direct, gated) {
  const mean = (runs, k) => round(runs.reduce((a, r) => a + r[k], 0) / runs.length)
  const of = (runs) => ({
    ttft_p50_ms: mean(runs, 'ttft_p50_ms'),
    ttft_p99_ms: mean(runs, 'ttft_p99_ms'),
    tokens_per_s: mean(runs, 'tokens_per_s'),
  })
  const d = of(direct)
  const g = of(gated)
  return {
    streams: direct[0].streams,
    direct: d,
    gate: g,
    added_ttft_p50_ms: round(g.ttft_p50_ms - d.ttft_p50_ms),
    added_ttft_p99_ms: round(g.ttft_p99_ms - d.ttft_p99_ms),
    // Each direct/gated pair's own figure, to show how far runs on one machine spread.
    added_ttft_p99_ms_per_pair: gated.map((r, i) => round(r.ttft_p99_ms - direct[i].ttft_p99_ms)),
    throughput_ratio: round(g.tokens_per_s / d.tokens_per_s),
  }
}

/**
 * Each process's share of one core over runs (its CPU time over their wall time), its mean
 * event-loop delay percentiles, and the share of the time and longest of its GC pauses.
 */
function processesOf(runs) {
  const seconds = runs.reduce((a, r) => a + r.seconds, 0)
  const out = {}
  for (const name of Object.keys(runs[0].processes)) {
    const of = runs.map((r) => r.processes[name])
    const mean = (k) => round(of.reduce((a, p) => a + p[k], 0) / of.length)
    out[name] = {
      cpu_share: round(of.reduce((a, p) => a + p.cpu_ms, 0) / (seconds * 1000)),
      loop_delay_p50_ms: mean('loop_delay_p50_ms'),
      loop_delay_p99_ms: mean('loop_delay_p99_ms'),
      loop_delay_max_ms: round(Math.max(...of.map((p) => p.loop_delay_max_ms))),
      gc_pause_share: round(of.reduce((a, p) => a + p.gc_pause_total_ms, 0) / (seconds * 1000)),
      gc_pause_max_ms: round(Math.max(...of.map((p) => p.gc_pause_max_ms))),
    }
  }
  return out
}

async function loadWith(call, concurrency, rounds) {
  const ttfts = []
  let tokens = 0
  const started = performance.now()
  const spread = (Number(args['token-delay']) * 60) / concurrency
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * spread))
      for (let r = 0; r < rounds; r++) {
        const s = await stream(call)
        ttfts.push(s.ttft)
        tokens += s.tokens
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const sorted = ttfts.sort((a, b) => a - b)
  return {
    seconds,
    streams: ttfts.length,
    ttft_p50_ms: round(percentile(sorted, 50)),
    ttft_p99_ms: round(percentile(sorted, 99)),
    tokens_per_s: round(tokens / seconds),
  }
}

async function textMasker() {
  const { createMasker, textMaskingFor } = await import('../packages/mask/dist/index.js')
  const llm = await import('../packages/llm/dist/index.js')
  const forRequest = textMaskingFor(createMasker(), undefined, undefined)
  const vault = new llm.PlaceholderVault()
  return async (text) => {
    const masking = forRequest('bench', {})
    const conversation = String(Math.random())
    const session = vault.session(await vault.scope({ tenant: 'bench', conversation }))
    const policy = { leave: new Set(), refuse: new Set(), lists: {} }
    const m = new llm.RequestMasker(masking, session, policy)
    const body = { model: 'chat', messages: [{ role: 'user', content: text }] }
    return (await llm.maskChatBody(body, m)).messages[0].content
  }
}

async function maskingCost() {
  const mask = await textMasker()
  let text = ''
  while (text.length < 2048) text += PROMPT + ' '
  text = text.slice(0, 2048)
  for (let i = 0; i < 50; i++) await mask(text)
  let n = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  while (performance.now() - started < 1000) {
    await mask(text)
    n++
  }
  const used = process.cpuUsage(cpu)
  return {
    prompt_bytes: Buffer.byteLength(text),
    entities: ((await mask(text)).match(/<[A-Z]+_\d+>/g) ?? []).length,
    us_per_prompt: round(((performance.now() - started) * 1000) / n),
    cpu_us_per_prompt: round((used.user + used.system) / n),
  }
}

/**
 * The gate alone, as a Web fetch handler (`gate.fetch`, as at the edge): no HTTP server and no
 * network on either side. The upstream replays a recorded stand-in stream at the same token
 * pace; "direct" reads that replay itself.
 */
async function inProcess(masked) {
  const { createGate } = await import('../packages/core/dist/index.js')
  const { mask } = await import('../packages/mask/dist/index.js')
  const { llm } = await import('../packages/llm/dist/index.js')
  const { createStandIn } = await import('../packages/llm/dist/testing/index.js')
  const body = (prompt) =>
    JSON.stringify({
      model: 'chat',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 60,
      messages: [{ role: 'user', content: prompt }],
    })
  const recorded = await (
    await createStandIn({ maxSplit: 1 << 20 }).fetch(
      new Request('http://standin/v1/chat/completions', { method: 'POST', body: body(masked) }),
    )
  ).text()
  const events = recorded.split(/(?<=\n\n)/).map((e) => new TextEncoder().encode(e))
  const delay = Number(args['token-delay'])
  const replay = () => {
    let i = 0
    return new Response(
      new ReadableStream({
        async pull(c) {
          if (i >= events.length) return c.close()
          if (i > 1) await new Promise((r) => setTimeout(r, delay))
          c.enqueue(events[i++])
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  }
  const upstream = {
    protocol: 'openai',
    model: 'standin',
    async send() {
      return { response: replay(), attempts: 1, idleTimeoutMs: 60_000, abort() {}, done() {} }
    },
  }
  const gate = createGate({
    models: [],
    plugins: [mask(), llm({ models: [{ name: 'chat', upstream }] })],
  })
  const gated = () =>
    gate.fetch(
      new Request('http://gate/v1/chat/completions', { method: 'POST', body: body(PROMPT) }),
    )
  const out = {}
  for (const concurrency of [1, 64]) {
    const n = concurrency === 1 ? 16 : 2
    const runs = { direct: [], gate: [] }
    for (let i = 0; i < 2; i++) {
      runs.direct.push(await loadWith(async () => replay(), concurrency, n))
      runs.gate.push(await loadWith(gated, concurrency, n))
    }
    out[`streams_${concurrency}`] = compare(runs.direct, runs.gate)
  }
  await gate.close()
  return out
}

const ATTRIBUTIONS = [
  ['completions', 'leave_one_out', 'echo'],
  ['completions', 'kernel_shap', 'echo'],
  ['completions', 'context_cite', 'echo'],
  ['chat', 'leave_one_out', 'prompt_logprobs'],
  ['chat', 'kernel_shap', 'prompt_logprobs'],
  ['chat', 'context_cite', 'prompt_logprobs'],
  ['chat', 'leave_one_out', 'first_token'],
  ['chat', 'kernel_shap', 'first_token'],
  ['chat', 'context_cite', 'first_token'],
  ['chat', 'leave_one_out', 'similarity'],
  ['chat', 'kernel_shap', 'similarity'],
  ['chat', 'context_cite', 'similarity'],
  ['messages', 'context_cite', 'similarity'],
]

/** Prompt attributions: rank of the deciding sentence, calls and time, per method and score. */
async function attributions(cases) {
  const { createGate } = await import('../packages/core/dist/index.js')
  const { mask } = await import('../packages/mask/dist/index.js')
  const { llm } = await import('../packages/llm/dist/index.js')
  const { attributionCase, createStandIn } = await import('../packages/llm/dist/testing/index.js')
  const standIn = createStandIn({ decode: 'continue' })
  const fetch = (url, init) => standIn.fetch(new Request(url, init))
  const gate = createGate({
    models: [],
    plugins: [
      // Without the statistical layer, which tags the made-up project names in some sentences
      // and not in others; contacts are masked all the same.
      mask({ detector: { ner: false } }),
      llm({
        models: [
          { name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', fetch } },
          { name: 'claude', upstream: { type: 'anthropic', url: 'http://standin', fetch } },
        ],
      }),
    ],
  })
  const body = (route, prompt, explain) => {
    const messages = [{ role: 'user', content: prompt }]
    if (route === 'completions')
      return { model: 'chat', prompt, max_tokens: 12, stop: '.', explain }
    if (route === 'messages')
      return { model: 'claude', max_tokens: 12, stop_sequences: ['.'], messages, explain }
    return { model: 'chat', max_tokens: 12, stop: '.', messages, explain }
  }
  const post = async (path, json) => {
    const res = await gate.fetch(
      new Request(`http://gate${path}`, { method: 'POST', body: JSON.stringify(json) }),
    )
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`)
    return res.json()
  }
  const out = []
  for (const [route, method, score] of ATTRIBUTIONS) {
    const path = {
      completions: '/v1/explain/completions',
      chat: '/v1/explain/chat/completions',
      messages: '/v1/explain/messages',
    }[route]
    let first = 0
    let calls = 0
    let maxCalls = 0
    let explainMs = 0
    let plainMs = 0
    for (let seed = 1; seed <= cases; seed++) {
      const c = attributionCase(seed)
      const plain = body(route, c.prompt, undefined)
      delete plain.explain
      let t = performance.now()
      await post(path.replace('/explain', ''), plain)
      plainMs += performance.now() - t
      t = performance.now()
      const { explanation: e } = await post(
        path,
        body(route, c.prompt, { method, score, keepLast: true, seed }),
      )
      explainMs += performance.now() - t
      const top = e.segments[e.ranking[0]].value
      if (e.ranking[0] === c.deciding && e.segments.filter((s) => s.value === top).length === 1)
        first++
      calls += e.calls
      maxCalls = Math.max(maxCalls, e.calls)
    }
    const row = {
      route,
      method,
      score,
      cases,
      deciding_first: round(first / cases),
      mean_calls: round(calls / cases),
      max_calls: maxCalls,
      ms_per_explanation: round(explainMs / cases),
      vs_one_completion: round(explainMs / plainMs),
    }
    out.push(row)
    console.log('attributions:', JSON.stringify(row))
  }
  await gate.close()
  return out
}

/** Runs one part of the bench (`--only`) and updates its section of the results file. */
async function only(part) {
  const file = `${here}llm-results.json`
  let results = {}
  try {
    results = JSON.parse(await readFile(file, 'utf8'))
  } catch {
    // a first run writes the file
  }
  await PARTS[part](results)
  await writeFile(file, JSON.stringify(results, null, 2) + '\n')
}

/** Streams over loopback HTTP: stand-in, gate and this client in three processes. */
async function overLoopback(results) {
  const rounds = Number(args.rounds)
  const upstream = await child('upstream')
  const gate = await child('gate', ['--upstream', upstream.url])
  // The same gate calling its upstream with Node's global fetch (undici), for comparison.
  const gateGlobalFetch = await child('gate', ['--upstream', upstream.url, '--fetch', 'global'])
  const proxy = await child('proxy', ['--upstream', upstream.url])
  const masked = await (await textMasker())(PROMPT)
  const client = usageMeter()
  /** One load run, with the CPU time and event-loop delay of each process during it. */
  const measured = async (through, prompt, concurrency, n) => {
    await Promise.all([upstream.usage(), through?.usage()])
    client()
    const run = await load((through ?? upstream).url, prompt, concurrency, n)
    const [u, g] = await Promise.all([upstream.usage(), through?.usage()])
    run.processes = { client: client(), upstream: u, ...(through ? { gate: g } : {}) }
    return run
  }
  /** Direct and gated runs, alternated so that drift in machine load hits both. */
  const side = async (through, concurrency, n) => {
    const direct = []
    const gated = []
    for (let i = 0; i < Number(args.pairs); i++) {
      direct.push(await measured(undefined, masked, concurrency, n))
      gated.push(await measured(through, PROMPT, concurrency, n))
    }
    return {
      ...compare(direct, gated),
      processes: { direct: processesOf(direct), gate: processesOf(gated) },
    }
  }
  try {
    await load(upstream.url, masked, 4, 2)
    await load(gate.url, PROMPT, 4, 2)
    await load(gateGlobalFetch.url, PROMPT, 4, 2)
    await load(proxy.url, masked, 4, 2)
    results.machine = {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      load_average_1m: round(os.loadavg()[0]),
    }
    results.token_delay_ms = Number(args['token-delay'])
    for (const concurrency of [1, 64]) {
      const n = concurrency === 1 ? rounds * 4 : rounds
      // Warm-up at the concurrency measured, right before it, so that the measured runs see the
      // steady state of a process under that load (JIT-compiled paths, a young generation grown
      // to the allocation rate) rather than one coming out of the quieter runs before.
      await load(upstream.url, masked, concurrency, 2)
      await load(gate.url, PROMPT, concurrency, 2)
      results[`streams_${concurrency}`] = await side(gate, concurrency, n)
      console.log(`${concurrency} stream(s):`, JSON.stringify(results[`streams_${concurrency}`]))
    }
    await load(gateGlobalFetch.url, PROMPT, 64, 2)
    results.streams_64_global_fetch = await side(gateGlobalFetch, 64, rounds)
    console.log(
      '64 streams, global fetch upstream:',
      JSON.stringify(results.streams_64_global_fetch),
    )
    await load(proxy.url, PROMPT, 64, 2)
    results.streams_64_passthrough_proxy = await side(proxy, 64, rounds)
    console.log(
      '64 streams, pass-through proxy:',
      JSON.stringify(results.streams_64_passthrough_proxy),
    )
  } finally {
    for (const c of [upstream, gate, gateGlobalFetch, proxy]) c.proc.kill('SIGINT')
  }
}

const PARTS = {
  http: overLoopback,
  'in-process': async (results) => {
    results.in_process = await inProcess(await (await textMasker())(PROMPT))
    for (const [k, v] of Object.entries(results.in_process))
      console.log(`in process (gate.fetch), ${k}:`, JSON.stringify(v))
  },
  masking: async (results) => {
    results.masking_2kb = await maskingCost()
    console.log('masking a 2 KB prompt:', JSON.stringify(results.masking_2kb))
  },
  attributions: async (results) => {
    results.attributions = {
      load_average_1m: round(os.loadavg()[0]),
      runs: await attributions(Number(args.cases)),
    }
  },
}

async function main() {
  const results = {}
  for (const part of Object.values(PARTS)) await part(results)
  const s64 = results.streams_64
  console.log(
    `goals at 64 streams: added TTFT p50 ${s64.added_ttft_p50_ms} ms (≤ 5), p99 ${s64.added_ttft_p99_ms} ms (≤ 20), throughput ${s64.throughput_ratio}x (≥ 0.9)`,
  )
  await writeFile(`${here}llm-results.json`, JSON.stringify(results, null, 2) + '\n')
}

if (args.role) {
  process.on('SIGINT', () => process.exit(0))
  const meter = usageMeter()
  process.on('message', () => process.send(meter()))
  process.channel?.unref()
}
if (args.role === 'upstream') {
  // The stand-in's streamed answer to the masked prompt, recorded once and replayed over
  // node:http one event per token at the token pace, as a model server streams: the upstream
  // process then costs little CPU, as a model server on its own machine costs the gate's host
  // none. Gated and direct calls get the same answer (direct calls send the masked prompt).
  const { createStandIn } = await import('../packages/llm/dist/testing/index.js')
  const http = await import('node:http')
  const recorded = await (
    await createStandIn({ maxSplit: 1 << 20 }).fetch(
      new Request('http://standin/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify({
          model: 'chat',
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: 60,
          messages: [{ role: 'user', content: await (await textMasker())(PROMPT) }],
        }),
      }),
    )
  ).text()
  const events = recorded.split(/(?<=\n\n)/).map((e) => Buffer.from(e))
  const delay = Number(args['token-delay'])
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      let i = 0
      const next = () => {
        if (res.destroyed) return
        if (i >= events.length) return res.end()
        res.write(events[i++])
        if (i < 2) next()
        else setTimeout(next, delay)
      }
      next()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  console.log(`http://127.0.0.1:${server.address().port}`)
} else if (args.role === 'proxy') {
  // A pass-through proxy in plain node:http, for a floor: what relaying these streams through
  // any Node process costs on this machine, with no guard at all.
  const http = await import('node:http')
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 })
  const target = new URL(args.upstream)
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const headers = { 'content-type': 'application/json', 'content-length': body.length }
      const out = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: 'POST', agent, headers },
        (answer) => {
          res.writeHead(answer.statusCode, { 'content-type': 'text/event-stream' })
          answer.pipe(res)
        },
      )
      out.end(body)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  console.log(`http://127.0.0.1:${server.address().port}`)
} else if (args.role === 'gate') {
  const { createGate } = await import('../packages/core/dist/index.js')
  const { mask } = await import('../packages/mask/dist/index.js')
  const { llm } = await import('../packages/llm/dist/index.js')
  const { serveNode } = await import('../packages/edge/dist/node/index.js')
  const { nodeFetch } = await import('../packages/llm/dist/node/index.js')
  // Upstream calls over node:http, as `modelgate serve` makes them (`--fetch global`: undici).
  const upstream = {
    type: 'openai',
    url: `${args.upstream}/v1`,
    ...(args.fetch === 'global' ? {} : { fetch: nodeFetch() }),
  }
  const gate = createGate({
    models: [],
    plugins: [mask(), llm({ models: [{ name: 'chat', upstream }] })],
  })
  console.log((await serveNode(gate, { port: 0 })).url)
} else if (args.only !== undefined) {
  if (!(args.only in PARTS)) throw new Error(`--only takes one of ${Object.keys(PARTS).join(', ')}`)
  await only(args.only)
} else {
  await main()
}

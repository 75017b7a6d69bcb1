// LLM routes: added time to first token and throughput of streamed chat completions through the
// gate (mask + llm plugins, serveNode) against direct calls to the stand-in upstream, at 1 and 64
// concurrent streams; and the cost of masking one 2 KB prompt. The stand-in (an n-gram model over
// o200k, one token every --token-delay ms) and the gate run in their own processes on loopback;
// the client runs here. Every prompt holds personal data, so each request through the gate is
// masked and each answer restored; direct calls send the prompt as the gate sends it on (masked),
// so the upstream does the same work on both paths.
// Prompt attributions: random retrieval questions (attributionCase: 4 to 16 sentences, one of
// which holds the answer) explained through the gate within 32 upstream calls by each method and
// score, against the stand-in reading its prompt like a base model: how often the deciding
// sentence ranks first, the calls taken, and the time of one explanation against one plain
// completion of the same prompt through the same gate.
//   node bench/llm.js [--rounds N] [--token-delay MS] [--cases N] [--only attributions]
// Writes bench/llm-results.json (--only updates its section of it).
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    role: { type: 'string' },
    upstream: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    'token-delay': { type: 'string', default: '10' },
    cases: { type: 'string', default: '100' },
    only: { type: 'string' },
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
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.stdout.once('data', (d) => resolve({ proc, url: String(d).trim() }))
  })
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round = (v) => Math.round(v * 100) / 100

/**
 * One streamed chat completion: time to the first non-empty content delta, and the token chunks
 * (events with a content delta; the gate relays every upstream chunk, holding back at most the
 * text of an unfinished placeholder, so both paths count the same chunks).
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
      if (!event.includes('"content":"') || event.includes('"role"')) continue
      tokens++
      if (ttft === undefined && !event.includes('"content":""')) ttft = performance.now() - started
    }
  }
  return { ttft, tokens }
}

/**
 * `concurrency` clients, each making `rounds` streams one after the other. Their first calls are
 * spread over one stream's duration, as streams of independent users overlap in steady state,
 * rather than all starting in the same millisecond.
 */
const overHttp = (url, prompt) => () =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'chat',
      stream: true,
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
    throughput_ratio: round(g.tokens_per_s / d.tokens_per_s),
  }
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

async function onlyAttributions() {
  const file = `${here}llm-results.json`
  let results = {}
  try {
    results = JSON.parse(await readFile(file, 'utf8'))
  } catch {
    // a first run writes the file
  }
  results.attributions = {
    load_average_1m: round(os.loadavg()[0]),
    runs: await attributions(Number(args.cases)),
  }
  await writeFile(file, JSON.stringify(results, null, 2) + '\n')
}

async function main() {
  const rounds = Number(args.rounds)
  const upstream = await child('upstream')
  const gate = await child('gate', ['--upstream', upstream.url])
  const masked = await (await textMasker())(PROMPT)
  try {
    await load(upstream.url, masked, 4, 2)
    await load(gate.url, PROMPT, 4, 2)
    const results = {
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        load_average_1m: round(os.loadavg()[0]),
      },
      token_delay_ms: Number(args['token-delay']),
    }
    for (const concurrency of [1, 64]) {
      const n = concurrency === 1 ? rounds * 4 : rounds
      // Alternate direct and gated runs so drift in machine load hits both.
      const direct = []
      const gated = []
      for (let i = 0; i < 2; i++) {
        direct.push(await load(upstream.url, masked, concurrency, n))
        gated.push(await load(gate.url, PROMPT, concurrency, n))
      }
      results[`streams_${concurrency}`] = compare(direct, gated)
      console.log(`${concurrency} stream(s):`, JSON.stringify(results[`streams_${concurrency}`]))
    }
    results.in_process = await inProcess(masked)
    for (const [k, v] of Object.entries(results.in_process))
      console.log(`in process (gate.fetch), ${k}:`, JSON.stringify(v))
    results.masking_2kb = await maskingCost()
    console.log('masking a 2 KB prompt:', JSON.stringify(results.masking_2kb))
    results.attributions = {
      load_average_1m: round(os.loadavg()[0]),
      runs: await attributions(Number(args.cases)),
    }
    const s64 = results.streams_64
    console.log(
      `goals at 64 streams: added TTFT p50 ${s64.added_ttft_p50_ms} ms (≤ 5), p99 ${s64.added_ttft_p99_ms} ms (≤ 20), throughput ${s64.throughput_ratio}x (≥ 0.9)`,
    )
    await writeFile(`${here}llm-results.json`, JSON.stringify(results, null, 2) + '\n')
  } finally {
    upstream.proc.kill('SIGINT')
    gate.proc.kill('SIGINT')
  }
}

if (args.role) process.on('SIGINT', () => process.exit(0))
if (args.role === 'upstream') {
  const { createStandIn } = await import('../packages/llm/dist/testing/index.js')
  const { serveNode } = await import('../packages/edge/dist/node/index.js')
  const standIn = createStandIn({ tokenDelayMs: Number(args['token-delay']), maxSplit: 64 })
  console.log((await serveNode(standIn, { port: 0 })).url)
} else if (args.role === 'gate') {
  const { createGate } = await import('../packages/core/dist/index.js')
  const { mask } = await import('../packages/mask/dist/index.js')
  const { llm } = await import('../packages/llm/dist/index.js')
  const { serveNode } = await import('../packages/edge/dist/node/index.js')
  const models = [{ name: 'chat', upstream: { type: 'openai', url: `${args.upstream}/v1` } }]
  const gate = createGate({ models: [], plugins: [mask(), llm({ models })] })
  console.log((await serveNode(gate, { port: 0 })).url)
} else if (args.only === 'attributions') {
  await onlyAttributions()
} else {
  await main()
}

// @modelgate/access benchmark (built packages from dist; run `npx tsc -b` first).
//   node bench/access.js [--seconds N] [--rounds N]
// 1. Gate throughput in-process (gate.fetch, 16 requests in flight): authenticate (ES256 JWT) +
//    authorize vs no access plugins, with and without the verified-token cache.
//    a. the credit-risk demo model: examples/credit-risk/model/model.json on createTfjsBackend with
//       the schema and tensor names of examples/credit-risk/gate.json, fed V1 loan applications
//       (records of examples/credit-risk/data/applications.jsonl, personal fields included);
//    b. a trivial in-process linear model (V2 tensor of 4 values): the plugins' cost with almost
//       nothing else to do, the harshest ratio.
//    Each round runs every variant once, in an order that rotates from round to round; ratios are
//    taken within a round and summarised by median and range.
// 2. Policy decisions per second on a 50-rule policy: compiled modelgate policy, Cedar
//    (@cedar-policy/cedar-wasm) and Casbin on equivalent policies.
// Prints a table and writes bench/access-results.json. Exits 0 when it ran, goals met or not.
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { newEnforcer, newModelFromString, StringAdapter } from 'casbin'
import { createGate } from '../packages/core/dist/index.js'
import { activeTfjsBackend, createTfjsBackend } from '../packages/backend-tfjs/dist/index.js'
import {
  authenticate,
  authorize,
  compilePolicy,
  createCedarEngine,
} from '../packages/access/dist/index.js'
import { LinearBackend } from './linear-backend.js'

const fromAccess = createRequire(new URL('../packages/access/package.json', import.meta.url))
const { exportJWK, generateKeyPair, SignJWT } = await import(
  pathToFileURL(fromAccess.resolve('jose')).href
)

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '11' } },
})
const seconds = Number(args.seconds)
const rounds = Number(args.rounds)

// ---------- 1. gate throughput ----------

const demoDir = new URL('../examples/credit-risk/', import.meta.url)
const demoConfig = JSON.parse(await readFile(new URL('gate.json', demoDir), 'utf8')).models[0]
const applications = (await readFile(new URL('data/applications.jsonl', demoDir), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .slice(0, 256)
  .map((line) => {
    const { default: _label, ...record } = JSON.parse(line)
    return record
  })

const TARGETS = {
  demo: {
    label: 'credit-risk demo model (TF.js, V1 record)',
    path: `/v1/models/${demoConfig.name}:predict`,
    warmupMs: 3000,
    bodies: applications.map((a) => JSON.stringify({ instances: [a] })),
    model: () => ({
      name: demoConfig.name,
      version: demoConfig.version,
      backend: createTfjsBackend({
        path: fileURLToPath(new URL(demoConfig.backend.path, demoDir)),
        inputNames: demoConfig.backend.inputNames,
        outputNames: demoConfig.backend.outputNames,
        warmup: true,
      }),
      schema: demoConfig.schema,
      labels: { tenant: 'acme' },
    }),
  },
  linear: {
    label: 'trivial linear model (V2 tensor of 4)',
    path: '/v2/models/credit/infer',
    warmupMs: 500,
    bodies: [
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }],
      }),
    ],
    model: () => ({ name: 'credit', backend: new LinearBackend(), labels: { tenant: 'acme' } }),
  },
}

const ISSUER = 'https://idp.bench.invalid'
const { privateKey, publicKey } = await generateKeyPair('ES256')
const jwks = {
  keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' }],
}
const USERS = 200
const tokens = await Promise.all(
  Array.from({ length: USERS }, (_, i) =>
    new SignJWT({ roles: ['underwriter'], tenant: 'acme', scope: 'predict' })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
      .setIssuer(ISSUER)
      .setAudience('bench')
      .setSubject(`user-${i}`)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey),
  ),
)

const gatePolicy = {
  version: 1,
  rules: [
    {
      id: 'underwriters',
      effect: 'allow',
      principal: { roles: ['underwriter'] },
      actions: ['predict', 'explain', 'unmask:income'],
      resource: { models: ['credit'] },
      conditions: [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }],
    },
    {
      id: 'suspended',
      effect: 'deny',
      actions: ['*'],
      conditions: [{ attribute: 'principal.claims.status', equals: 'suspended' }],
    },
  ],
}

const VARIANTS = ['none', 'cached', 'uncached']

function makeGate(target, kind) {
  const plugins =
    kind === 'none'
      ? []
      : [
          authenticate({
            jwt: {
              issuers: [{ issuer: ISSUER, jwks, audience: 'bench' }],
              algorithms: ['ES256'],
              tokenCache: kind === 'cached' ? { maxEntries: 10_000 } : false,
            },
          }),
          authorize({ policy: gatePolicy }),
        ]
  return createGate({ models: [target.model()], plugins })
}

async function drive(gate, target, ms, concurrency = 16) {
  let done = 0
  let failed = 0
  let i = 0
  const url = `http://gate${target.path}`
  const { bodies } = target
  const end = performance.now() + ms
  async function worker() {
    while (performance.now() < end) {
      const n = i++
      const res = await gate.fetch(
        new Request(url, {
          method: 'POST',
          body: bodies[n % bodies.length],
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${tokens[n % USERS]}`,
          },
        }),
      )
      await res.arrayBuffer()
      if (res.status === 200) done++
      else failed++
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  if (failed > 0) throw new Error(`${failed} requests failed`)
  return done / ((performance.now() - start) / 1000)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const round3 = (x) => +x.toFixed(3)

async function measureGate(key) {
  const target = TARGETS[key]
  const gates = Object.fromEntries(VARIANTS.map((v) => [v, makeGate(target, v)]))
  for (const g of Object.values(gates)) await g.ready()
  // TF.js on wasm needs several seconds of traffic before its throughput settles.
  for (const v of VARIANTS) await drive(gates[v], target, target.warmupMs)
  const samples = { none: [], cached: [], uncached: [] }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(r + k) % VARIANTS.length]
      samples[v].push(await drive(gates[v], target, seconds * 1000))
    }
  }
  for (const g of Object.values(gates)) await g.close?.()
  const rps = Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v])]))
  const perRound = (v) => samples[v].map((x, r) => x / samples.none[r])
  const ratio = (v) => {
    const rs = perRound(v)
    return {
      ofMedians: round3(rps[v] / rps.none),
      medianPerRound: round3(median(rs)),
      minPerRound: round3(Math.min(...rs)),
      maxPerRound: round3(Math.max(...rs)),
      perRound: rs.map(round3),
    }
  }
  const withCache = ratio('cached')
  return {
    description: `${target.label}; in-process gate.fetch, 16 in flight, ES256 tokens of ${USERS} users`,
    ...(key === 'demo' ? { tfjsBackend: activeTfjsBackend() } : {}),
    requestsPerSecond: {
      noAccessPlugins: Math.round(rps.none),
      withTokenCache: Math.round(rps.cached),
      withoutTokenCache: Math.round(rps.uncached),
    },
    ratio: { withTokenCache: withCache, withoutTokenCache: ratio('uncached') },
    goal: { withTokenCache: 0.85 },
    met: withCache.ofMedians >= 0.85,
    samples: Object.fromEntries(VARIANTS.map((v) => [v, samples[v].map(Math.round)])),
  }
}

const gateResults = {}
for (const key of ['demo', 'linear']) gateResults[key] = await measureGate(key)

// ---------- 2. policy decisions ----------

const ROLES = 25
const MODELS = 10
const ACTIONS = ['predict', 'explain']
const rules50 = []
for (let i = 0; i < 50; i++) {
  rules50.push({
    role: `role${i % ROLES}`,
    model: `model${i % MODELS}`,
    action: ACTIONS[Math.floor(i / ROLES) % 2],
  })
}
const requests = []
for (let i = 0; i < 1024; i++) {
  const role = `role${(i * 7) % ROLES}`
  requests.push({
    principal: { id: `user-${i}`, kind: 'jwt', roles: [role], scopes: [], tenant: 'acme' },
    action: ACTIONS[i % 2],
    resource: { model: `model${(i * 3) % MODELS}`, labels: { tenant: 'acme' } },
  })
}

const modelgateEngine = compilePolicy({
  version: 1,
  rules: rules50.map((r, i) => ({
    id: `r${i}`,
    effect: 'allow',
    principal: { roles: [r.role] },
    actions: [r.action],
    resource: { models: [r.model] },
  })),
})

const cedarPath = fromAccess.resolve('@cedar-policy/cedar-wasm/nodejs')
const cedar = await import(pathToFileURL(cedarPath).href)
const cedarEngine = createCedarEngine(
  cedar,
  rules50
    .map(
      (r) =>
        `permit(principal in Role::"${r.role}", action == Action::"${r.action}", resource == Model::"${r.model}");`,
    )
    .join('\n'),
)

const casbin = await newEnforcer(
  newModelFromString(`
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`),
  new StringAdapter(
    [
      ...rules50.map((r) => `p, ${r.role}, ${r.model}, ${r.action}`),
      ...requests.map((q) => `g, ${q.principal.id}, ${q.principal.roles[0]}`),
    ].join('\n'),
  ),
)

let agreeCedar = 0
let agreeCasbin = 0
for (const q of requests) {
  const ours = modelgateEngine.decide(q).allow
  if (cedarEngine.decide(q).allow === ours) agreeCedar++
  if (casbin.enforceSync(q.principal.id, q.resource.model, q.action) === ours) agreeCasbin++
}
if (agreeCedar !== requests.length || agreeCasbin !== requests.length) {
  throw new Error(
    `engines disagree: cedar ${agreeCedar}/${requests.length}, casbin ${agreeCasbin}/${requests.length}`,
  )
}

function perSecond(fn, ms) {
  let n = 0
  let sink = 0
  const start = performance.now()
  const end = start + ms
  while (performance.now() < end) {
    for (let k = 0; k < 256; k++) sink += fn(requests[n++ & 1023]) ? 1 : 0
  }
  if (sink < 0) console.log(sink)
  return n / ((performance.now() - start) / 1000)
}
const decisionMs = Math.max(500, seconds * 500)
perSecond((q) => modelgateEngine.decide(q).allow, 200)
const decisions = {
  modelgate: perSecond((q) => modelgateEngine.decide(q).allow, decisionMs),
  cedar: perSecond((q) => cedarEngine.decide(q).allow, decisionMs),
  casbin: perSecond(
    (q) => casbin.enforceSync(q.principal.id, q.resource.model, q.action),
    decisionMs,
  ),
}
const allowed = requests.filter((q) => modelgateEngine.decide(q).allow).length

// ---------- report ----------

const results = {
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadavg: os.loadavg(),
  },
  gate: {
    rounds,
    secondsPerRound: seconds,
    method:
      'every round runs the three variants once (order rotating); ratio = variant / no plugins within the same round; headline = ratio of the medians',
    goalModel: 'demo',
    ...gateResults,
  },
  policy: {
    description:
      '50 allow rules (role x model x action), 1024 distinct requests, same decisions from every engine',
    rules: 50,
    allowedShare: +(allowed / requests.length).toFixed(3),
    decisionsPerSecond: Object.fromEntries(
      Object.entries(decisions).map(([k, v]) => [k, Math.round(v)]),
    ),
    goal: { modelgate: 1_000_000 },
    met: decisions.modelgate >= 1_000_000,
  },
}

const fmt = (n) => Math.round(n).toLocaleString('en-US')
const spread = (r) =>
  `per round median ${r.medianPerRound}, range ${r.minPerRound}-${r.maxPerRound}`
console.log('gate throughput (req/s, median of %d alternating rounds x %ds)', rounds, seconds)
for (const [key, g] of Object.entries(gateResults)) {
  const goal = key === 'demo' ? ` (goal >= 0.85) ${g.met ? 'MET' : 'NOT MET'}` : ''
  console.log(`${TARGETS[key].label}${g.tfjsBackend ? `, tfjs ${g.tfjsBackend}` : ''}`)
  console.log(`  no access plugins           ${fmt(g.requestsPerSecond.noAccessPlugins)}`)
  console.log(
    `  authn+authz, token cache    ${fmt(g.requestsPerSecond.withTokenCache)}   ratio ${g.ratio.withTokenCache.ofMedians}${goal}; ${spread(g.ratio.withTokenCache)}`,
  )
  console.log(
    `  authn+authz, no cache       ${fmt(g.requestsPerSecond.withoutTokenCache)}   ratio ${g.ratio.withoutTokenCache.ofMedians}; ${spread(g.ratio.withoutTokenCache)}`,
  )
}
console.log('policy decisions per second (50 rules)')
console.log(
  `  modelgate compiled          ${fmt(decisions.modelgate)} (goal >= 1,000,000) ${results.policy.met ? 'MET' : 'NOT MET'}`,
)
console.log(`  cedar-wasm                  ${fmt(decisions.cedar)}`)
console.log(`  casbin (enforceSync)        ${fmt(decisions.casbin)}`)
await writeFile(
  new URL('./access-results.json', import.meta.url),
  JSON.stringify(results, null, 2) + '\n',
)

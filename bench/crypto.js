// `pnpm bench` (crypto part): encrypted request + encrypted, signed response vs plaintext, in
// process through gate.fetch on a small model. Prints a table and writes bench/crypto-results.json.
//   npx tsc -b packages/crypto packages/client && node bench/crypto.js [--requests N] [--rounds N]
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { createGate } from '../packages/core/dist/index.js'
import { decrypt, encrypt, encryptJwe, generateJwk, sign } from '../packages/crypto/dist/index.js'
import { createClient } from '../packages/client/dist/index.js'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
  },
})
const requests = Number(args.requests)
const rounds = Number(args.rounds)

const width = 8
const backend = {
  async metadata() {
    return {
      platform: 'bench',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, width] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer(inputs) {
    const x = inputs[0].data
    let s = 0
    for (let i = 0; i < x.length; i++) s += x[i] * 0.5
    return [
      {
        name: 'y',
        datatype: 'FP32',
        shape: [1, 1],
        data: new Float32Array([1 / (1 + Math.exp(-s))]),
      },
    ]
  },
}
const body = JSON.stringify({
  inputs: [
    {
      name: 'x',
      datatype: 'FP32',
      shape: [1, width],
      data: Array.from({ length: width }, (_, i) => i / 10),
    },
  ],
})
const url = 'http://bench.local/v2/models/m/infer'
const models = [{ name: 'm', backend }]

async function scenario(alg, sigAlg) {
  if (!alg) {
    const gate = createGate({ models })
    await gate.ready()
    return {
      name: 'plaintext',
      gate,
      make: async () =>
        new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    }
  }
  const gateKey = await generateJwk(alg, `gate-${alg}`)
  const sigKey = await generateJwk(sigAlg, `sig-${sigAlg}`)
  const gate = createGate({
    models,
    plugins: [decrypt({ keys: [gateKey.privateJwk] }), sign({ key: sigKey.privateJwk }), encrypt()],
  })
  await gate.ready()
  const recipient = alg === 'dir' ? gateKey.privateJwk : gateKey.publicJwk
  const rjwk = (await generateJwk('ECDH-ES+A256KW')).publicJwk
  const make = async () =>
    new Request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/jose' },
      body: await encryptJwe({ key: recipient, plaintext: body, header: { rjwk } }),
    })
  const client =
    alg === 'dir'
      ? undefined
      : createClient({
          baseUrl: 'http://bench.local',
          fetch: (input, init) => gate.fetch(new Request(input, init)),
          encryption: { gateKey: gateKey.publicJwk },
          signature: { keys: [sigKey.publicJwk] },
        })
  return { name: `${alg} + ${sigAlg}`, alg, sigAlg, gate, make, client }
}

async function timeGate(s) {
  const prepared = []
  for (let i = 0; i < requests; i++) prepared.push(await s.make())
  const started = process.hrtime.bigint()
  for (const req of prepared) {
    const res = await s.gate.fetch(req)
    if (res.status !== 200) throw new Error(`${s.name}: status ${res.status} ${await res.text()}`)
    await res.arrayBuffer()
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return requests / seconds
}

// Client round trip through @modelgate/client (encrypt, gate, verify, decrypt) per request, in ms.
async function clientRoundTrip(s) {
  if (!s.client) return undefined
  const n = Math.min(500, requests)
  const request = JSON.parse(body)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const out = await s.client.infer('m', request)
    if (out.outputs[0].shape[0] !== 1) throw new Error('unexpected answer')
  }
  return (performance.now() - t0) / n
}

const plain = await scenario()
const crypto = []
for (const alg of ['ECDH-ES+A256KW', 'RSA-OAEP-256', 'dir'])
  for (const sigAlg of ['ES256', 'EdDSA']) crypto.push(await scenario(alg, sigAlg))

for (const s of [plain, ...crypto]) await timeGate(s)
const rps = new Map()
for (let r = 0; r < rounds; r++) {
  for (const s of [plain, ...crypto]) {
    const v = await timeGate(s)
    rps.set(s.name, [...(rps.get(s.name) ?? []), v])
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
const plainRps = median(rps.get('plaintext'))
const rows = []
for (const s of crypto) {
  const v = median(rps.get(s.name))
  rows.push({
    scenario: s.name,
    keyManagement: s.alg,
    signature: s.sigAlg,
    requestsPerSecond: Math.round(v),
    throughputRatio: Number((v / plainRps).toFixed(3)),
    gateCryptoMsPerRequest: Number((1000 / v - 1000 / plainRps).toFixed(3)),
  })
  const roundTrip = await clientRoundTrip(s)
  if (roundTrip !== undefined) {
    rows.at(-1).clientRoundTripMs = Number(roundTrip.toFixed(3))
    rows.at(-1).clientCryptoMsPerRequest = Number((roundTrip - 1000 / v).toFixed(3))
  }
}
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
  requestsPerRound: requests,
  rounds,
  model: `logistic over ${width} FP32 features, in-process gate.fetch, sequential requests`,
  notes: [
    'gateCryptoMsPerRequest = 1/rps(crypto) - 1/rps(plaintext): decrypt + replay check + sign + encrypt on the gate',
    'clientCryptoMsPerRequest = @modelgate/client round trip - gate time: encrypt request (ephemeral P-256 response key), verify signature, decrypt response',
    'dir: the client package speaks ECDH-ES+A256KW and RSA-OAEP-256 only, so no client figure; responses to dir requests are encrypted to an ephemeral P-256 key',
  ],
  plaintextRequestsPerSecond: Math.round(plainRps),
  scenarios: rows,
}
console.log(`plaintext: ${result.plaintextRequestsPerSecond} req/s`)
console.table(rows)
await writeFile(
  new URL('./crypto-results.json', import.meta.url),
  JSON.stringify(result, null, 2) + '\n',
)

// The seam matrix: every guard in one chain, in the documented order and in shuffled orders, on
// every model route and a protected custom route, on both adapters, with sealed and plain
// requests. It asserts invariants, never snapshots: a sealed request gets a sealed answer; no value
// the policy masks appears in any body, header, log line, audit record or error; explanations
// stay additive with their keys intact; plots are SVG; one audit record per request carrying the
// facts of every guard; :explain and :predict use the same output names.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DOMParser } from '@xmldom/xmldom'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate, authorize, rateLimit, type PolicyDocument } from '@modelgate/access'
import { audit, createAuditTrail } from '@modelgate/audit'
import { createLogger, jsonlSink, metrics, requestLog } from '@modelgate/audit/node'
import { createClient } from '@modelgate/client'
import { FeatureSchema, type BodyShape, type Plugin, type RouteDefinition } from '@modelgate/core'
import { decrypt, encrypt, sign } from '@modelgate/crypto'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { explain, kmeans } from '@modelgate/explain'
import { createExpressApp, protect } from '@modelgate/express'
import { mask } from '@modelgate/mask'
import { generateApplications } from '../examples/credit-risk/src/data.js'
import { createCreditGate } from '../examples/credit-risk/src/gate.js'
import { creditSchema, MODEL_INPUT } from '../examples/credit-risk/src/schema.js'

const SVG_NS = 'http://www.w3.org/2000/svg'
const ISSUER = 'https://idp.seams.test'
const AUDIENCE = 'modelgate-seams'

// Values the policy masks. None of them may appear anywhere a caller without unmask grants, a
// log or an audit record can see.
const CANARIES = {
  name: 'Zelda Quistgaard',
  email: 'zelda.quistgaard@example.org',
  phone: '+1 212 736 5000',
  ssn: '512-34-8821',
  card: '4111 1111 1111 1111',
}
const NEEDLES = [
  'Quistgaard',
  'zelda.quistgaard',
  '736 5000',
  '7365000',
  '512-34-8821',
  '512348821',
  '4111 1111 1111 1111',
  '4111111111111111',
]
const APPLICATION = {
  income: 52_000,
  debt_to_income: 0.31,
  age: 41,
  years_employed: 6,
  credit_history_years: 12,
  delinquencies: 1,
  loan_amount: 15_000,
  purpose: 'car',
  applicant_id: 'APP-7731',
  name: CANARIES.name,
  email: CANARIES.email,
  phone: CANARIES.phone,
  ssn: CANARIES.ssn,
  card_number: CANARIES.card,
  note: `Asked to be called on ${CANARIES.phone} or written to ${CANARIES.email}; SSN ${CANARIES.ssn}, card ${CANARIES.card}.`,
}
const SECOND = { ...APPLICATION, income: 91_000, age: 29, purpose: 'home', delinquencies: 0 }

// The body a custom route receives and answers: records of the credit schema, plus a contact
// block the handler adds from its own data (masked on the way out by the declared paths).
const SCORE_SHAPE: BodyShape = {
  records: 'applicants[]',
  schema: 'credit',
  paths: { 'contact.email': 'EMAIL_ADDRESS', 'contact.phone': 'PHONE_NUMBER' },
}
const scoreAnswer = (body: unknown) => {
  const applicants = (body as { applicants: Array<Record<string, unknown>> }).applicants
  return {
    applicants: applicants.map((a) => ({ name: a.name, email: a.email, income: a.income })),
    contact: { email: CANARIES.email, phone: CANARIES.phone },
  }
}

const policy: PolicyDocument = {
  version: 1,
  rules: [
    {
      id: 'analysts',
      effect: 'allow',
      principal: { roles: ['analyst'] },
      actions: ['predict', 'explain', 'metadata'],
    },
  ],
}

interface Keys {
  gate: JWK
  gatePublic: JWK
  signing: JWK
  signingPublic: JWK
  issuer: JWK
  issuerPublic: JWK
}

async function makeKeys(): Promise<Keys> {
  const jwe = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })
  const sig = await generateKeyPair('ES256', { extractable: true })
  const idp = await generateKeyPair('ES256', { extractable: true })
  const jweKid = { kid: 'gate-jwe-1', alg: 'ECDH-ES+A256KW' }
  const sigKid = { kid: 'gate-sig-1', alg: 'ES256' }
  const idpKid = { kid: 'idp-1', alg: 'ES256' }
  return {
    gate: { ...(await exportJWK(jwe.privateKey)), ...jweKid },
    gatePublic: { ...(await exportJWK(jwe.publicKey)), ...jweKid },
    signing: { ...(await exportJWK(sig.privateKey)), ...sigKid },
    signingPublic: { ...(await exportJWK(sig.publicKey)), ...sigKid },
    issuer: { ...(await exportJWK(idp.privateKey)), ...idpKid },
    issuerPublic: { ...(await exportJWK(idp.publicKey)), ...idpKid },
  }
}

async function token(keys: Keys): Promise<string> {
  const { importJWK } = await import('jose')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ roles: ['analyst'], scope: 'predict explain', tenant: 'bank-1' })
    .setProtectedHeader({ alg: 'ES256', kid: keys.issuer.kid!, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('analyst-1')
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importJWK(keys.issuer, 'ES256'))
}

/** The background the explainer integrates over: k-means of generated applications. */
function background() {
  const schema = new FeatureSchema(creditSchema)
  const rows = generateApplications(200, 7).map(({ default: _label, ...a }) => a)
  const encoded = schema.encode(rows, MODEL_INPUT)
  const width = schema.columns.length
  const matrix = Array.from({ length: rows.length }, (_, r) =>
    Array.from(encoded.data as Float32Array).slice(r * width, (r + 1) * width),
  )
  return kmeans(matrix, 6, { seed: 7 })
}

/** Every guard, in the order the READMEs document, outermost first. */
function guards(
  keys: Keys,
  auditPath: string,
  bg: ReturnType<typeof background>,
  logged: string[],
) {
  return {
    metrics: metrics(),
    requestLog: requestLog({
      logger: createLogger({ destination: { write: (line: string) => void logged.push(line) } }),
    }),
    audit: audit({
      trail: createAuditTrail({
        sink: jsonlSink({ path: auditPath, fsync: 'never' }),
        checkpoint: { key: keys.signing as never, alg: 'ES256', kid: keys.signing.kid!, every: 8 },
      }),
    }),
    decrypt: decrypt({ keys: [keys.gate], required: false }),
    sign: sign({ key: keys.signing as JWK & { alg: 'ES256'; kid: string } }),
    authenticate: authenticate({
      jwt: {
        issuers: [{ issuer: ISSUER, jwks: { keys: [keys.issuerPublic] }, audience: AUDIENCE }],
        algorithms: ['ES256'],
        maxTokenAgeSeconds: 86_400,
      },
    }),
    authorize: authorize({ policy }),
    rateLimit: rateLimit({
      rules: [{ by: 'principal', capacity: 10_000, refillPerSecond: 1_000 }],
    }),
    mask: mask({
      key: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
      policy: {
        entities: {
          PERSON: { op: 'pseudonymize' },
          EMAIL_ADDRESS: { op: 'pseudonymize' },
          PHONE_NUMBER: { op: 'encrypt' },
          US_SSN: { op: 'mask', keepLast: 0 },
          CREDIT_CARD: { op: 'mask', keepLast: 0 },
          '*': { op: 'replace' },
        },
      },
    }),
    explain: explain({ models: { credit: { background: bg, method: 'exact_shap' } } }),
    encrypt: encrypt({}),
  } satisfies Record<string, Plugin>
}
type GuardName = keyof ReturnType<typeof guards>
const DOCUMENTED: GuardName[] = [
  'metrics',
  'requestLog',
  'audit',
  'decrypt',
  'sign',
  'authenticate',
  'authorize',
  'rateLimit',
  'mask',
  'explain',
  'encrypt',
]

function shuffled(seed: number): GuardName[] {
  const order = [...DOCUMENTED]
  let state = seed
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

const ORDERS: Array<[string, GuardName[]]> = [
  ['documented', DOCUMENTED],
  ['reversed', [...DOCUMENTED].reverse()],
  ...[11, 23, 37, 41].map((seed): [string, GuardName[]] => [`shuffled #${seed}`, shuffled(seed)]),
]

/** One call as the client saw it on the wire, for leak scanning. */
interface Exchange {
  what: string
  sealed: boolean
  status: number
  contentType: string
  headers: string
  raw: string
  body: unknown
  requestId: string
}

function assertNoCanary(where: string, text: string): void {
  for (const needle of NEEDLES) {
    expect(text.includes(needle), `${where} holds "${needle}"`).toBe(false)
  }
}

function assertAdditive(explanations: unknown[], predictions: number[]): void {
  expect(explanations.length).toBeGreaterThan(0)
  for (const e of explanations as Array<Record<string, unknown>>) {
    const values = e.values as number[][]
    const names = e.feature_names as string[]
    expect(names).toEqual(
      creditSchema.features.filter((f) => f.type !== 'passthrough').map((f) => f.name),
    )
    values.forEach((row, r) => {
      const sum = row.reduce((a, b) => a + b, 0)
      expect(Math.abs((e.base_values as number[])[r]! + sum - predictions[r]!)).toBeLessThan(1e-4)
    })
    if (e.attributions) {
      for (const a of e.attributions as Array<Record<string, number>>)
        expect(Object.keys(a)).toEqual(names)
    }
    for (const plot of (e.plots ?? []) as Array<{ svg: string }>) {
      const problems: string[] = []
      const doc = new DOMParser({
        onError: (level: string, message: string) => void problems.push(`${level}: ${message}`),
      }).parseFromString(plot.svg, 'image/svg+xml')
      expect(problems).toEqual([])
      expect(doc.documentElement?.namespaceURI).toBe(SVG_NS)
      expect(doc.documentElement?.localName).toBe('svg')
    }
  }
}

describe('the seam matrix: every guard together, in any order, on every route and both adapters', () => {
  let keys: Keys
  let bearer: string
  let bg: ReturnType<typeof background>
  let dir: string
  const errors: unknown[] = []

  beforeAll(async () => {
    keys = await makeKeys()
    bearer = await token(keys)
    bg = background()
    dir = await mkdtemp(join(tmpdir(), 'modelgate-seams-'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  for (const [label, order] of ORDERS) {
    it(`holds every invariant with the guards ${label} (${order.join(' → ')})`, async () => {
      const auditPath = join(dir, `${label.replace(/\W+/g, '-')}.jsonl`)
      const logged: string[] = []
      const all = guards(keys, auditPath, bg, logged)
      const scoreRoute: RouteDefinition = {
        name: 'score',
        methods: ['POST'],
        path: '/score',
        operation: 'predict',
        body: SCORE_SHAPE,
        terminal: async (ctx) => {
          ctx.body = scoreAnswer(await ctx.json())
        },
      }
      const routes: Plugin = Object.assign(
        async function scoreRoutes(_ctx: unknown, next: () => Promise<void>) {
          await next()
        },
        { routes: [scoreRoute] },
      ) as Plugin
      const gate = createCreditGate({
        plugins: [...order.map((name) => all[name]), routes],
      })
      await gate.ready()
      const app = createExpressApp(gate, {
        setup: (express) =>
          express.post(
            '/protected/score',
            protect(
              gate,
              (req, res) => {
                res.json(scoreAnswer(req.body))
              },
              { operation: 'predict', model: 'credit', body: SCORE_SHAPE },
            ),
          ),
      })
      const express: Server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => express.once('listening', resolve))
      const edge: NodeServer = await serveNode(gate, { port: 0 })
      const exchanges: Exchange[] = []
      try {
        const adapters: Array<[string, string]> = [
          ['express', `http://127.0.0.1:${(express.address() as AddressInfo).port}`],
          ['edge', edge.url],
        ]
        for (const [adapter, baseUrl] of adapters) {
          const capture = (what: string, sealed: boolean) =>
            (async (input: RequestInfo | URL, init?: RequestInit) => {
              const res = await fetch(input, init)
              const raw = await res.clone().text()
              exchanges.push({
                what: `${adapter} ${what}${sealed ? ' (sealed)' : ''}`,
                sealed,
                status: res.status,
                contentType: res.headers.get('content-type') ?? '',
                headers: JSON.stringify([...res.headers]),
                raw,
                body: undefined,
                requestId: res.headers.get('x-request-id') ?? '',
              })
              return res
            }) as typeof fetch
          const calls: Array<[string, string, unknown]> = [
            [
              'v2 infer',
              '/v2/models/credit/infer',
              { inputs: [encodedInput([APPLICATION, SECOND])] },
            ],
            ['v1 predict', '/v1/models/credit:predict', { instances: [APPLICATION, SECOND] }],
            [
              'v1 explain',
              '/v1/models/credit:explain',
              { instances: [APPLICATION, SECOND], parameters: { plot: 'waterfall' } },
            ],
            [
              'v2 explain',
              '/v2/models/credit/explain',
              { inputs: [encodedInput([APPLICATION])], parameters: { plot: 'bar' } },
            ],
            ['custom route', '/score', { applicants: [APPLICATION] }],
            ...(adapter === 'express'
              ? [
                  ['protect()', '/protected/score', { applicants: [APPLICATION] }] as [
                    string,
                    string,
                    unknown,
                  ],
                ]
              : []),
          ]
          for (const [what, path, body] of calls) {
            for (const sealed of [false, true]) {
              const client = createClient({
                baseUrl,
                token: bearer,
                ...(sealed ? { encryption: { gateKey: keys.gatePublic } } : {}),
                signature: { keys: [keys.signingPublic] },
                fetch: capture(what, sealed),
              })
              const answer = await client.request('POST', path, body)
              const exchange = exchanges.at(-1)!
              exchange.body = answer.body
              expect(answer.status, exchange.what).toBe(200)
              expect(answer.signedBy, exchange.what).toBeDefined()
              if (sealed) {
                expect(exchange.contentType, exchange.what).toBe('application/jose')
                expect(answer.encrypted, exchange.what).toBe(true)
              }
            }
          }
        }
      } finally {
        express.closeAllConnections()
        await new Promise((resolve) => express.close(resolve))
        await edge.close()
        await gate.close()
      }

      // Nothing masked anywhere: raw bytes, decrypted bodies, headers.
      for (const x of exchanges) {
        assertNoCanary(`${x.what} raw body`, x.raw)
        assertNoCanary(`${x.what} body`, JSON.stringify(x.body))
        assertNoCanary(`${x.what} headers`, x.headers)
      }
      // Explanations add up to the predictions they explain, with intact keys and SVG plots;
      // :explain names its outputs as :predict does.
      const byWhat = (what: string) => exchanges.filter((x) => x.what.includes(` ${what}`))
      for (const x of byWhat('v1 explain')) {
        const body = x.body as {
          predictions: Array<Record<string, number>>
          explanations: unknown[]
        }
        const predicted = byWhat('v1 predict')[0]!.body as {
          predictions: Array<Record<string, number>>
        }
        expect(body.predictions.map((p) => Object.keys(p))).toEqual(
          predicted.predictions.map((p) => Object.keys(p)),
        )
        assertAdditive(
          body.explanations,
          body.predictions.map((p) => p.default_probability!),
        )
      }
      for (const x of byWhat('v2 explain')) {
        const body = x.body as { outputs: Array<{ data: number[] }>; explanations: unknown[] }
        assertAdditive(body.explanations, body.outputs[0]!.data)
      }
      // Exactly one audit record per request, carrying the facts of every guard.
      const lines = (await readFile(auditPath, 'utf8')).split('\n').filter(Boolean)
      assertNoCanary('audit log', lines.join('\n'))
      assertNoCanary('logs', logged.join('\n') + errors.map(String).join('\n'))
      const records = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => typeof r.requestId === 'string')
      for (const x of exchanges) {
        const mine = records.filter((r) => r.requestId === x.requestId)
        expect(mine, `${x.what}: audit records`).toHaveLength(1)
        const record = mine[0]!
        const facts = record.facts as Record<string, unknown>
        expect(record.principal, x.what).toBe('analyst-1')
        expect((record.decision as { allow: boolean }).allow, x.what).toBe(true)
        expect(facts.masking, `${x.what}: masking fact`).toBeDefined()
        if (x.sealed) {
          expect(facts.encryption, `${x.what}: encryption fact`).toBeDefined()
          expect(facts.responseEncryption, `${x.what}: response encryption fact`).toBeDefined()
        }
        if (x.what.includes('explain'))
          expect(facts.explanation, `${x.what}: explanation fact`).toMatchObject({
            method: 'exact_shap',
          })
      }
      expect(records).toHaveLength(exchanges.length)
    })
  }
})

/** V2 tensors for applications, through the model's own schema. */
function encodedInput(applications: Array<Record<string, unknown>>) {
  const schema = new FeatureSchema(creditSchema)
  const tensor = schema.encode(applications, MODEL_INPUT)
  return {
    name: tensor.name,
    datatype: tensor.datatype,
    shape: tensor.shape,
    data: Array.from(tensor.data as Float32Array),
  }
}

import { authenticate, authorize, createApiKey } from '@modelgate/access'
import {
  createGate,
  type FeatureSchemaDefinition,
  type Gate,
  type RouteDefinition,
} from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveListener, serveNode, type NodeServer } from '@modelgate/edge/node'
import { createExpressApp, protect } from '@modelgate/express'
import { echoBackend } from '@modelgate/testkit/fixtures'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mask } from './index.js'

/**
 * The detokenisation oracle of issue 15, replayed on every runtime: a token that comes back to a
 * caller is opaque when the caller sends it back, in whatever field, so it never becomes an
 * oracle that decrypts or looks up values for someone denied them.
 */

const SSN = '512-34-8821'
const NOTE = 'Called Ana Lopez, ana.lopez@example.org, +1 212 736 5000, about the loan.'
const NOTE_SECRETS = ['Ana Lopez', 'ana.lopez@example.org', '+1 212 736 5000']

const caseSchema: FeatureSchemaDefinition = {
  features: [
    { name: 'case_ref', type: 'passthrough', valueType: 'string' },
    { name: 'applicant_id', type: 'passthrough', valueType: 'string' },
    { name: 'name', type: 'passthrough', valueType: 'string', pii: 'PERSON' },
    { name: 'ssn', type: 'passthrough', valueType: 'string', pii: 'US_SSN' },
    { name: 'note', type: 'passthrough', valueType: 'string', text: true },
  ],
}
const shape = { records: '', schema: caseSchema }

/** The case file, as the case system holds it: raw values the gate must mask on the way out. */
const CASES: Record<string, Record<string, string>> = {
  'C-1': { case_ref: 'C-1', name: 'Ana Lopez', ssn: SSN, note: NOTE, applicant_id: 'A-77' },
}

const routes: RouteDefinition[] = [
  {
    name: 'case-lookup',
    methods: ['POST'],
    path: '/cases/lookup',
    operation: 'predict',
    body: shape,
    async terminal(ctx) {
      const { case_ref } = (await ctx.json()) as { case_ref: string }
      ctx.body = CASES[case_ref] ?? {}
    },
  },
  {
    // Saves a note and answers with what was saved, as a case system would.
    name: 'case-note',
    methods: ['POST'],
    path: '/cases/note',
    operation: 'predict',
    body: shape,
    async terminal(ctx) {
      ctx.body = { saved: await ctx.json() }
    },
  },
]

/** A model answering its BYTES inputs under the same names. */
const echo = echoBackend(
  ['case_ref', 'note'].map((name) => ({ name, datatype: 'BYTES' as const, shape: [-1] })),
)

let gate: Gate
const keys: Record<string, string> = {}
const servers: NodeServer[] = []
const runtimes: Record<string, (path: string, user: string, body: unknown) => Promise<Response>> =
  {}

beforeAll(async () => {
  const pepper = 'oracle-test-pepper-0123456789abcdef'
  const records = []
  for (const [id, roles] of Object.entries({
    clerk: ['clerk'],
    analyst: ['analyst'],
    underwriter: ['underwriter'],
  })) {
    const made = await createApiKey({ pepper, principal: { id, roles, tenant: 'bank' } })
    keys[id] = made.key
    records.push(made.record)
  }
  gate = createGate({
    models: [{ name: 'echo', backend: echo }],
    routes,
    plugins: [
      authenticate({ apiKeys: { pepper, records } }),
      authorize({
        policy: {
          version: 1,
          rules: [
            {
              id: 'clerks',
              effect: 'allow',
              principal: { roles: ['clerk'] },
              actions: ['predict', 'unmask:*'],
            },
            {
              id: 'analysts',
              effect: 'allow',
              principal: { roles: ['analyst'] },
              actions: ['predict', 'unmask:case_ref', 'unmask:note', 'unmask:applicant_id'],
            },
            {
              id: 'underwriters',
              effect: 'allow',
              principal: { roles: ['underwriter'] },
              actions: ['predict', 'unmask:name', 'unmask:applicant_id', 'unmask:case_ref'],
            },
            {
              id: 'no-ssn',
              effect: 'deny',
              principal: { roles: ['analyst'] },
              actions: ['unmask:ssn'],
            },
          ],
        },
      }),
      mask({
        key: crypto.getRandomValues(new Uint8Array(32)),
        policy: {
          entities: {
            US_SSN: { op: 'encrypt' },
            EMAIL_ADDRESS: { op: 'pseudonymize' },
            PERSON: { op: 'pseudonymize' },
            PHONE_NUMBER: { op: 'fpe' },
            '*': { op: 'replace' },
          },
        },
      }),
    ],
  })
  await gate.ready()
  const send = (base: string) => (path: string, user: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys[user]! },
      body: JSON.stringify(body),
    })
  runtimes.fetch = (path, user, body) =>
    gate.fetch(
      new Request(`http://gate${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys[user]! },
        body: JSON.stringify(body),
      }),
    )
  const node = await serveNode(toFetchModule(gate), { port: 0 })
  servers.push(node)
  runtimes.serveNode = send(node.url)
  const app = express()
  // protect(): Express's own routes, with the gate's plugins around them and body shapes declared.
  for (const r of routes) {
    app.post(
      r.path,
      express.json(),
      protect(
        gate,
        (req, res) => {
          res.json(
            r.name === 'case-lookup'
              ? (CASES[(req.body as { case_ref: string }).case_ref] ?? {})
              : { saved: req.body },
          )
        },
        { operation: 'predict', body: shape },
      ),
    )
  }
  app.use(createExpressApp(gate))
  const protectedApp = await serveListener(app, { port: 0 })
  servers.push(protectedApp)
  runtimes['express protect()'] = send(protectedApp.url)
  const expressGate = await serveListener(createExpressApp(gate), { port: 0 })
  servers.push(expressGate)
  runtimes['express app'] = send(expressGate.url)
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await gate?.close()
})

const leaksOf = (text: string, secrets: string[]) => secrets.filter((s) => text.includes(s))

describe.each(['fetch', 'serveNode', 'express app', 'express protect()'])(
  'detokenisation oracle on %s',
  (runtime) => {
    const call = async (path: string, user: string, body: unknown) => {
      const res = await runtimes[runtime]!(path, user, body)
      const text = await res.text()
      expect(res.status, text).toBe(200)
      return JSON.parse(text) as Record<string, unknown>
    }

    it('reverses a token only for a caller granted its origin, in the request that made it', async () => {
      const clerk = await call('/cases/lookup', 'clerk', { case_ref: 'C-1' })
      expect(clerk).toEqual(CASES['C-1'])
      const analyst = await call('/cases/lookup', 'analyst', { case_ref: 'C-1' })
      expect(analyst.ssn).toMatch(/^enc:v2:/)
      expect(analyst.case_ref).toBe('C-1')
      // The analyst may unmask the note: its entities come back in clear.
      expect(analyst.note).toBe(NOTE)
      const underwriter = await call('/cases/lookup', 'underwriter', { case_ref: 'C-1' })
      expect(underwriter.name).toBe('Ana Lopez')
      expect(leaksOf(String(underwriter.note), NOTE_SECRETS)).toEqual([])
      expect(underwriter.ssn).toMatch(/^enc:v2:/)
    })

    it('never gives an analyst denied unmask:ssn the SSN behind a token posted in case_ref or note', async () => {
      const { ssn: token } = await call('/cases/lookup', 'analyst', { case_ref: 'C-1' })
      expect(token).toMatch(/^enc:v2:/)
      const posted = { case_ref: token, note: `please check ${token as string} again` }
      const saved = await call('/cases/note', 'analyst', posted)
      expect(saved).toEqual({ saved: posted })
      expect(JSON.stringify(saved)).not.toContain(SSN)
      // Not even the clerk, granted everything, gets the gate to decrypt a token it did not make
      // in that request.
      const clerk = await call('/cases/note', 'clerk', posted)
      expect(JSON.stringify(clerk)).not.toContain(SSN)
      // Nor through a model route.
      const res = await call('/v2/models/echo/infer', 'analyst', {
        inputs: [
          { name: 'case_ref', datatype: 'BYTES', shape: [1], data: [token] },
          { name: 'note', datatype: 'BYTES', shape: [1], data: [`see ${token as string}`] },
        ],
      })
      expect(JSON.stringify(res)).not.toContain(SSN)
      expect(JSON.stringify(res)).toContain(token as string)
    })

    it("never gives an underwriter a note's entities by pasting its tokens into applicant_id", async () => {
      const { note } = await call('/cases/lookup', 'underwriter', { case_ref: 'C-1' })
      const tokens = String(note).match(/[A-Z_]+_[0-9a-f]{16}|\d[\d ]{9,}\d/g) ?? []
      expect(tokens.length).toBeGreaterThanOrEqual(2)
      for (const field of ['applicant_id', 'case_ref', 'name']) {
        const saved = await call('/cases/note', 'underwriter', { [field]: tokens.join(' ') })
        expect(leaksOf(JSON.stringify(saved), NOTE_SECRETS)).toEqual([])
      }
    })
  },
)

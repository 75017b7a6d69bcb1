// The detokenisation oracle, replayed against a gate built from a config file, as
// `modelgate serve --config` builds it, in front of a model server that echoes its inputs: an
// analyst who is denied unmask:ssn posts a clerk's SSN token in fields the analyst may unmask
// (case_ref, note) and must get the token back, never the SSN.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gate } from '@modelgate/core'
import { startStandInServer, type StandInServer } from '@modelgate/backend-remote/testing'
import { buildGate } from './config/build.js'

const SSN = '512-34-8821'
const ISSUER = 'https://idp.oracle.test'
const FIELDS = ['case_ref', 'note', 'ssn']

describe('a config-built gate gives no value back for a token posted in another field', () => {
  let dir: string
  let gate: Gate
  let echo: StandInServer
  let issuer: JWK

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-oracle-'))
    const io = FIELDS.map((name) => ({ name, datatype: 'BYTES' as const, shape: [-1] }))
    echo = await startStandInServer({
      protocol: 'v2',
      model: 'cases',
      metadata: { platform: 'echo', inputs: io, outputs: io },
      compute: (inputs) => inputs,
    })
    const idp = await generateKeyPair('ES256', { extractable: true })
    issuer = { ...(await exportJWK(idp.privateKey)), kid: 'idp', alg: 'ES256' }
    await writeFile(
      join(dir, 'jwks.json'),
      JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'idp', alg: 'ES256' }] }),
    )
    await writeFile(
      join(dir, 'policy.json'),
      JSON.stringify({
        version: 1,
        rules: [
          {
            id: 'clerks',
            effect: 'allow',
            principal: { roles: ['clerk'] },
            actions: ['predict', 'unmask:*'],
          },
          { id: 'intake', effect: 'allow', principal: { roles: ['intake'] }, actions: ['predict'] },
          {
            id: 'analysts',
            effect: 'allow',
            principal: { roles: ['analyst'] },
            actions: ['predict', 'unmask:case_ref', 'unmask:note'],
          },
          {
            id: 'no-ssn',
            effect: 'deny',
            principal: { roles: ['analyst'] },
            actions: ['unmask:ssn'],
          },
        ],
      }),
    )
    await writeFile(
      join(dir, 'mask.key'),
      btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
    )
    gate = await buildGate(
      {
        models: [
          {
            name: 'cases',
            backend: { type: 'remote', url: echo.url, protocol: 'v2', model: 'cases' },
          },
        ],
        plugins: [
          {
            use: 'authenticate',
            jwt: {
              issuers: [{ issuer: ISSUER, audience: 'cases', jwks: 'jwks.json' }],
              algorithms: ['ES256'],
            },
          },
          { use: 'authorize', policy: 'policy.json' },
          {
            use: 'mask',
            keyFile: 'mask.key',
            policy: { entities: { US_SSN: { op: 'encrypt' }, '*': { op: 'replace' } } },
          },
        ],
      },
      dir,
    )
    await gate.ready()
  })
  afterAll(async () => {
    await gate?.close()
    await echo?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function bearer(role: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ roles: [role], tenant: 'bank' })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('cases')
      .setSubject(`${role}-1`)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(await importJWK(issuer, 'ES256'))
  }

  async function send(role: string, values: Record<string, string>) {
    const res = await gate.fetch(
      new Request('http://gate/v2/models/cases/infer', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await bearer(role)}`,
        },
        body: JSON.stringify({
          inputs: FIELDS.map((name) => ({
            name,
            datatype: 'BYTES',
            shape: [1],
            data: [values[name] ?? ''],
          })),
        }),
      }),
    )
    expect(res.status).toBe(200)
    const text = await res.text()
    const outputs = (JSON.parse(text) as { outputs: Array<{ name: string; data: string[] }> })
      .outputs
    return { text, out: Object.fromEntries(outputs.map((o) => [o.name, o.data[0]!])) }
  }

  it('reveals a token only to a caller granted its origin, in the request that made it', async () => {
    // The clerk, granted everything, sees the SSN it sent.
    expect((await send('clerk', { ssn: SSN })).out.ssn).toBe(SSN)
    // Intake, granted nothing, gets the SSN as an encrypted token.
    const token = (await send('intake', { ssn: SSN })).out.ssn!
    expect(token).toMatch(/^enc:v2:/)
    // The analyst posts that token where it may unmask: it stays a token.
    for (const field of ['case_ref', 'note']) {
      const attack = await send('analyst', { [field]: `case of ${token}` })
      expect(attack.text).not.toContain(SSN)
      expect(attack.out[field]).toBe(`case of ${token}`)
    }
    // Even the clerk, granted everything, gets the token back from a request that did not make it.
    const replay = await send('clerk', { note: token, ssn: token })
    expect(replay.text).not.toContain(SSN)
  })
})

import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as testing from '@modelgate/backend-remote/testing'
import { verifyResponseSignature } from '@modelgate/crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, jsonLines, root, run, serve } from './test/cli.js'

let dir: string
let standIn: Awaited<ReturnType<typeof testing.startStandInServer>>
const tokens: Record<string, string> = {}

const record = {
  income: 0.8,
  debt_to_income: 0.3,
  years_employed: 5,
  email: 'ana.lopez@example.org',
  note: 'Ana Lopez, phone +1 212 736 5000, asked for a higher limit',
}

beforeAll(async () => {
  await buildCli()
  standIn = await testing.startStandInServer({ protocol: 'v2', model: 'linear' })
  dir = await mkdtemp(join(tmpdir(), 'modelgate-zero-code-'))
  await cp(join(root, 'examples/zero-code'), dir, { recursive: true })
  await mkdir(join(dir, 'keys'))
  await mkdir(join(dir, 'logs'))
  // The steps of the example's README, through the same binary.
  for (const user of ['underwriter', 'applicant']) {
    const issued = await run(['token', 'issue', '--user', user, '--keys', 'keys'], { cwd: dir })
    expect(issued.code, issued.stderr).toBe(0)
    tokens[user] = issued.stdout.trim()
  }
  const devKeys = JSON.parse(await readFile(join(dir, 'keys/dev-keys.json'), 'utf8'))
  await writeFile(join(dir, 'keys/dev-jwks.json'), JSON.stringify(devKeys.jwks))
  const signKey = await run(
    [
      'keys',
      'generate',
      '--alg',
      'EdDSA',
      '--kid',
      'gate-sign-1',
      '--out',
      'keys/sign.jwk.json',
      '--public-out',
      'keys/sign.pub.json',
    ],
    { cwd: dir },
  )
  expect(signKey.code).toBe(0)
  const config = JSON.parse(await readFile(join(dir, 'gate.json'), 'utf8'))
  config.models[0].backend.url = standIn.url
  await writeFile(join(dir, 'gate.json'), JSON.stringify(config, null, 2))
})

afterAll(async () => {
  await standIn?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const call = async (url: string, path: string, token?: string) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ instances: [record] }),
  })
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { res, bytes, body: JSON.parse(new TextDecoder().decode(bytes)) as Record<string, any> }
}

describe('examples/zero-code: the whole chain in front of a remote OIP endpoint', () => {
  it('authenticates, authorizes, masks, explains, signs and audits without code', async () => {
    const gate = await serve(['--config', 'gate.json', '--port', '0'], dir)
    try {
      const anonymous = await call(gate.url, '/v1/models/credit:predict')
      expect(anonymous.res.status).toBe(401)
      expect(standIn.stats.infers).toBe(0)

      const predicted = await call(gate.url, '/v1/models/credit:predict', tokens.applicant)
      expect(predicted.res.status).toBe(200)
      const [score, limit] = [
        0.1 + 0.8 * 0.5 + 0.3 * 2 + 5 * -0.75,
        -0.2 + 0.8 * -1 + 0.3 * 0.25 + 5 * 1.5,
      ]
      expect(predicted.body.predictions[0].score).toBeCloseTo(score, 4)
      expect(predicted.body.predictions[0].limit).toBeCloseTo(limit, 4)
      const publicKey = JSON.parse(await readFile(join(dir, 'keys/sign.pub.json'), 'utf8'))
      const signature = predicted.res.headers.get('x-modelgate-signature')!
      const verified = await verifyResponseSignature(predicted.bytes, signature, [publicKey], {
        requestId: predicted.res.headers.get('x-request-id')!,
        status: 200,
      })
      expect(verified.kid).toBe('gate-sign-1')
      const upstream = JSON.stringify(standIn.stats.lastInferBody)
      expect(upstream).not.toContain('ana.lopez')
      expect(upstream).not.toContain('736')

      const refused = await call(gate.url, '/v1/models/credit:explain', tokens.applicant)
      expect(refused.res.status).toBe(403)

      const explained = await call(gate.url, '/v1/models/credit:explain', tokens.underwriter)
      expect(explained.res.status).toBe(200)
      const text = new TextDecoder().decode(explained.bytes)
      expect(text).not.toContain('ana.lopez')
      expect(text).not.toContain('736 5000')
      const [explanation] = explained.body.explanations
      expect(explanation.method).toBe('kernel_shap')
      expect(explanation.feature_names).toEqual(
        expect.arrayContaining(['income', 'debt_to_income', 'years_employed']),
      )
      expect(explained.res.headers.get('x-modelgate-signature')).toBeTruthy()
    } finally {
      expect((await gate.stop()).code).toBe(0)
    }

    const log = await readFile(join(dir, 'logs/audit.jsonl'), 'utf8')
    expect(log).not.toContain('ana.lopez')
    const records = (jsonLines(log) as Array<Record<string, any>>).filter((r) => 'requestId' in r)
    expect(records.map((r) => [r.action, r.status])).toEqual([
      ['predict', 401],
      ['predict', 200],
      ['explain', 403],
      ['explain', 200],
    ])
    expect(records[1]!.facts.masking).toMatchObject({ EMAIL_ADDRESS: 1, PHONE_NUMBER: 1 })
    expect(records[3]!.facts.explanation).toMatchObject({ method: 'kernel_shap' })
    const verify = await run(['audit', 'verify', 'logs/audit.jsonl', '--allow-unsigned-tail'], {
      cwd: dir,
    })
    expect(verify.code, verify.stdout).toBe(0)
  })
})

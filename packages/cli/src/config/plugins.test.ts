import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, jsonLines, root, run, serve } from '../test/cli.js'

let dir: string
let jwks: unknown
let tokens: Record<'underwriter' | 'auditor', string>

const schema = {
  input: 'features',
  features: [
    { name: 'income', type: 'numeric' },
    { name: 'debt', type: 'numeric' },
    { name: 'age', type: 'numeric' },
    { name: 'tenure', type: 'numeric' },
    { name: 'email', type: 'passthrough', valueType: 'string', pii: 'EMAIL_ADDRESS' },
    { name: 'note', type: 'passthrough', valueType: 'string', text: true },
  ],
}
const policy = {
  version: 1,
  rules: [
    {
      id: 'underwriters',
      effect: 'allow',
      principal: { roles: ['underwriter'] },
      actions: ['predict', 'metadata', 'unmask:email'],
      resource: { models: ['credit'] },
      conditions: [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }],
    },
    {
      id: 'scrapers',
      effect: 'allow',
      principal: { roles: ['underwriter'] },
      actions: ['metrics'],
    },
  ],
}
const record = {
  income: -0.35,
  debt: 0.43,
  age: -0.86,
  tenure: 1.86,
  email: 'ana.lopez@example.org',
  note: 'call her on +1 212 736 5000',
}

function gateConfig(extraPlugins: unknown[] = [], extra: Record<string, unknown> = {}) {
  return {
    models: [
      {
        name: 'credit',
        backend: { type: 'onnx', path: 'm.onnx' },
        schema,
        labels: { tenant: 'demo-bank' },
      },
    ],
    plugins: [
      { use: 'audit', path: 'logs/audit.jsonl' },
      {
        use: 'authenticate',
        jwt: {
          issuers: [{ issuer: 'https://dev.modelgate.invalid', audience: 'modelgate-dev', jwks }],
          algorithms: ['ES256'],
        },
      },
      { use: 'authorize', policy: 'policies/policy.json' },
      ...extraPlugins,
      { use: 'mask', policy: { entities: { '*': { op: 'replace' } } } },
    ],
    ...extra,
  }
}

const predict = (url: string, token?: string) =>
  fetch(`${url}/v1/models/credit:predict`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ instances: [record] }),
  })

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-plugins-'))
  await copyFile(join(root, 'packages/testkit/fixtures/mlp.onnx'), join(dir, 'm.onnx'))
  const issue = async (user: string) =>
    (
      await run(['token', 'issue', '--user', user, '--keys', 'dev-keys.json'], { cwd: dir })
    ).stdout.trim()
  tokens = { underwriter: await issue('underwriter'), auditor: await issue('auditor') }
  jwks = JSON.parse(await readFile(join(dir, 'dev-keys.json'), 'utf8')).jwks
  await Promise.all([mkdir(join(dir, 'policies')), mkdir(join(dir, 'logs'))])
  await writeFile(join(dir, 'policies', 'policy.json'), JSON.stringify(policy))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('plugins in a serve config', () => {
  it('authenticate + authorize + mask (+ audit) in front of an ONNX model: 401, 403, 200, masked record', async () => {
    await writeFile(join(dir, 'gate.json'), JSON.stringify(gateConfig()))
    const gate = await serve(['--config', 'gate.json', '--port', '0'], dir)
    try {
      const anonymous = await predict(gate.url)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer')
      const forged = await predict(gate.url, `${tokens.underwriter.slice(0, -4)}AAAA`)
      expect(forged.status).toBe(401)
      const auditor = await predict(gate.url, tokens.auditor)
      expect(auditor.status).toBe(403)
      const ok = await predict(gate.url, tokens.underwriter)
      expect(ok.status).toBe(200)
      const body = (await ok.json()) as { predictions: unknown[] }
      expect(body.predictions).toHaveLength(1)
    } finally {
      expect((await gate.stop()).code).toBe(0)
    }
    const log = await readFile(join(dir, 'logs', 'audit.jsonl'), 'utf8')
    expect(log).not.toContain('ana.lopez')
    expect(log).not.toContain('736 5000')
    const records = jsonLines(log) as Array<Record<string, unknown>>
    expect(records.map((r) => [r.status, r.error, r.principal])).toEqual([
      [401, 'unauthorized', null],
      [401, 'invalid_token', null],
      [403, 'insufficient_scope', 'auditor-0001'],
      [200, null, 'underwriter-0001'],
    ])
    expect(records[3]).toMatchObject({
      model: 'credit',
      tenant: 'demo-bank',
      decision: { allow: true, reasons: ['allow:underwriters'] },
      facts: { masking: { EMAIL_ADDRESS: 1, PHONE_NUMBER: 1 } },
    })
  })

  it('metrics outermost: GET /metrics runs the whole chain, so only an allowed caller reads it', async () => {
    const config = gateConfig()
    config.plugins.unshift({ use: 'metrics' } as never)
    await writeFile(join(dir, 'metrics.json'), JSON.stringify(config))
    const gate = await serve(['--config', 'metrics.json', '--port', '0'], dir)
    try {
      expect((await predict(gate.url)).status).toBe(401)
      expect((await predict(gate.url, tokens.underwriter)).status).toBe(200)
      expect((await fetch(`${gate.url}/metrics`)).status).toBe(401)
      const res = await fetch(`${gate.url}/metrics`, {
        headers: { authorization: `Bearer ${tokens.underwriter}` },
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      const text = await res.text()
      expect(text).toMatch(
        /modelgate_requests_total\{[^}]*operation="predict",status="401"[^}]*\} 1/,
      )
      expect(text).toMatch(/modelgate_requests_total\{[^}]*status="200"[^}]*\} 1/)
    } finally {
      expect((await gate.stop()).code).toBe(0)
    }
  })

  it('names the plugin entry when a referenced file is missing or a factory refuses its options', async () => {
    const missing = gateConfig()
    missing.plugins[2] = { use: 'authorize', policy: 'policies/nope.json' }
    await writeFile(join(dir, 'missing.json'), JSON.stringify(missing))
    const a = await run(['serve', '--config', 'missing.json', '--port', '0'], { cwd: dir })
    expect(a.code).toBe(2)
    expect(a.stderr).toMatch(
      /^invalid config: plugins\[2\] \(authorize\): policy: file not found: .*policies\/nope\.json$/m,
    )

    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify(gateConfig([{ use: 'rateLimit', rules: [{ by: 'moon', capacity: 1 }] }])),
    )
    const b = await run(['serve', '--config', 'bad.json', '--port', '0'], { cwd: dir })
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/^invalid config: plugins\[3\] \(rateLimit\): /m)
  })

  it('stores.redis: two gate processes share one rate limit through Redis', async () => {
    const port = await freePort()
    const redis = spawn('redis-server', [
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
    ])
    try {
      await waitForRedis(redis)
      const config = gateConfig(
        [{ use: 'rateLimit', rules: [{ by: 'principal', capacity: 3, refillPerSecond: 0.001 }] }],
        { stores: { redis: { url: `redis://127.0.0.1:${port}`, prefix: 'cli-test:' } } },
      )
      await writeFile(join(dir, 'redis.json'), JSON.stringify(config))
      const a = await serve(['--config', 'redis.json', '--port', '0'], dir)
      const b = await serve(['--config', 'redis.json', '--port', '0', '--runtime', 'edge'], dir)
      try {
        const statuses = []
        for (const url of [a.url, b.url, a.url, b.url]) {
          statuses.push((await predict(url, tokens.underwriter)).status)
        }
        expect(statuses).toEqual([200, 200, 200, 429])
      } finally {
        expect((await a.stop()).code).toBe(0)
        expect((await b.stop()).code).toBe(0)
      }
    } finally {
      redis.kill('SIGTERM')
    }
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function waitForRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)))
  })
}

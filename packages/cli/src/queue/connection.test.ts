import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type TestRedis } from '../../../store-redis/src/redis-server.test-util.js'
import { ConfigError } from '../errors.js'
import { bin, buildCli, root, run } from '../test/cli.js'
import { queueTarget } from './connection.js'

const model = join(root, 'packages/backend-trees/fixtures/xgb-binary.json')
const explainArgs = ['explain', '--model', model, '--data', 'rows.json', '--method', 'tree_shap']
let dir: string

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-queue-auth-'))
  const cases = JSON.parse(
    await readFile(join(root, 'packages/backend-trees/fixtures/xgb-binary.cases.json'), 'utf8'),
  ) as { rows: number[][] }
  await writeFile(join(dir, 'rows.json'), JSON.stringify(cases.rows))
  const local = await run([...explainArgs, '--out', 'local.json'], { cwd: dir })
  expect(local.code, local.stderr).toBe(0)
}, 180_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Runs one worker and one `explain --queue` against it; resolves with both outcomes. */
async function batchThrough(queueArgs: string[], env: NodeJS.ProcessEnv, out: string) {
  const worker = spawn(process.execPath, [bin, 'worker', '--concurrency', '1', ...queueArgs], {
    cwd: dir,
    env: { ...process.env, ...env },
  })
  let workerErr = ''
  worker.stderr.setEncoding('utf8').on('data', (d: string) => (workerErr += d))
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
  try {
    const submit = await run([...explainArgs, '--chunk-size', '10', '--out', out, ...queueArgs], {
      cwd: dir,
      env,
      timeoutMs: 30_000,
    })
    return { submit, workerErr: () => workerErr }
  } finally {
    worker.kill('SIGTERM')
    await exited
  }
}

async function expectLocalOutput(file: string) {
  const { stats: _a, ...local } = JSON.parse(await readFile(join(dir, 'local.json'), 'utf8'))
  const { stats: _b, ...queued } = JSON.parse(await readFile(join(dir, file), 'utf8'))
  expect(queued).toEqual(local)
}

describe('queueTarget', () => {
  it('reads user, password, database and tenant; never shows the password', async () => {
    const t = await queueTarget({ queue: 'redis://batch:p%40ss@10.0.0.5:6380/2', tenant: 'acme' })
    expect(t.redis).toEqual({
      host: '10.0.0.5',
      port: 6380,
      db: 2,
      username: 'batch',
      password: 'p@ss',
    })
    expect(t.label).toBe('redis://batch@10.0.0.5:6380/2')
    expect(t.queue).toBe('acme')
    const fromEnv = await queueTarget(
      { queue: 'redis://redis.internal' },
      { MODELGATE_REDIS_PASSWORD: 's3cret', MODELGATE_REDIS_USER: 'worker' },
    )
    expect(fromEnv.redis).toMatchObject({
      port: 6379,
      db: 0,
      username: 'worker',
      password: 's3cret',
    })
    expect(fromEnv.queue).toBe('default')
  })

  it('refuses bad URLs, tenants and TLS files without rediss://', async () => {
    for (const [values, message] of [
      [{ queue: 'http://x' }, /redis:\/\/ or rediss:\/\//],
      [{ queue: 'not a url' }, /not a URL/],
      [{ queue: 'redis://h/x' }, /database number/],
      [{ queue: 'redis://h', tenant: 'a:b' }, /--tenant/],
      [{ queue: 'redis://h', 'redis-ca': 'ca.pem' }, /need a rediss:\/\/ URL/],
      [{ queue: 'rediss://h', 'redis-cert': 'c.pem' }, /go together/],
    ] as const) {
      await expect(queueTarget(values), JSON.stringify(values)).rejects.toThrow(message)
      await expect(queueTarget(values)).rejects.toBeInstanceOf(ConfigError)
    }
  })
})

describe('Redis authentication (ACL user limited to its tenant)', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis({
      args: [
        ...['--user', 'default', 'off'],
        ...['--user', 'acme', 'on', '>s3cret', '~modelgate:acme:*', '&*', '+@all'],
      ],
    })
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('runs a batch as the tenant user, password from the environment', async () => {
    const url = redis.url.replace('redis://', 'redis://acme@')
    const { submit, workerErr } = await batchThrough(
      ['--queue', url, '--tenant', 'acme'],
      { MODELGATE_REDIS_PASSWORD: 's3cret' },
      'acl.json',
    )
    expect(submit.code, `${submit.stderr}\nworker: ${workerErr()}`).toBe(0)
    await expectLocalOutput('acl.json')
  }, 40_000)

  it("refuses a wrong password and another tenant's queue with one clear line (exit 1)", async () => {
    const url = redis.url.replace('redis://', 'redis://acme@')
    const wrong = await run(['worker', '--queue', url, '--tenant', 'acme'], {
      cwd: dir,
      env: { MODELGATE_REDIS_PASSWORD: 'nope' },
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^cannot use Redis at redis:\/\/acme@127\.0\.0\.1:\d+: WRONGPASS/m)
    const other = await run(
      ['jobs', 'status', 'explain-abc-0f', '--queue', url, '--tenant', 'globex'],
      {
        cwd: dir,
        env: { MODELGATE_REDIS_PASSWORD: 's3cret' },
      },
    )
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(/NOPERM/)
  }, 20_000)
})

describe('Redis over TLS (rediss://, CA file, client certificate)', () => {
  let redis: TestRedis
  let pki: string
  beforeAll(async () => {
    pki = join(dir, 'pki')
    const ca = join(pki, 'ca')
    for (const args of [
      ['ca', 'init', '--out', ca, '--key-bits', '2048'],
      [
        'ca',
        'issue',
        '--server',
        '--ca',
        ca,
        '--name',
        'redis',
        '--san',
        '127.0.0.1',
        '--out',
        pki,
      ],
      ['ca', 'issue', '--client', '--ca', ca, '--name', 'worker', '--out', pki],
    ]) {
      const r = await run([...args, ...(args[1] === 'issue' ? ['--key-bits', '2048'] : [])], {
        cwd: dir,
      })
      expect(r.code, r.stderr).toBe(0)
    }
    redis = await startRedis({
      tls: {
        cert: join(pki, 'redis.crt'),
        key: join(pki, 'redis.key'),
        ca: join(pki, 'ca/ca.crt'),
      },
      args: ['--tls-auth-clients', 'yes'],
    })
  }, 60_000)
  afterAll(async () => {
    await redis?.stop()
  })

  it('runs a batch with the CA file and a client certificate', async () => {
    const { submit, workerErr } = await batchThrough(
      [
        '--queue',
        redis.url,
        '--redis-ca',
        join(pki, 'ca/ca.crt'),
        '--redis-cert',
        join(pki, 'worker.crt'),
        '--redis-key',
        join(pki, 'worker.key'),
      ],
      {},
      'tls.json',
    )
    expect(submit.code, `${submit.stderr}\nworker: ${workerErr()}`).toBe(0)
    await expectLocalOutput('tls.json')
  }, 40_000)

  it('refuses a server it cannot verify, and a client without a certificate', async () => {
    const unverified = await run(['worker', '--queue', redis.url], { cwd: dir })
    expect(unverified.code).toBe(1)
    expect(unverified.stderr).toMatch(
      /^cannot use Redis at rediss:.*(self.signed|unable to verify|certificate)/im,
    )
    const anonymous = await run(
      ['worker', '--queue', redis.url, '--redis-ca', join(pki, 'ca/ca.crt')],
      {
        cwd: dir,
      },
    )
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toMatch(/^cannot use Redis at rediss:/m)
  }, 20_000)
})

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, request, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compactDecrypt, CompactEncrypt, exportJWK, generateKeyPair } from 'jose'
import { startRedis, type TestRedis } from './redis-server.test-util.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const replicaScript = fileURLToPath(new URL('./scale-out.replica.js', import.meta.url))
const dirKey = randomBytes(32)
const vaultKey = randomBytes(32).toString('hex')

let redis: TestRedis
const replicas: ChildProcess[] = []
let proxy: Server
let base: string

async function startReplica(name: string): Promise<number> {
  const child = spawn(process.execPath, [replicaScript], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      REPLICA: name,
      DIR_KEY: dirKey.toString('base64url'),
      VAULT_KEY: vaultKey,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  replicas.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const m = /listening (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`replica ${name} exited with ${code}`)))
  })
}

/** A round-robin reverse proxy on loopback: request n goes to upstream n mod N. */
function roundRobin(ports: number[]): Promise<Server> {
  let n = 0
  const server = createServer((req, res) => {
    const port = ports[n++ % ports.length]!
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    upstream.once('error', () => {
      res.writeHead(502).end()
    })
    req.pipe(upstream)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const inferBody = JSON.stringify({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
})
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [
      `${root}node_modules/typescript/bin/tsc`,
      '-b',
      'packages/store-redis',
      'packages/edge',
      'packages/access',
      'packages/crypto',
      'packages/mask',
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
  redis = await startRedis()
  const ports = await Promise.all([startReplica('a'), startReplica('b')])
  proxy = await roundRobin(ports)
  base = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
})

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve))
  await Promise.all(
    replicas.map((child) =>
      child.exitCode === null && child.signalCode === null
        ? new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))
        : undefined,
    ),
  )
  await redis?.stop()
})

describe('two gate replicas behind a round-robin proxy, one Redis', () => {
  it('holds one rate limit across both replicas', async () => {
    const outcomes: Array<[string, number]> = []
    for (let i = 0; i < 20; i++) {
      const res = await post('/v2/models/m/infer', inferBody, { 'x-client': 'client-1' })
      await res.arrayBuffer()
      outcomes.push([res.headers.get('x-replica')!, res.status])
    }
    expect(outcomes.filter(([, s]) => s === 200)).toHaveLength(10)
    expect(outcomes.filter(([, s]) => s === 429)).toHaveLength(10)
    expect(new Set(outcomes.filter(([, s]) => s === 200).map(([r]) => r))).toEqual(
      new Set(['a', 'b']),
    )
    expect(new Set(outcomes.filter(([, s]) => s === 429).map(([r]) => r))).toEqual(
      new Set(['a', 'b']),
    )
  })

  it('refuses on one replica a JWE already accepted by the other (shared replay cache)', async () => {
    const response = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256' })
    const jwe = await new CompactEncrypt(new TextEncoder().encode(inferBody))
      .setProtectedHeader({
        alg: 'dir',
        enc: 'A256GCM',
        kid: 'gate-dir',
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        rjwk: await exportJWK(response.publicKey),
      })
      .encrypt(dirKey)
    const first = await post('/v2/models/m/infer', jwe, { 'content-type': 'application/jose' })
    expect(first.status).toBe(200)
    const sealed = await compactDecrypt(await first.text(), response.privateKey)
    expect(JSON.parse(new TextDecoder().decode(sealed.plaintext))).toMatchObject({
      outputs: [{ name: 'y', data: [2, 4] }],
    })
    const again = await post('/v2/models/m/infer', jwe, { 'content-type': 'application/jose' })
    expect(again.headers.get('x-replica')).not.toBe(first.headers.get('x-replica'))
    expect(again.status).toBeGreaterThanOrEqual(400)
    expect(again.status).toBeLessThan(500)
    expect(((await again.json()) as { code: string }).code).toBe('jwe_replayed')
  })

  it('reverses on one replica a pseudonym made by the other (shared token vault)', async () => {
    const made = await post('/vault/tokenize', JSON.stringify({ value: 'ana@example.org' }))
    const { token } = (await made.json()) as { token: string }
    expect(token).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}/)
    const reversed = await post('/vault/detokenize', JSON.stringify({ token }))
    expect(reversed.headers.get('x-replica')).not.toBe(made.headers.get('x-replica'))
    expect(await reversed.json()).toEqual({ value: 'ana@example.org' })
  })

  it('fails closed with 503 on both replicas when Redis goes away', async () => {
    await redis.stop()
    const statuses = []
    for (let i = 0; i < 2; i++) {
      const res = await post('/v2/models/m/infer', inferBody, { 'x-client': 'client-2' })
      statuses.push([
        res.headers.get('x-replica'),
        res.status,
        ((await res.json()) as { code: string }).code,
      ])
    }
    expect(statuses.map(([, s, c]) => [s, c])).toEqual([
      [503, 'store_unavailable'],
      [503, 'store_unavailable'],
    ])
    expect(new Set(statuses.map(([r]) => r)).size).toBe(2)
  })

  it('each replica exits by itself after SIGTERM: server and gate closed, nothing left running', async () => {
    const started = Date.now()
    const codes = await Promise.all(
      replicas.map(
        (child) =>
          new Promise<number | null>((resolve) => {
            child.once('exit', (code) => resolve(code))
            child.kill('SIGTERM')
          }),
      ),
    )
    expect(codes).toEqual([0, 0])
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

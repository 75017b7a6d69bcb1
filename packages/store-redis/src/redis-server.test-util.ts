import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real redis-server on 127.0.0.1 with a free port and a temp dir; no persistence unless asked.
 * `restart()` stops it (SIGTERM) and starts it again on the same port and directory.
 */
export interface TestRedis {
  port: number
  url: string
  dir: string
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Options of {@link startRedis}. */
export interface TestRedisOptions {
  /** An append-only file fsynced on every write: a restart keeps every acknowledged write. */
  persistent?: boolean
  /** Extra redis-server arguments, such as ACL users (`--user …`). */
  args?: string[]
  /** Serve TLS only (PEM files); the URL is then `rediss://`. */
  tls?: { cert: string; key: string; ca: string }
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function launch(args: string[]): Promise<ChildProcess | undefined> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.once('error', (e) =>
      reject(
        new Error(`redis-server must be on PATH (apt-get install redis-server): ${e.message}`),
      ),
    )
    child.stdout!.on('data', (chunk) => {
      out += chunk
      if (out.includes('Ready to accept connections')) resolve(child)
    })
    child.once('exit', () => resolve(undefined))
  })
}

async function halt(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
}

export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-'))
  const tls = options.tls
  const argsFor = (port: number) => [
    ...(tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no']
      : ['--port', String(port)]),
    ...(tls
      ? ['--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca]
      : []),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(options.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no']),
    '--protected-mode',
    'no',
    ...(options.args ?? []),
  ]
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    let child = await launch(argsFor(port))
    if (!child) {
      if (attempt < 3) continue
      throw new Error('redis-server did not start')
    }
    return {
      port,
      dir,
      url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
      async restart() {
        await halt(child!)
        child = await launch(argsFor(port))
        if (!child) throw new Error('redis-server did not start again')
      },
      async stop() {
        await halt(child!)
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
}

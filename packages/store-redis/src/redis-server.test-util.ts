import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real redis-server on 127.0.0.1 with a free port and a temp dir, no persistence. */
export interface TestRedis {
  port: number
  url: string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-'))
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child: ChildProcess = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const ready = await new Promise<boolean>((resolve, reject) => {
      let out = ''
      child.once('error', (e) =>
        reject(
          new Error(`redis-server must be on PATH (apt-get install redis-server): ${e.message}`),
        ),
      )
      child.stdout!.on('data', (chunk) => {
        out += chunk
        if (out.includes('Ready to accept connections')) resolve(true)
      })
      child.once('exit', () => resolve(false))
    })
    if (!ready) {
      if (attempt < 3) continue
      throw new Error('redis-server did not start')
    }
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      async stop() {
        if (child.exitCode === null) {
          await new Promise((resolve) => {
            child.once('exit', resolve)
            child.kill('SIGTERM')
          })
        }
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
}

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readDemoPki } from './pki.js'
import { startWorkerd } from './workerd.js'

/**
 * A demo server running in a process of its own.
 *
 * @example
 * ```ts
 * const cloud = await spawnCloud({ pkiDir: await createDemoPki(), port: 0 })
 * await cloud.stop()
 * ```
 */
export interface DemoProcess {
  url: string
  port: number
  /** Lines the process printed, for logs. */
  readonly output: string[]
  stop(): Promise<void>
}

/**
 * Starts the cloud gate (`cloud-main.js`, HTTPS with client certificates) as a child process on
 * 127.0.0.1, with the keys and certificates in `pkiDir` (from {@link createDemoPki}).
 *
 * @example
 * ```ts
 * const cloud = await spawnCloud({ pkiDir, port: 8443 })
 * ```
 */
export function spawnCloud(options: { pkiDir: string; port?: number }): Promise<DemoProcess> {
  return spawnServer('cloud-main.js', { PORT: String(options.port ?? 0), PKI_DIR: options.pkiDir })
}

/**
 * Starts the edge gate as a child process: Node (`edge-main.js`, the edge adapter's `serveNode`)
 * or workerd (the bundled worker), with the edge's client certificate and the cloud's JWE key
 * from `pkiDir`.
 *
 * @example
 * ```ts
 * const edge = await spawnEdge({ cloudUrl: cloud.url, pkiDir, runtime: 'workerd' })
 * ```
 */
export async function spawnEdge(options: {
  cloudUrl: string
  pkiDir: string
  port?: number
  runtime?: 'node' | 'workerd'
}): Promise<DemoProcess> {
  if (options.runtime === 'workerd') {
    const edge = await startWorkerd({
      cloudUrl: options.cloudUrl,
      pki: await readDemoPki(options.pkiDir),
      port: options.port ?? 0,
    })
    return { url: edge.url, port: edge.port, output: [], stop: edge.close }
  }
  return spawnServer('edge-main.js', {
    PORT: String(options.port ?? 0),
    CLOUD_URL: options.cloudUrl,
    PKI_DIR: options.pkiDir,
  })
}

function spawnServer(script: string, env: Record<string, string>): Promise<DemoProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(new URL(`./${script}`, import.meta.url))],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const output: string[] = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${script} did not start within 20 s: ${output.join('\n')}`))
    }, 20_000)
    let pending = ''
    const onData = (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        output.push(line)
        const match = / listening on (https?:\/\/\S+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          const url = match[1]!
          resolve({ url, port: Number(new URL(url).port), output, stop })
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString().trimEnd()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited with ${code}: ${output.join('\n')}`))
    })
  })
}

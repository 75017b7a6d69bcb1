import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DemoPki } from './pki.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Bundles the edge worker (`dist/worker.js` with the compressed model from `edge-model/`) into
 * one ES module for workerd with esbuild, and returns its source. `node:` imports stay external:
 * they are only reached on Node code paths (files, tfjs-node) the worker never takes.
 *
 * @example
 * ```ts
 * const source = await bundleEdgeWorker()
 * ```
 */
export async function bundleEdgeWorker(): Promise<string> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    stdin: {
      contents: [
        "import modelJson from './edge-model/model.json'",
        "import weights from './edge-model/weights.bin'",
        "import { edgeWorker } from './dist/worker.js'",
        'export default edgeWorker(modelJson, weights)',
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'edge-worker-entry.js',
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['worker', 'browser'],
    loader: { '.bin': 'binary' },
    external: ['node:*', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'],
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

/**
 * A workerd process serving the edge worker.
 *
 * @example
 * ```ts
 * const edge = await startWorkerd({ cloudUrl: cloud.url })
 * await fetch(`${edge.url}/v2/health/ready`)
 * await edge.close()
 * ```
 */
export interface WorkerdEdge {
  url: string
  port: number
  close(): Promise<void>
}

/**
 * Starts workerd (the `workerd` npm package's binary, nothing downloaded) on 127.0.0.1 with the
 * bundled edge worker. `CLOUD_URL` and the cloud's public JWE key are bound as text and JSON; the
 * cloud itself is reached through `CLOUD`, an external server that workerd connects to over TLS
 * with the edge's client certificate (`tlsOptions.keypair`), trusting only the demo CA and
 * checking the cloud's certificate for `localhost`. Resolves once the worker answers
 * `GET /v2/health/live`.
 *
 * @example
 * ```ts
 * const edge = await startWorkerd({ cloudUrl: 'https://127.0.0.1:8443', pki, port: 8787 })
 * ```
 */
export async function startWorkerd(options: {
  cloudUrl: string
  pki: DemoPki
  port?: number
  bundle?: string
}): Promise<WorkerdEdge> {
  const source = options.bundle ?? (await bundleEdgeWorker())
  const port = options.port || (await freePort())
  const cloud = new URL(options.cloudUrl)
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-workerd-'))
  const workerd = 'workerd'
  const { compatibilityDate } = (await import(workerd)) as { compatibilityDate: string }
  await writeFile(join(dir, 'worker.js'), source)
  await writeFile(join(dir, 'ca.pem'), options.pki.caPem)
  await writeFile(join(dir, 'edge-cert.pem'), options.pki.edge.certPem)
  await writeFile(join(dir, 'edge-key.pem'), options.pki.edge.keyPem, { mode: 0o600 })
  await writeFile(join(dir, 'cloud-jwe.public.json'), JSON.stringify(options.pki.jwe.publicJwk))
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edgeWorker),
    (name = "cloud", external = (
      address = ${JSON.stringify(`${cloud.hostname}:${cloud.port}`)},
      https = (
        tlsOptions = (
          keypair = (privateKey = embed "edge-key.pem", certificateChain = embed "edge-cert.pem"),
          trustedCertificates = [embed "ca.pem"],
        ),
        certificateHost = "localhost",
      ),
    )),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "edge")],
);

const edgeWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [
    (name = "CLOUD_URL", text = ${JSON.stringify(options.cloudUrl)}),
    (name = "CLOUD_KEY", json = embed "cloud-jwe.public.json"),
    (name = "CLOUD", service = "cloud"),
  ],
);
`,
  )
  const child = spawn(workerdBinary(), ['serve', join(dir, 'config.capnp')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) {
      await close()
      throw new Error(`workerd exited with ${child.exitCode}: ${output.slice(-2000)}`)
    }
    try {
      const res = await fetch(`${url}/v2/health/live`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close()
      throw new Error(`workerd did not answer within 15 s: ${output.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, port, close }
}

function workerdBinary(): string {
  const platforms: Record<string, string> = {
    'linux x64': 'linux-64',
    'linux arm64': 'linux-arm64',
    'darwin x64': 'darwin-64',
    'darwin arm64': 'darwin-arm64',
    'win32 x64': 'windows-64',
  }
  const key = platforms[`${process.platform} ${process.arch}`]
  if (!key) throw new Error(`workerd has no binary for ${process.platform} ${process.arch}`)
  const fromWorkerd = createRequire(createRequire(import.meta.url).resolve('workerd'))
  const exe = process.platform === 'win32' ? 'workerd.exe' : 'workerd'
  return fromWorkerd.resolve(`@cloudflare/workerd-${key}/bin/${exe}`)
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

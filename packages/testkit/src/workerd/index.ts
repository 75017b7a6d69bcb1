import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const PACKAGES = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * Maps `@modelgate/<name>` (a default entry) or `@modelgate/<name>/<sub>` (a subpath entry) of
 * the workspace to its source, so a worker bundles the packages as they are in the repository.
 *
 * @example
 * ```ts
 * const aliases = workspaceAliases(['core', 'llm', 'llm/testing'])
 * const source = await bundleWorker({ contents: "export * from '@modelgate/core'", aliases })
 * ```
 */
export function workspaceAliases(names: readonly string[]): Record<string, string> {
  // Subpaths first: the more specific alias must win.
  const sorted = [...names].sort((a, b) => b.split('/').length - a.split('/').length)
  return Object.fromEntries(
    sorted.map((name) => {
      const [pkg, sub] = name.split('/') as [string, string | undefined]
      return [
        `@modelgate/${name}`,
        join(PACKAGES, pkg, 'src', sub ? `${sub}/index.ts` : 'index.ts'),
      ]
    }),
  )
}

/**
 * Options of {@link bundleWorker}.
 *
 * @example
 * ```ts
 * const options: BundleWorkerOptions = { contents: 'export default { fetch: () => new Response("ok") }' }
 * ```
 */
export interface BundleWorkerOptions {
  /** The worker module's source (JavaScript or TypeScript). */
  contents: string
  /** Where relative imports and packages resolve from. Default: the packages folder. */
  resolveDir?: string
  /** Package names mapped to files (see {@link workspaceAliases}). */
  aliases?: Record<string, string>
  /** Global identifiers replaced at bundle time. */
  define?: Record<string, string>
}

/**
 * Bundles a Worker module with esbuild for a Web runtime: one ES module, `platform: 'neutral'`
 * with the `worker` and `browser` conditions and nothing external, so a `node:` import anywhere
 * in what the worker reaches fails the bundle.
 *
 * @example
 * ```ts
 * const source = await bundleWorker({
 *   contents: "import { createGate } from '@modelgate/core'; const gate = createGate({ models: [] }); export default { fetch: gate.fetch }",
 *   aliases: workspaceAliases(['core']),
 * })
 * ```
 */
export async function bundleWorker(options: BundleWorkerOptions): Promise<string> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    stdin: { contents: options.contents, resolveDir: options.resolveDir ?? PACKAGES, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    ...(options.aliases ? { alias: options.aliases } : {}),
    ...(options.define ? { define: options.define } : {}),
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

/**
 * A binding of a worker: JSON or text values, available on `env`.
 *
 * @example
 * ```ts
 * const binding: WorkerBinding = { name: 'KEY', json: publicJwk }
 * ```
 */
export type WorkerBinding = { name: string; json: unknown } | { name: string; text: string }

/**
 * A worker to serve with {@link startWorkerd}.
 *
 * @example
 * ```ts
 * const worker: WorkerSpec = { name: 'gate', source, bindings: [{ name: 'REGION', text: 'eu' }] }
 * ```
 */
export interface WorkerSpec {
  name: string
  source: string
  bindings?: WorkerBinding[]
}

/**
 * A running workerd process: the URL of each worker (one loopback socket per worker) and `stop()`.
 *
 * @example
 * ```ts
 * const runtime = await startWorkerd([{ name: 'gate', source }])
 * await fetch(`${runtime.urls.gate}/v2/health/live`)
 * await runtime.stop()
 * ```
 */
export interface WorkerdRuntime {
  urls: Record<string, string>
  stop(): Promise<void>
}

/**
 * Serves workers with workerd (the `workerd` npm package's binary, nothing downloaded), each on
 * its own port of 127.0.0.1. Resolves once every worker answers `GET {readyPath}` (default
 * `/v2/health/live`) with a status below 500; rejects with workerd's output if it exits or does
 * not answer within 15 s.
 *
 * @example
 * ```ts
 * const runtime = await startWorkerd([{ name: 'gate', source: await bundleWorker({ contents }) }])
 * ```
 */
export async function startWorkerd(
  workers: readonly WorkerSpec[],
  options: { readyPath?: string } = {},
): Promise<WorkerdRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-workerd-'))
  const workerd = 'workerd'
  const { compatibilityDate } = (await import(workerd)) as { compatibilityDate: string }
  const ports: number[] = []
  for (const _ of workers) ports.push(await freePort())
  const services: string[] = []
  const sockets: string[] = []
  const definitions: string[] = []
  for (const [i, w] of workers.entries()) {
    const id = `w${i}`
    await writeFile(join(dir, `${id}.js`), w.source)
    const bindings: string[] = []
    for (const [j, b] of (w.bindings ?? []).entries()) {
      if ('json' in b) {
        await writeFile(join(dir, `${id}-${j}.json`), JSON.stringify(b.json))
        bindings.push(`(name = ${JSON.stringify(b.name)}, json = embed "${id}-${j}.json")`)
      } else {
        bindings.push(`(name = ${JSON.stringify(b.name)}, text = ${JSON.stringify(b.text)})`)
      }
    }
    services.push(`(name = ${JSON.stringify(w.name)}, worker = .${id})`)
    sockets.push(
      `(name = "${id}", address = "127.0.0.1:${ports[i]}", http = (), service = ${JSON.stringify(w.name)})`,
    )
    definitions.push(`const ${id} :Workerd.Worker = (
  modules = [(name = "${id}.js", esModule = embed "${id}.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [${bindings.join(', ')}],
);`)
  }
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${services.join(', ')}],
  sockets = [${sockets.join(', ')}],
);
${definitions.join('\n')}
`,
  )
  const child = spawn(workerdBinary(), ['serve', join(dir, 'config.capnp')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  const urls = Object.fromEntries(workers.map((w, i) => [w.name, `http://127.0.0.1:${ports[i]}`]))
  const readyPath = options.readyPath ?? '/v2/health/live'
  const deadline = Date.now() + 15_000
  for (const url of Object.values(urls)) {
    for (;;) {
      if (child.exitCode !== null) {
        await stop()
        throw new Error(`workerd exited with ${child.exitCode}: ${output.slice(-2000)}`)
      }
      try {
        if ((await fetch(url + readyPath)).status < 500) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`workerd did not answer within 15 s: ${output.slice(-2000)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return { urls, stop }
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
  const fromWorkerd = createRequire(require.resolve('workerd'))
  const exe = process.platform === 'win32' ? 'workerd.exe' : 'workerd'
  return fromWorkerd.resolve(`@cloudflare/workerd-${key}/bin/${exe}`)
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url))

const execFileAsync = promisify(execFile)

/** The fields of a packed package.json the consumer tests read. */
export interface Manifest {
  name: string
  version: string
  license?: string
  keywords?: string[]
  homepage?: string
  bugs?: { url?: string }
  repository?: { type?: string; url?: string; directory?: string }
  exports?: Record<string, unknown>
  bin?: Record<string, string>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  optionalDependencies?: Record<string, string>
}

/** One workspace package as `pnpm pack` wrote it. */
export interface Packed {
  name: string
  file: string
  manifest: Manifest
}

/**
 * The environment for npm and the programs of a consumer app: this process's, without what a
 * package manager running the tests put there (npm_config_*, npm_package_*, INIT_CWD…), so that
 * npm behaves as it would in a user's shell; onnxruntime-node's postinstall (optional CUDA files,
 * fetched from the network) is skipped.
 */
export function consumerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env))
    if (!/^(npm_|pnpm_|INIT_CWD$|NODE_OPTIONS$|VITEST)/i.test(k)) env[k] = v
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', ...extra }
}

/** Runs a program to completion; rejects with its output when it exits non-zero. */
export async function exec(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(file, args, {
      cwd: options.cwd,
      env: options.env ?? consumerEnv(),
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${file} ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

/**
 * Packs every package under packages/ with pnpm (as a release would: `workspace:` ranges become
 * versions) into `dest`.
 */
export async function packWorkspace(dest: string): Promise<Map<string, Packed>> {
  await exec(
    'npx',
    ['-y', 'pnpm@12.4.2', '-r', '--filter', './packages/*', 'pack', '--pack-destination', dest],
    { cwd: root, env: consumerEnv() },
  )
  const packed = new Map<string, Packed>()
  for (const dir of await readdir(join(root, 'packages'))) {
    const source = join(root, 'packages', dir, 'package.json')
    if (!existsSync(source)) continue
    const { name, version } = JSON.parse(await readFile(source, 'utf8')) as Manifest
    const file = join(dest, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`)
    const { stdout } = await exec('tar', ['-xzOf', file, 'package/package.json'], { cwd: dest })
    packed.set(name, { name, file, manifest: JSON.parse(stdout) as Manifest })
  }
  return packed
}

/**
 * The version of a third-party package the workspace installed (the root's, else the first
 * package's that has it), so that consumer installs use the versions the workspace tests.
 */
export async function workspaceVersion(name: string): Promise<string | undefined> {
  const places = [
    root,
    ...(await readdir(join(root, 'packages'))).map((d) => join(root, 'packages', d)),
  ]
  for (const place of places) {
    const manifest = join(place, 'node_modules', name, 'package.json')
    if (existsSync(manifest))
      return (JSON.parse(await readFile(manifest, 'utf8')) as Manifest).version
  }
  return undefined
}

/**
 * An npm project outside the workspace that installs the packed tarballs. `@modelgate/*` names
 * resolve to the tarballs: the ones named in an install directly, every other one through npm
 * `overrides` (they are not on the registry), exactly as the registry would serve them. Other
 * names without a version get the version the workspace uses; the npm cache is preferred.
 */
export class ConsumerApp {
  private constructor(
    readonly dir: string,
    private readonly packed: Map<string, Packed>,
  ) {}

  static async create(dir: string, packed: Map<string, Packed>): Promise<ConsumerApp> {
    await writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`,
    )
    return new ConsumerApp(dir, packed)
  }

  /** `npm install <specs>`, with `@modelgate/*` names standing for the tarballs. */
  async install(specs: string[]): Promise<void> {
    const file = join(this.dir, 'package.json')
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest & {
      overrides?: Record<string, string>
    }
    const direct = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...specs.filter((s) => this.packed.has(s)),
    ])
    manifest.overrides = Object.fromEntries(
      [...this.packed.values()]
        .filter((p) => !direct.has(p.name))
        .map((p) => [p.name, `file:${p.file}`]),
    )
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`)
    const args: string[] = []
    for (const spec of specs) {
      const ours = this.packed.get(spec)
      if (ours) args.push(ours.file)
      else if (/^@?[^@]+$/.test(spec)) {
        const version = await workspaceVersion(spec)
        args.push(version ? `${spec}@${version}` : spec)
      } else args.push(spec)
    }
    await exec(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...args],
      { cwd: this.dir, timeoutMs: 300_000 },
    )
  }

  /** Bytes under node_modules (apparent size). */
  async installedBytes(): Promise<number> {
    const { stdout } = await exec('du', ['-sb', 'node_modules'], { cwd: this.dir })
    return Number(stdout.split('\t')[0])
  }
}

/** A long-running process started by a shell command, stopped with its whole process group. */
export interface Started {
  child: ChildProcess
  output(): string
  stop(): Promise<number | null>
}

/**
 * Starts `command` in a shell in `cwd` and resolves once its output matches `ready`; rejects when
 * it exits first (with its output) or after `timeoutMs`.
 */
export function startCommand(
  command: string,
  cwd: string,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<Started> {
  const child = spawn('bash', ['-c', command], {
    cwd,
    env: consumerEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const started: Started = {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGTERM')
        } catch {
          // already gone
        }
      }
      return exited
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void started.stop()
      reject(new Error(`${command}: not ready after ${timeoutMs} ms: ${out}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve(started)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited with ${code}: ${out}`))
    })
  })
}

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/** The repository root. */
export const root = fileURLToPath(new URL('../../../../', import.meta.url))
/** The built `modelgate` binary. */
export const bin = join(root, 'packages/cli/dist/bin.js')

/**
 * Builds the CLI (and what it references) once per test file, under a lock so that test files
 * running in parallel never write the same outputs at once.
 */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(
    'flock',
    [
      '/tmp/modelgate-cli-build.lock',
      process.execPath,
      join(root, 'node_modules/typescript/bin/tsc'),
      '-b',
      'packages/cli',
    ],
    { cwd: root },
  )
}

/** What a finished `modelgate` process left. */
export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `modelgate …` to completion, with optional stdin, in `cwd`. */
export function run(
  args: string[],
  options: { cwd: string; stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`modelgate ${args.join(' ')} timed out; stderr: ${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.stdin ?? '')
  })
}

/** A `modelgate serve` process that printed its listening line. */
export interface Served {
  child: ChildProcess
  url: string
  stop(): Promise<Run>
}

/** Starts `modelgate serve …` and resolves once it listens. */
export function serve(args: string[], cwd: string): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { cwd })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<Run>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line; stderr: ${stderr}`))
    }, 30_000)
    child.stdout.on('data', () => {
      const line = /^modelgate listening on (http:\/\/\S+) /m.exec(stdout)
      if (!line) return
      clearTimeout(timer)
      resolve({
        child,
        url: line[1]!,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM')
          return exited
        },
      })
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`))
    })
  })
}

/** Parses JSON lines. */
export function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown)
}

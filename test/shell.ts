import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What one command left: its exit status and what it printed. */
export interface ShellResult {
  command: string
  code: number
  stdout: string
  stderr: string
}

/** A command left running in the background (a server), in its own process group. */
export interface BackgroundJob {
  command: string
  pid: number
  /** Everything it printed so far (stdout and stderr together). */
  output(): Promise<string>
  /**
   * Sends `signal` to its process group and resolves once the group is gone: `true` when it
   * ended on that signal within 15 s, `false` when it had to be killed (or had already ended).
   */
  stop(signal?: NodeJS.Signals): Promise<boolean>
}

/**
 * The logical commands of a shell script, as a user would paste them one at a time: a newline
 * ends a command unless it is quoted, escaped with `\` or inside `$( … )`. Comment lines and
 * blank lines are dropped.
 */
export function splitCommands(script: string): string[] {
  const commands: string[] = []
  let current = ''
  let quote: "'" | '"' | undefined
  let depth = 0
  let comment = false
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!
    if (comment) {
      if (c === '\n') comment = false
      else continue
    }
    if (quote === "'") {
      if (c === "'") quote = undefined
      current += c
      continue
    }
    if (c === '\\') {
      current += c + (script[i + 1] ?? '')
      i++
      continue
    }
    if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '$' && script[i + 1] === '(') depth++
      else if (c === ')' && depth > 0) depth--
      current += c
      continue
    }
    if (c === "'" || c === '"') quote = c
    else if (c === '$' && script[i + 1] === '(') depth++
    else if (c === ')' && depth > 0) depth--
    else if (c === '#' && current.trim() === '') {
      comment = true
      continue
    } else if (c === '\n' && depth === 0) {
      if (current.trim() !== '') commands.push(current.trim())
      current = ''
      continue
    }
    current += c
  }
  if (current.trim() !== '') commands.push(current.trim())
  return commands
}

/** The text of every fenced block of `markdown` in one of `languages` (default `sh`). */
export function codeBlocks(markdown: string, languages = ['sh']): string[] {
  const blocks: string[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const body: string[] = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
    if (languages.includes(open[1]!)) blocks.push(body.join('\n'))
  }
  return blocks
}

/**
 * One bash process that runs commands one after another, as a user typing them: working
 * directory, variables and exported names carry over from one command to the next. Each
 * command's output is captured on its own; background jobs get their own process group (job
 * control is on), so they can be stopped with everything they started.
 */
export class ShellSession {
  private buffer = ''
  private waiters: Array<() => void> = []
  private count = 0
  private readonly jobs: BackgroundJob[] = []

  private constructor(
    private readonly bash: ChildProcessWithoutNullStreams,
    private readonly dir: string,
  ) {
    bash.stdout.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString()
      for (const wake of this.waiters.splice(0)) wake()
    })
    bash.on('exit', () => {
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  /** Starts bash in `cwd` with `env` added to this process's environment. */
  static async start(options: {
    cwd: string
    env?: Record<string, string>
  }): Promise<ShellSession> {
    const dir = await mkdtemp(join(tmpdir(), 'modelgate-shell-'))
    const bash = spawn('bash', ['--norc', '--noprofile'], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: 'pipe',
    })
    bash.stderr.resume()
    bash.stdin.write('set -m\n')
    return new ShellSession(bash, dir)
  }

  private async marker(name: string, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs
    const re = new RegExp(`${name} (\\S+)\\n`)
    for (;;) {
      const m = re.exec(this.buffer)
      if (m) {
        this.buffer = this.buffer.slice(m.index + m[0].length)
        return m[1]!
      }
      if (this.bash.exitCode !== null) throw new Error(`bash exited while running: ${what}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Runs one command to its end and returns its status and output. */
  async run(command: string, timeoutMs = 180_000): Promise<ShellResult> {
    const n = ++this.count
    const out = join(this.dir, `out.${n}`)
    const err = join(this.dir, `err.${n}`)
    this.bash.stdin.write(
      `{ ${command}\n} >'${out}' 2>'${err}' </dev/null\necho "__DONE_${n}__ $?"\n`,
    )
    const code = Number(await this.marker(`__DONE_${n}__`, timeoutMs, command))
    return {
      command,
      code,
      stdout: await readFile(out, 'utf8'),
      stderr: await readFile(err, 'utf8'),
    }
  }

  /**
   * Starts a command in the background, as `command &` would, and resolves once its output
   * matches `ready` (rejects if it exits first or takes longer than `timeoutMs`).
   */
  async background(command: string, ready: RegExp, timeoutMs = 180_000): Promise<BackgroundJob> {
    const n = ++this.count
    const log = join(this.dir, `bg.${n}`)
    this.bash.stdin.write(`{ ${command}\n} >'${log}' 2>&1 </dev/null &\necho "__BG_${n}__ $!"\n`)
    const pid = Number(await this.marker(`__BG_${n}__`, 10_000, command))
    const alive = () => {
      try {
        process.kill(-pid, 0)
        return true
      } catch {
        return false
      }
    }
    const output = async () => (existsSync(log) ? readFile(log, 'utf8') : '')
    const job: BackgroundJob = {
      command,
      pid,
      output,
      async stop(signal = 'SIGTERM') {
        if (!alive()) return false
        process.kill(-pid, signal)
        const deadline = Date.now() + 15_000
        while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
        if (!alive()) return true
        process.kill(-pid, 'SIGKILL')
        return false
      },
    }
    this.jobs.push(job)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = await output()
      if (ready.test(text)) return job
      if (!alive()) throw new Error(`${command} exited before it was ready:\n${text}`)
      if (Date.now() > deadline) {
        await job.stop()
        throw new Error(`${command} not ready after ${timeoutMs} ms:\n${text}`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  /** Stops the background jobs still running, ends bash and removes the captured output. */
  async close(): Promise<void> {
    for (const job of this.jobs) await job.stop()
    if (this.bash.exitCode === null) {
      const exited = new Promise((resolve) => this.bash.once('exit', resolve))
      this.bash.stdin.end('exit\n')
      await exited
    }
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** One command of a document and what running it gave. */
export interface Step {
  command: string
  /** The command as run (after `rewrite`). */
  ran: string
  result?: ShellResult
  job?: BackgroundJob
  skipped?: string
}

/** How {@link runDocument} treats a document's commands. */
export interface RunOptions {
  cwd: string
  env?: Record<string, string>
  /** One shell per block (a new terminal each, starting in `cwd`) instead of one for all. */
  shellPerBlock?: boolean
  /** For commands that keep running (servers): what their output shows once they are ready. */
  server?: (command: string) => RegExp | undefined
  /** Why a command is not run (for example, it runs this very test), or undefined. */
  skip?: (command: string) => string | undefined
  /** The command as run, for example on free ports instead of the documented ones. */
  rewrite?: (command: string) => string
  /** Called before each command, with the steps so far (for example, to stop a server). */
  before?: (command: string, steps: Step[]) => Promise<void>
}

/**
 * Runs every command of every `sh` block of a Markdown document in order, as a reader pasting
 * them would: servers are started in the background and awaited, every other command runs to its
 * end. Resolves with the steps and a `close` that stops every server and shell.
 */
export async function runDocument(
  markdown: string,
  options: RunOptions,
): Promise<{ steps: Step[]; close(): Promise<void> }> {
  const shells: ShellSession[] = []
  const steps: Step[] = []
  const close = async () => {
    for (const s of shells.reverse()) await s.close()
  }
  try {
    let shell: ShellSession | undefined
    for (const block of codeBlocks(markdown)) {
      if (!shell || options.shellPerBlock) {
        shell = await ShellSession.start({
          cwd: options.cwd,
          ...(options.env ? { env: options.env } : {}),
        })
        shells.push(shell)
      }
      for (const command of splitCommands(block)) {
        const ran = options.rewrite ? options.rewrite(command) : command
        const skipped = options.skip?.(command)
        if (skipped) {
          steps.push({ command, ran, skipped })
          continue
        }
        await options.before?.(command, steps)
        const ready = options.server?.(command)
        if (ready) steps.push({ command, ran, job: await shell.background(ran, ready) })
        else steps.push({ command, ran, result: await shell.run(ran) })
      }
    }
  } catch (error) {
    await close()
    throw error
  }
  return { steps, close }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The steps that ran to an end with a non-zero status, each with its output. */
export function failures(steps: Step[]): string[] {
  return steps
    .filter((s) => s.result && s.result.code !== 0)
    .map(
      (s) =>
        `${s.command}\nexit ${s.result!.code}\n${s.result!.stdout.slice(-2000)}\n${s.result!.stderr}`,
    )
}

/** What the commands containing every one of `parts` printed, in order. */
export function resultsOf(steps: Step[], ...parts: string[]): ShellResult[] {
  return steps
    .filter((s) => s.result && parts.every((p) => s.command.includes(p)))
    .map((s) => s.result!)
}

import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { commands } from './commands/index.js'
import type { Command, CommandIO } from './commands/types.js'
import { CliError } from './errors.js'

const processIO: CommandIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdoutBytes: (bytes) => void process.stdout.write(bytes),
}

/**
 * The installed version of `@modelgate/cli`.
 *
 * @example
 * ```ts
 * console.log(cliVersion()) // '0.1.0'
 * ```
 */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/**
 * The folder the user ran `modelgate` in, against which relative paths in flags resolve: the
 * current directory, except under a package script named `modelgate` (`pnpm modelgate …` or
 * `npm run modelgate -- …` from any folder of a project with such a script, as this repository
 * has), which runs in the project's root with the user's folder in `INIT_CWD`. Paths inside a
 * config file resolve against the config file's folder in every case.
 *
 * @example
 * ```ts
 * process.chdir(invocationDir())
 * ```
 */
export function invocationDir(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  return env.npm_lifecycle_event === 'modelgate' && env.INIT_CWD ? env.INIT_CWD : cwd
}

/**
 * Runs the `modelgate` command line and resolves to the exit code: `0` success, `1` runtime
 * failure, `2` bad usage or config. Messages go to `io` (the process streams by default).
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * const code = await runCli(['--version'])
 * ```
 */
export async function runCli(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) {
    io.stderr(globalHelp())
    return 2
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined
    const command = topic === undefined ? undefined : findCommand(topic)
    if (topic !== undefined && !command) return unknownCommand(topic, io)
    io.stdout(
      command
        ? command.subcommands
          ? groupHelp(command, `modelgate ${command.name}`)
          : commandHelp(command)
        : globalHelp(),
    )
    return 0
  }
  if (first === '--version' || first === '-v') {
    io.stdout(`${cliVersion()}\n`)
    return 0
  }
  if (first.startsWith('-')) {
    io.stderr(`modelgate: unknown option ${first}\nRun 'modelgate --help' for usage.\n`)
    return 2
  }
  const command = findCommand(first)
  if (!command) return unknownCommand(first, io)
  return runCommand(command, rest, `modelgate ${command.name}`, io)
}

async function runCommand(
  command: Command,
  argv: readonly string[],
  label: string,
  io: CommandIO,
): Promise<number> {
  if (command.subcommands) {
    const [first, ...rest] = argv
    if (first === '--help' || first === '-h' || first === 'help') {
      io.stdout(groupHelp(command, label))
      return 0
    }
    const sub = command.subcommands.find((c) => c.name === first)
    if (!sub) {
      const names = command.subcommands.map((c) => c.name).join(', ')
      const problem = first === undefined ? 'missing subcommand' : `unknown subcommand "${first}"`
      io.stderr(`${label}: ${problem} (${names})\nRun '${label} --help' for usage.\n`)
      return 2
    }
    return runCommand(sub, rest, `${label} ${sub.name}`, io)
  }

  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseOptions(command),
      allowPositionals: command.positionals ?? false,
      strict: true,
    })
  } catch (error) {
    io.stderr(`${label}: ${(error as Error).message}\nRun '${label} --help' for usage.\n`)
    return 2
  }
  if (parsed.values.help === true) {
    io.stdout(commandHelp(command))
    return 0
  }
  try {
    return await command.run(
      {
        values: parsed.values as Record<string, string | boolean>,
        positionals: parsed.positionals,
      },
      io,
    )
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`${error.message}\n`)
      return error.exitCode
    }
    io.stderr(`${label}: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`)
    return 1
  }
}

function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name)
}

function unknownCommand(name: string, io: CommandIO): number {
  io.stderr(
    `modelgate: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})\n` +
      `Run 'modelgate --help' for usage.\n`,
  )
  return 2
}

function parseOptions(command: Command): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
  }
  for (const [name, o] of Object.entries(command.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    }
  }
  return options
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}\n`).join('')
}

function globalHelp(): string {
  return (
    'Usage: modelgate <command> [options]\n\n' +
    'Wraps ML model endpoints with access control, encryption, masking and explanations.\n\n' +
    'Commands:\n' +
    table(commands.map((c) => [c.name, c.summary])) +
    '\nOptions:\n' +
    table([
      ['-h, --help', 'Show help'],
      ['-v, --version', 'Print the version'],
    ]) +
    "\nRun 'modelgate <command> --help' for a command's options.\n"
  )
}

function groupHelp(command: Command, label: string): string {
  return (
    `Usage: ${label} <subcommand> [options]\n\n${command.summary}.\n` +
    (command.description ? `\n${command.description}\n` : '') +
    `\nSubcommands:\n${table((command.subcommands ?? []).map((c) => [c.name, c.summary]))}` +
    `\nRun '${label} <subcommand> --help' for a subcommand's options.\n`
  )
}

function commandHelp(command: Command): string {
  const rows: [string, string][] = Object.entries(command.options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`,
    o.description,
  ])
  rows.push(['-h, --help', 'Show this help'])
  return (
    `Usage: modelgate ${command.usage}\n\n${command.summary}.\n` +
    (command.description ? `\n${command.description}\n` : '') +
    `\nOptions:\n${table(rows)}`
  )
}

/**
 * Where a command writes. The CLI passes the process streams; tests may pass collectors.
 *
 * @example
 * ```ts
 * const io: CommandIO = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }
 * ```
 */
export interface CommandIO {
  stdout(text: string): void
  stderr(text: string): void
  /** Bytes for stdout as they are (`jwe decrypt --raw`); without it they go to `stdout` as UTF-8. */
  stdoutBytes?(bytes: Uint8Array): void
}

/**
 * One command-line option, in `node:util` `parseArgs` terms plus help text.
 *
 * @example
 * ```ts
 * const port: CommandOption = { type: 'string', short: 'p', value: 'n', description: 'Port (0 picks a free one)' }
 * ```
 */
export interface CommandOption {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
  /** Placeholder shown in help for string options, such as `file`. */
  value?: string
  description: string
}

/**
 * Parsed arguments of one command invocation.
 *
 * @example
 * ```ts
 * const args: CommandArgs = { values: { config: 'gate.json' }, positionals: [] }
 * ```
 */
export interface CommandArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
  positionals: string[]
}

/**
 * A `modelgate` subcommand. Register it in `src/commands/index.ts`. `run` resolves to the exit
 * code; it throws `CliError` (or `ConfigError`) for failures the user can act on.
 *
 * @example
 * ```ts
 * export const hello: Command = {
 *   name: 'hello',
 *   summary: 'Print a greeting',
 *   usage: 'hello [--name <name>]',
 *   options: { name: { type: 'string', value: 'name', description: 'Who to greet' } },
 *   async run({ values }, io) {
 *     io.stdout(`hello ${values.name ?? 'world'}\n`)
 *     return 0
 *   },
 * }
 * ```
 */
export interface Command {
  name: string
  /** One line for the command list. */
  summary: string
  /** Synopsis after `modelgate `, such as `serve --config <file> [options]`. */
  usage: string
  /** Paragraphs shown in `modelgate <command> --help`, after the synopsis. */
  description?: string
  options: Readonly<Record<string, CommandOption>>
  /** Whether the command takes positional arguments. */
  positionals?: boolean
  /**
   * Subcommands (`modelgate token issue`): the first argument picks one; `options` and `run` of
   * the group itself are then unused.
   */
  subcommands?: readonly Command[]
  run(args: CommandArgs, io: CommandIO): Promise<number>
}

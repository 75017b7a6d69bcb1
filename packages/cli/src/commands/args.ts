import { access, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import type { CommandArgs } from './types.js'

type Values = CommandArgs['values']

/**
 * A string option: `undefined` when absent, a usage error (exit 2) when required and absent.
 *
 * @example
 * ```ts
 * const file = stringOption(values, 'jwks', true)
 * ```
 */
export function stringOption(values: Values, name: string, required: true): string
export function stringOption(values: Values, name: string, required?: false): string | undefined
export function stringOption(values: Values, name: string, required = false): string | undefined {
  const value = values[name]
  if (value === undefined) {
    if (required) throw new ConfigError(`missing --${name}`)
    return undefined
  }
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`--${name}: expected a value`)
  return value
}

/**
 * A repeatable string option, possibly empty.
 *
 * @example
 * ```ts
 * const keys = listOption(values, 'key')
 * ```
 */
export function listOption(values: Values, name: string): string[] {
  const value = values[name]
  if (value === undefined) return []
  const list = Array.isArray(value) ? value : [value]
  return list.map((v) => {
    if (typeof v !== 'string' || v === '') throw new ConfigError(`--${name}: expected a value`)
    return v
  })
}

/**
 * A numeric option checked against bounds; a usage error (exit 2) when malformed.
 *
 * @example
 * ```ts
 * const ttl = numberOption(values, 'ttl', { integer: true, min: 1, max: 86_400 })
 * ```
 */
export function numberOption(
  values: Values,
  name: string,
  bounds: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const raw = stringOption(values, name)
  if (raw === undefined) return undefined
  const value = Number(raw)
  const kind = bounds.integer ? 'an integer' : 'a number'
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    (bounds.integer && !Number.isSafeInteger(value)) ||
    (bounds.min !== undefined && value < bounds.min) ||
    (bounds.max !== undefined && value > bounds.max)
  ) {
    const range =
      bounds.min !== undefined && bounds.max !== undefined
        ? ` from ${bounds.min} to ${bounds.max}`
        : bounds.min !== undefined
          ? ` >= ${bounds.min}`
          : ''
    throw new ConfigError(`--${name}: expected ${kind}${range}, got "${raw}"`)
  }
  return value
}

/**
 * One of a fixed set of values.
 *
 * @example
 * ```ts
 * const dtype = choiceOption(values, 'dtype', ['uint8', 'uint16', 'float16'], true)
 * ```
 */
export function choiceOption<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
  required = false,
): T | undefined {
  const value = required ? stringOption(values, name, true) : stringOption(values, name)
  if (value === undefined) return undefined
  if (!choices.includes(value as T)) {
    throw new ConfigError(`--${name}: expected one of ${choices.join(', ')}, got "${value}"`)
  }
  return value as T
}

/**
 * At most `max` positional arguments.
 *
 * @example
 * ```ts
 * const [token] = positionals(args, 1)
 * ```
 */
export function positionals(args: CommandArgs, max: number): (string | undefined)[] {
  if (args.positionals.length > max) {
    throw new ConfigError(`unexpected argument "${args.positionals[max]}"`)
  }
  return args.positionals
}

/**
 * The input lines of a line-oriented command: the one argument when given, else stdin.
 *
 * @example
 * ```ts
 * for await (const line of inputLines(token)) console.log(line)
 * ```
 */
export function inputLines(argument: string | undefined): Iterable<string> | AsyncIterable<string> {
  if (argument !== undefined) return [argument]
  // The iterator is created at once: readline drops lines that arrive before it exists.
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[
    Symbol.asyncIterator
  ]()
  return { [Symbol.asyncIterator]: () => lines }
}

/**
 * Reads and parses a JSON file; a missing or malformed file is a usage error naming the option.
 *
 * @example
 * ```ts
 * const jwk = await readJson('gate.jwk.json', '--key')
 * ```
 */
export async function readJson(file: string, option: string): Promise<unknown> {
  const text = await readInput(file, option)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${option}: ${file} is not JSON: ${messageOf(error)}`)
  }
}

/**
 * Reads a text file (or stdin for `-`); a missing file is a usage error naming the option.
 *
 * @example
 * ```ts
 * const pem = await readInput('ca/ca.key', '--ca')
 * ```
 */
export async function readInput(file: string, option: string): Promise<string> {
  return (await readInputBytes(file, option)).toString('utf8')
}

/**
 * Reads a file (or stdin for `-`) as bytes; a missing file is a usage error naming the option.
 *
 * @example
 * ```ts
 * const body = await readInputBytes('request.bin', 'IN')
 * ```
 */
export async function readInputBytes(file: string, option: string): Promise<Buffer> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    }
    return await readFile(file)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const reason =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : messageOf(error)
    throw new ConfigError(`${option}: ${reason}: ${file}`)
  }
}

/**
 * Checks that a file exists and is a file; a usage error naming the option otherwise.
 *
 * @example
 * ```ts
 * await requireFile('texts.jsonl', '--in')
 * ```
 */
export async function requireFile(file: string, option: string): Promise<void> {
  let info
  try {
    info = await stat(file)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new ConfigError(
      `${option}: ${code === 'ENOENT' ? 'file not found' : messageOf(error)}: ${file}`,
    )
  }
  if (!info.isFile()) throw new ConfigError(`${option}: not a file: ${file}`)
}

/**
 * Writes a file atomically (temporary file, then rename), with `mode` for secrets.
 *
 * @example
 * ```ts
 * await writeFileAtomic('gate.jwk.json', JSON.stringify(jwk), 0o600)
 * ```
 */
export async function writeFileAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  try {
    await writeFile(temp, text, { mode })
    await rename(temp, file)
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${messageOf(error)}`, 1, { cause: error })
  }
}

/**
 * Refuses to replace key material that already exists unless `--force` was given: a second
 * `ca init` would replace the CA key (every certificate it issued would stop verifying), a
 * `keys generate --out` would replace a key of another kind. Exit 1, naming the file.
 *
 * @example
 * ```ts
 * await refuseOverwrite([join(dir, 'ca.key'), join(dir, 'ca.crt')], values.force === true, 'ca init')
 * ```
 */
export async function refuseOverwrite(
  files: ReadonlyArray<string | undefined>,
  force: boolean,
  label: string,
): Promise<void> {
  if (force) return
  for (const file of files) {
    if (file === undefined) continue
    const exists = await access(file).then(
      () => true,
      () => false,
    )
    if (exists)
      throw new CliError(
        `${label}: ${file} exists and holds key material; pass --force to replace it`,
        1,
      )
  }
}

/**
 * Maps an error thrown by a library function: `TypeError` and `RangeError` mean bad options
 * (exit 2), anything else a runtime failure (exit 1). `CliError`s pass unchanged.
 *
 * @example
 * ```ts
 * try { await createCa(options) } catch (error) { throw failure(error, 'ca init') }
 * ```
 */
export function failure(error: unknown, label: string): CliError {
  if (error instanceof CliError) return error
  if (error instanceof TypeError || error instanceof RangeError) {
    return new ConfigError(`${label}: ${messageOf(error)}`, { cause: error })
  }
  return new CliError(`${label}: ${messageOf(error)}`, 1, { cause: error })
}

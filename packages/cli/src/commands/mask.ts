import { importPackage, messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import { failure, readInput, readJson, requireFile, stringOption } from './args.js'
import type { Command } from './types.js'

const mask = (field: string) =>
  importPackage(
    async () => ({
      ...(await import('@modelgate/mask')),
      ...(await import('@modelgate/mask/node')),
    }),
    '@modelgate/mask',
    field,
  )

/** `-` means stdin or stdout. */
function target(path: string, direction: 'in' | 'out') {
  if (path !== '-') return path
  return direction === 'in' ? process.stdin : process.stdout
}

async function detectorOption(file: string | undefined) {
  if (file === undefined) return undefined
  const value = await readJson(file, '--detector')
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`--detector: ${file} does not hold an options object`)
  }
  return value as Record<string, unknown>
}

/** A bad input line is a runtime failure (exit 1); other refusals are bad options (exit 2). */
function inputFailure(error: unknown, label: string): CliError {
  if (/^line \d+/.test(messageOf(error))) {
    return new CliError(`${label}: ${messageOf(error)}`, 1, { cause: error })
  }
  return failure(error, label)
}

const detectorFlag = {
  type: 'string',
  value: 'file',
  description: 'Detector options JSON (threshold, entities, allowList, denyList, ...)',
} as const

/**
 * `modelgate mask detect --in FILE.jsonl --out FILE.jsonl`: each input line is an object with a
 * `text` field; each output line is the same object plus `spans: [{start, end, type, score}]`.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['mask', 'detect', '--in', 'tickets.jsonl', '--out', 'spans.jsonl'])
 * ```
 */
export const maskDetect: Command = {
  name: 'detect',
  summary: 'Find PII spans in a JSONL file of texts',
  usage: 'mask detect --in <file.jsonl> --out <file.jsonl> [--field <name>] [--detector <file>]',
  description: [
    'Each input line is a JSON object with a "text" field (or --field); each output line is the',
    'same object plus "spans": [{"start","end","type","score"}], in input order. Offsets are',
    'JavaScript string indices (UTF-16 code units). Blank lines are skipped. "-" is stdin or',
    'stdout.',
    '',
    'Exit codes: 0 done, 1 a line that is not an object with a string text, 2 bad options.',
  ].join('\n'),
  options: {
    in: { type: 'string', value: 'file.jsonl', description: 'Input JSONL, or - (required)' },
    out: { type: 'string', value: 'file.jsonl', description: 'Output JSONL, or - (required)' },
    field: { type: 'string', value: 'name', description: 'Field holding the text (default text)' },
    detector: detectorFlag,
  },
  async run({ values }, io) {
    const input = stringOption(values, 'in', true)
    const output = stringOption(values, 'out', true)
    if (input !== '-') await requireFile(input, '--in')
    const detector = await detectorOption(stringOption(values, 'detector'))
    const field = stringOption(values, 'field')
    const { detectFile } = await mask('mask detect')
    try {
      const { lines } = await detectFile({
        in: target(input, 'in'),
        out: target(output, 'out'),
        ...(detector ? { detector } : {}),
        ...(field !== undefined ? { field } : {}),
      })
      if (output !== '-') io.stderr(`mask detect: ${lines} lines\n`)
      return 0
    } catch (error) {
      throw inputFailure(error, 'mask detect')
    }
  },
}

/**
 * `modelgate mask apply --policy FILE --in FILE.jsonl --out FILE.jsonl`: masks every record
 * of a JSONL file with a masking policy, one output line per input line.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['mask', 'apply', '--policy', 'policy.json', '--in', 'loans.jsonl', '--out', 'masked.jsonl'])
 * ```
 */
export const maskApply: Command = {
  name: 'apply',
  summary: 'Mask the records of a JSONL file with a policy',
  usage:
    'mask apply --policy <file> --in <file.jsonl> --out <file.jsonl> [--key-file <file>] [--tenant <id>] [--detector <file>]',
  description: [
    'Applies a masking policy (the mask plugin\'s format: "entities", "fields", "paths",',
    '"scanStrings") to every record, in order. Keyed operators (hash, pseudonymize, encrypt,',
    'fpe, dateShift) read the master key from --key-file, else from MODELGATE_MASK_KEY. Prints',
    'the masked entity counts to stderr. "-" is stdin or stdout.',
    '',
    'Exit codes: 0 done, 1 a bad input line, 2 bad options or policy.',
  ].join('\n'),
  options: {
    policy: { type: 'string', value: 'file', description: 'Masking policy JSON (required)' },
    in: { type: 'string', value: 'file.jsonl', description: 'Input JSONL, or - (required)' },
    out: { type: 'string', value: 'file.jsonl', description: 'Output JSONL, or - (required)' },
    'key-file': {
      type: 'string',
      value: 'file',
      description: 'Master key, raw or base64 (default: MODELGATE_MASK_KEY)',
    },
    tenant: {
      type: 'string',
      value: 'id',
      description: 'Tenant of hashes and tokens (default default)',
    },
    detector: detectorFlag,
  },
  async run({ values }, io) {
    const policy = await readJson(stringOption(values, 'policy', true), '--policy')
    const input = stringOption(values, 'in', true)
    const output = stringOption(values, 'out', true)
    if (input !== '-') await requireFile(input, '--in')
    const keyFile = stringOption(values, 'key-file')
    const key = keyFile === undefined ? undefined : (await readInput(keyFile, '--key-file')).trim()
    const tenant = stringOption(values, 'tenant')
    const detector = await detectorOption(stringOption(values, 'detector'))
    const { applyPolicyFile, validatePolicy } = await mask('mask apply')
    try {
      validatePolicy(policy as never, Boolean(key ?? process.env.MODELGATE_MASK_KEY))
    } catch (error) {
      throw new ConfigError(`--policy: ${(error as Error).message}`, { cause: error })
    }
    let result
    try {
      result = await applyPolicyFile({
        policy: policy as never,
        in: target(input, 'in'),
        out: target(output, 'out'),
        ...(key !== undefined ? { key } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
        ...(detector ? { detector } : {}),
      })
    } catch (error) {
      throw inputFailure(error, 'mask apply')
    }
    io.stderr(`mask apply: ${result.lines} lines, masked ${JSON.stringify(result.counts)}\n`)
    return 0
  },
}

/**
 * `modelgate mask detect|apply`.
 *
 * @example
 * ```ts
 * maskCommand.subcommands?.map((c) => c.name) // ['detect', 'apply']
 * ```
 */
export const maskCommand: Command = {
  name: 'mask',
  summary: 'Detect and mask PII in JSONL files',
  usage: 'mask <detect|apply> [options]',
  options: {},
  subcommands: [maskDetect, maskApply],
  async run() {
    return 2
  },
}

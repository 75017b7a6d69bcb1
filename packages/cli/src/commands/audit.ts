import { importPackage, messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import { listOption, positionals, readInput, requireFile, stringOption } from './args.js'
import type { Command } from './types.js'

/**
 * `modelgate audit verify FILE [--key PUBLIC_KEY …] [--checkpoint JWS] [--allow-unsigned-tail]
 * [--json]`: checks an audit log's hash chain and signed checkpoints; exit 0 intact, 1 not,
 * naming the first bad record.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * process.exitCode = await runCli(['audit', 'verify', 'audit.jsonl', '--key', 'audit-public.pem'])
 * ```
 */
export const auditVerify: Command = {
  name: 'verify',
  summary: 'Verify an audit log: hash chain and signed checkpoints',
  usage:
    'audit verify <file> [--key <public-key-file> ...] [--checkpoint <jws|file>] [--allow-unsigned-tail] [--table <name>] [--json]',
  description: [
    'Reads a JSONL audit log or a SQLite database written by the audit plugin and checks the',
    'hash chain from record 0, every checkpoint signature (with --key: a PEM public key or a JWK',
    'file) and that a checkpoint covers the last record (unless --allow-unsigned-tail). Prints',
    '"intact: ..." or "NOT intact: <kind> - <message>" naming the first missing, reordered,',
    'altered, forged, truncated or unsigned record or checkpoint (checkpoints are chained, so a',
    'deleted one shows). A log whose end no checkpoint covers (one written without signing, or',
    'cut) fails unless --allow-unsigned-tail, which accepts it with a WARNING on stderr.',
    '--checkpoint gives the latest checkpoint kept outside the log (a compact JWS, or a file',
    'holding one) to detect truncation.',
    '',
    'Exit codes: 0 intact, 1 not intact or unreadable, 2 bad options.',
  ].join('\n'),
  positionals: true,
  options: {
    key: {
      type: 'string',
      multiple: true,
      value: 'public-key-file',
      description: 'Checkpoint public key, PEM or JWK; repeat for rotated keys',
    },
    checkpoint: {
      type: 'string',
      value: 'jws|file',
      description: 'Latest checkpoint kept outside the log',
    },
    'allow-unsigned-tail': {
      type: 'boolean',
      description:
        'Accept records no checkpoint covers at the end (a log still being written), with a warning',
    },
    table: {
      type: 'string',
      value: 'name',
      description: 'Table of a SQLite log (default audit_log)',
    },
    json: { type: 'boolean', description: 'Print the result as JSON' },
  },
  async run(args, io) {
    const [file] = positionals(args, 1)
    if (file === undefined) throw new ConfigError('missing <file>')
    const { values } = args
    const keys = await Promise.all(
      listOption(values, 'key').map(async (k) => {
        const text = await readInput(k, '--key')
        return text.trimStart().startsWith('{') ? (JSON.parse(text) as object) : text
      }),
    )
    let checkpoint = stringOption(values, 'checkpoint')
    if (checkpoint !== undefined && !/^[\w-]+\.[\w-]*\.[\w-]+$/.test(checkpoint)) {
      checkpoint = (await readInput(checkpoint, '--checkpoint')).trim()
    }
    const table = stringOption(values, 'table')
    try {
      await requireFile(file, 'audit log')
    } catch (error) {
      throw new CliError((error as Error).message, 1)
    }
    const { verifyAuditFile } = await importPackage(
      () => import('@modelgate/audit/node'),
      '@modelgate/audit/node',
      'audit verify',
    )
    let result
    try {
      result = await verifyAuditFile(file, {
        ...(keys.length ? { key: keys as never } : {}),
        ...(checkpoint !== undefined ? { checkpoint } : {}),
        ...(values['allow-unsigned-tail'] === true ? { allowUnsignedTail: true } : {}),
        ...(table !== undefined ? { table } : {}),
      })
    } catch (error) {
      throw new CliError(`audit verify: ${messageOf(error)}`, 1, { cause: error })
    }
    for (const warning of result.warnings) io.stderr(`WARNING: ${warning}\n`)
    if (values.json === true) io.stdout(`${JSON.stringify(result)}\n`)
    else if (result.ok) {
      const signatures = result.signaturesChecked
        ? 'signatures verified'
        : 'no key: signatures not checked'
      io.stdout(
        `intact: ${result.records} records, ${result.checkpoints} checkpoints (${signatures})\n`,
      )
    } else {
      const { kind, seq, line, message } = result.problem!
      const where = seq === null ? `line ${line}` : `record ${seq} (line ${line})`
      io.stdout(`NOT intact: ${kind} at ${where}: ${message}\n`)
    }
    return result.ok ? 0 : 1
  },
}

/**
 * `modelgate audit verify`.
 *
 * @example
 * ```ts
 * auditCommand.subcommands?.map((c) => c.name) // ['verify']
 * ```
 */
export const auditCommand: Command = {
  name: 'audit',
  summary: 'Check tamper-evident audit logs',
  usage: 'audit verify <file> [options]',
  options: {},
  subcommands: [auditVerify],
  async run() {
    return 2
  },
}

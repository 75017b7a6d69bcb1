import { CliError, ConfigError } from '../errors.js'
import type { BatchQueue, BatchStatus } from '../queue/batch.js'
import {
  checkRedis,
  loadQueueModule,
  queueOptions,
  queueTarget,
  type QueueTarget,
} from '../queue/connection.js'
import { positionals, stringOption } from './args.js'
import type { Command, CommandArgs, CommandIO } from './types.js'

const BATCH_ID = /^[a-z][a-z0-9_]*-[0-9a-z]+-[0-9a-f]+$/

async function withBatch(
  args: CommandArgs,
  use: (batches: BatchQueue, id: string, target: QueueTarget) => Promise<number>,
): Promise<number> {
  const [id] = positionals(args, 1)
  if (id === undefined) throw new ConfigError('missing the batch id')
  if (!BATCH_ID.test(id)) throw new ConfigError(`not a batch id: "${id}"`)
  const target = await queueTarget(args.values)
  await checkRedis(target)
  const { BatchQueue } = await loadQueueModule(() => import('../queue/batch.js'))
  const batches = await BatchQueue.open(target)
  try {
    return await use(batches, id, target)
  } finally {
    await batches.close()
  }
}

function unknown(id: string, target: QueueTarget): CliError {
  return new CliError(
    `unknown batch ${id} on ${target.label} tenant ${target.queue} (finished batches are deleted once their output is written)`,
    1,
  )
}

/**
 * A batch's status for people: state, rows, chunks, failures with their rows.
 *
 * @example
 * ```ts
 * io.stdout(describeStatus(status))
 * ```
 */
export function describeStatus(s: BatchStatus): string {
  const pct = s.rows > 0 ? ((100 * s.rowsDone) / s.rows).toFixed(1) : '100.0'
  const lines = [
    `batch ${s.id} (${s.kind}): ${s.state}`,
    `  rows     ${s.rowsDone}/${s.rows} (${pct} %)`,
    `  chunks   ${s.processed} done, ${s.failed} failed, ${s.pending} pending (${s.running} running) of ${s.chunks}, ${s.chunkSize} rows each`,
    `  created  ${new Date(s.created).toISOString()}`,
  ]
  if (s.masked) lines.push(`  masked   by policy ${s.masked} before it was enqueued`)
  for (const f of s.failures)
    lines.push(`  failed   chunk ${f.index} (rows ${f.from}-${f.to - 1}): ${f.error}`)
  return `${lines.join('\n')}\n`
}

const idUsage = (verb: string, extra = '') =>
  `jobs ${verb} <batch-id> --queue <redis-url> [--tenant <id>]${extra}`

/**
 * `modelgate jobs status <id>`: where a queued batch stands (`--json` for the status object).
 *
 * @example
 * ```ts
 * await runCli(['jobs', 'status', 'explain-m3k1x2-9f2a1c', '--queue', 'redis://127.0.0.1:6379'])
 * ```
 */
export const jobsStatus: Command = {
  name: 'status',
  summary: 'Show where a queued batch stands',
  usage: idUsage('status', ' [--json]'),
  description: 'Exit codes: 0 shown, 1 unknown batch or Redis unreachable, 2 bad options.',
  positionals: true,
  options: {
    ...queueOptions,
    json: { type: 'boolean', description: 'Print the status as one JSON object' },
  },
  run: (args, io) =>
    withBatch(args, async (batches, id, target) => {
      const status = await batches.status(id)
      if (!status) throw unknown(id, target)
      io.stdout(args.values.json === true ? `${JSON.stringify(status)}\n` : describeStatus(status))
      return 0
    }),
}

/**
 * `modelgate jobs cancel <id>`: removes the chunks not started yet; deletes the batch once none
 * runs.
 *
 * @example
 * ```ts
 * await runCli(['jobs', 'cancel', 'explain-m3k1x2-9f2a1c', '--queue', 'redis://127.0.0.1:6379'])
 * ```
 */
export const jobsCancel: Command = {
  name: 'cancel',
  summary: 'Cancel a queued batch and delete it from Redis',
  usage: idUsage('cancel'),
  description: [
    'Chunks not started are removed at once; chunks running finish on their workers. When none',
    'runs, the batch, its results and its failed chunks are deleted; otherwise run the command',
    'again once they finished. A cancelled batch cannot be resumed.',
    '',
    'Exit codes: 0 cancelled, 1 unknown batch or Redis unreachable, 2 bad options.',
  ].join('\n'),
  positionals: true,
  options: queueOptions,
  run: (args, io) =>
    withBatch(args, async (batches, id, target) => {
      if (!(await batches.manifest(id))) throw unknown(id, target)
      const { removed, running } = await batches.cancel(id)
      io.stderr(
        removed
          ? `batch ${id} cancelled and deleted\n`
          : `batch ${id} cancelled; ${running} chunks still running: run 'modelgate jobs cancel ${id}' again once they finish to delete it\n`,
      )
      return 0
    }),
}

/**
 * `modelgate jobs resume <id> [--out FILE]`: re-attaches to a batch (from any machine), retries
 * its failed chunks, follows it and writes its output.
 *
 * @example
 * ```ts
 * await runCli(['jobs', 'resume', 'explain-m3k1x2-9f2a1c', '--queue', 'redis://127.0.0.1:6379', '--out', 'shap.json'])
 * ```
 */
export const jobsResume: Command = {
  name: 'resume',
  summary: 'Re-attach to a queued batch, retry its failed chunks, write its output',
  usage: idUsage('resume', ' [--out <file>]'),
  description: [
    'Follows a batch submitted by any process (which may have exited or been detached): chunks',
    'that failed for good are put back with fresh attempts, progress is shown, and once every',
    'chunk has its result the output is written as the submitting command would have written it',
    '(--out, else stdout) and the batch is deleted from Redis.',
    '',
    'Exit codes: 0 written, 1 chunks failed again, a cancelled or unknown batch, 2 bad options.',
  ].join('\n'),
  positionals: true,
  options: {
    ...queueOptions,
    out: { type: 'string', value: 'file', description: 'Write the output here instead of stdout' },
  },
  run: (args, io) =>
    withBatch(args, async (batches, id, target) => {
      const manifest = await batches.manifest(id)
      if (!manifest) throw unknown(id, target)
      if (manifest.cancelled) throw new CliError(`batch ${id} was cancelled`, 1)
      const retried = await batches.retryFailed(id)
      if (retried > 0) io.stderr(`batch ${id}: retrying ${retried} failed chunks\n`)
      const { followBatch } = await loadQueueModule(() => import('../queue/submit.js'))
      return followBatch(batches, id, stringOption(args.values, 'out'), io)
    }),
}

/**
 * `modelgate jobs status|cancel|resume`.
 *
 * @example
 * ```ts
 * jobsCommand.subcommands?.map((c) => c.name) // ['status', 'cancel', 'resume']
 * ```
 */
export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'Status, cancel and resume of queued batches (explain --queue)',
  usage: 'jobs <status|cancel|resume> <batch-id> --queue <redis-url> [options]',
  options: {},
  subcommands: [jobsStatus, jobsCancel, jobsResume],
  async run(_args: CommandArgs, _io: CommandIO) {
    return 2
  },
}

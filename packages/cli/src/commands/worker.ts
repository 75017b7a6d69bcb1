import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { checkRedis, loadQueueModule, queueOptions, queueTarget } from '../queue/connection.js'
import { numberOption, stringOption } from './args.js'
import type { Command } from './types.js'

/**
 * `modelgate worker --queue URL [--tenant ID] [--concurrency N]`: runs queued chunks (explain
 * batches) on this machine until SIGTERM or SIGINT; start it on as many machines as you like.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['worker', '--queue', 'redis://10.0.0.5:6379', '--tenant', 'acme', '--concurrency', '4'])
 * ```
 */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run queued batch chunks (explain --queue) from Redis on this machine',
  usage:
    'worker --queue <redis-url> [--tenant <id>] [--concurrency <n>] [--lock-ms <ms>] [--limit <n>/<ms>] [--cache-dir <dir>]',
  description: [
    "Takes chunks of the batches enqueued by 'modelgate explain --queue' for the tenant and",
    'explains each on a thread of its own with the model and background rows the batch names by',
    'content hash (fetched from Redis once per machine, checked against the hash). Chunks of a',
    'worker that dies are retried elsewhere after one to three --lock-ms; a chunk whose rows are',
    'bad fails alone. One line per chunk goes to stderr. SIGTERM or SIGINT: finish the running',
    'chunks and exit 0; a second signal exits at once (the chunks are retried elsewhere).',
    '',
    'Exit codes: 0 stopped, 1 Redis unreachable or refusing the credentials, 2 bad options.',
  ].join('\n'),
  options: {
    ...queueOptions,
    concurrency: {
      type: 'string',
      value: 'n',
      description: `Chunks at once, one thread each (default: cores, here ${availableParallelism()})`,
    },
    'lock-ms': {
      type: 'string',
      value: 'ms',
      description:
        "Lock of a running chunk; a dead worker's chunk is retried after 1-3x (default 30000)",
    },
    limit: {
      type: 'string',
      value: 'n/ms',
      description: 'Rate limit shared by all workers of the queue: n chunks per ms (e.g. 10/1000)',
    },
    'cache-dir': {
      type: 'string',
      value: 'dir',
      description: 'Where models fetched by hash are kept (default <tmpdir>/modelgate-models)',
    },
  },
  async run({ values }, io) {
    const target = await queueTarget(values)
    const concurrency =
      numberOption(values, 'concurrency', { integer: true, min: 1, max: 256 }) ??
      availableParallelism()
    const lockMs = numberOption(values, 'lock-ms', { integer: true, min: 500 }) ?? 30_000
    const rawLimit = stringOption(values, 'limit')
    let limit
    if (rawLimit !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(rawLimit)
      if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
        throw new ConfigError(`--limit: expected <chunks>/<ms> such as 10/1000, got "${rawLimit}"`)
      limit = { max: Number(m[1]), ms: Number(m[2]) }
    }
    const cacheDir = stringOption(values, 'cache-dir') ?? join(tmpdir(), 'modelgate-models')
    await checkRedis(target)
    const { runWorker } = await loadQueueModule(() => import('../queue/worker.js'))
    let signals = 0
    const stop = new Promise<string>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (++signals === 1) return resolve(signal)
        io.stderr(
          `worker: ${signal} again, exiting without waiting (running chunks are retried elsewhere)\n`,
        )
        process.exit(1)
      }
      process.on('SIGTERM', onSignal)
      process.on('SIGINT', onSignal)
    })
    await runWorker(
      target,
      { concurrency, lockMs, cacheDir, stop, ...(limit ? { limit } : {}) },
      io,
    )
    return 0
  },
}

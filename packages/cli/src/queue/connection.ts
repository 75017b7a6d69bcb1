import { isIP } from 'node:net'
import { messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import { readInput, stringOption } from '../commands/args.js'
import type { CommandArgs, CommandOption } from '../commands/types.js'

/** Every Redis key of the queue lives under `modelgate:<tenant>:`. */
export const KEY_PREFIX = 'modelgate'
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/**
 * Redis connection settings that survive a structured clone (for the worker's sandbox threads):
 * ioredis options without functions.
 *
 * @example
 * ```ts
 * const plain: PlainRedisOptions = { host: '127.0.0.1', port: 6379, db: 0 }
 * ```
 */
export interface PlainRedisOptions {
  host: string
  port: number
  db: number
  username?: string
  password?: string
  tls?: { ca?: string; cert?: string; key?: string; servername?: string }
}

/**
 * Where a batch queue lives: a Redis server and a tenant. The tenant is the BullMQ queue name,
 * so a tenant's jobs, results and blobs are the keys `modelgate:<tenant>:*` (what a Redis ACL
 * user can be limited to).
 *
 * @example
 * ```ts
 * const target = await queueTarget(values)
 * console.log(target.label, target.queue)
 * ```
 */
export interface QueueTarget {
  redis: PlainRedisOptions
  prefix: string
  /** BullMQ queue name: the tenant. */
  queue: string
  /** The URL without its password, for messages. */
  label: string
}

/**
 * Command-line options naming a queue, shared by `explain --queue`, `worker` and `jobs`.
 *
 * @example
 * ```ts
 * const options = { ...queueOptions, concurrency: { type: 'string', value: 'n', description: '…' } }
 * ```
 */
export const queueOptions: Readonly<Record<string, CommandOption>> = {
  queue: {
    type: 'string',
    value: 'url',
    description:
      'Redis URL: redis://[user@]host[:port][/db], rediss:// for TLS (password: MODELGATE_REDIS_PASSWORD)',
  },
  tenant: {
    type: 'string',
    value: 'id',
    description: 'Tenant: queue name and key space modelgate:<tenant>:* (default "default")',
  },
  'redis-ca': {
    type: 'string',
    value: 'file',
    description: 'PEM CA certificates that sign the Redis server certificate (rediss://)',
  },
  'redis-cert': {
    type: 'string',
    value: 'file',
    description: 'PEM client certificate, for Redis servers that require one (rediss://)',
  },
  'redis-key': {
    type: 'string',
    value: 'file',
    description: 'PEM private key of --redis-cert',
  },
}

/**
 * Reads `--queue`, `--tenant` and the TLS files. The password comes from the URL or, better (a
 * URL shows in `ps`), from `MODELGATE_REDIS_PASSWORD`; the user from the URL or
 * `MODELGATE_REDIS_USER`. Bad values are usage errors (exit 2).
 *
 * @example
 * ```ts
 * const target = await queueTarget({ queue: 'rediss://batch@redis.internal:6380', tenant: 'acme', 'redis-ca': 'ca.pem' })
 * ```
 */
export async function queueTarget(
  values: CommandArgs['values'],
  env: NodeJS.ProcessEnv = process.env,
): Promise<QueueTarget> {
  const raw = stringOption(values, 'queue', true)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`--queue: not a URL: ${redact(raw)}`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError(`--queue: expected a redis:// or rediss:// URL, got ${url.protocol}//`)
  const tenant = stringOption(values, 'tenant') ?? 'default'
  if (!TENANT.test(tenant))
    throw new ConfigError(
      `--tenant: expected 1-64 letters, digits, "_", "-" or "." (first a letter or digit), got "${tenant}"`,
    )
  const dbPath = url.pathname.replace(/^\//, '')
  const db = dbPath === '' ? 0 : Number(dbPath)
  if (!Number.isSafeInteger(db) || db < 0)
    throw new ConfigError(`--queue: the path must be a database number, got "/${dbPath}"`)
  const port = url.port === '' ? 6379 : Number(url.port)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const username = decodeURIComponent(url.username) || env.MODELGATE_REDIS_USER || undefined
  const password = decodeURIComponent(url.password) || env.MODELGATE_REDIS_PASSWORD || undefined
  const redis: PlainRedisOptions = {
    host,
    port,
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  }
  const ca = stringOption(values, 'redis-ca')
  const cert = stringOption(values, 'redis-cert')
  const key = stringOption(values, 'redis-key')
  if (url.protocol === 'rediss:') {
    if ((cert === undefined) !== (key === undefined))
      throw new ConfigError('--redis-cert and --redis-key go together')
    redis.tls = {
      ...(ca !== undefined ? { ca: await readInput(ca, '--redis-ca') } : {}),
      ...(cert !== undefined ? { cert: await readInput(cert, '--redis-cert') } : {}),
      ...(key !== undefined ? { key: await readInput(key, '--redis-key') } : {}),
      ...(isIP(host) === 0 ? { servername: host } : {}),
    }
  } else if (ca !== undefined || cert !== undefined || key !== undefined) {
    throw new ConfigError('--redis-ca, --redis-cert and --redis-key need a rediss:// URL')
  }
  url.password = ''
  return { redis, prefix: KEY_PREFIX, queue: tenant, label: url.toString() }
}

/**
 * ioredis options for a long-lived connection: commands wait while Redis is away (a restart),
 * reconnecting every 0.2 to 2 s, as BullMQ workers need.
 *
 * @example
 * ```ts
 * new Worker(target.queue, file, { connection: connectionOptions(target.redis), prefix: target.prefix })
 * ```
 */
export function connectionOptions(redis: PlainRedisOptions) {
  return {
    ...redis,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  }
}

/**
 * Connects once, pings and touches the tenant's key space, so a wrong address, password,
 * certificate or ACL is one clear error (exit 1) instead of endless reconnecting.
 *
 * @example
 * ```ts
 * await checkRedis(target)
 * ```
 */
export async function checkRedis(target: QueueTarget): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis({
    ...target.redis,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 10_000,
    retryStrategy: () => null,
  })
  // ioredis reports the cause (a refused certificate, a reset) as an event, then rejects with a
  // generic "Connection is closed".
  let cause: unknown
  client.on('error', (error) => (cause ??= error))
  try {
    await client.connect()
    await client.ping()
    // An ACL user limited to other tenants' keys is refused here, not on every job.
    await client.exists(`${target.prefix}:${target.queue}:meta`)
  } catch (error) {
    const reason = cause ?? error
    throw new CliError(`cannot use Redis at ${target.label}: ${messageOf(reason)}`, 1, {
      cause: reason,
    })
  } finally {
    client.disconnect()
  }
}

function redact(raw: string): string {
  return raw.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@')
}

/**
 * Imports a queue module (BullMQ and ioredis behind it); when those packages are missing the
 * error says what to install (exit 2).
 *
 * @example
 * ```ts
 * const { runWorker } = await loadQueueModule(() => import('./worker.js'))
 * ```
 */
export async function loadQueueModule<M>(load: () => Promise<M>): Promise<M> {
  try {
    return await load()
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && /\b(bullmq|ioredis)\b/.test(messageOf(error)))
      throw new ConfigError(
        '--queue needs the packages bullmq and ioredis: npm install bullmq ioredis',
        {
          cause: error,
        },
      )
    throw error
  }
}

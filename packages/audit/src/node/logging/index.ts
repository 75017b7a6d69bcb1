import { checkOptionKeys, type GateContext, type Plugin } from '@modelgate/core'
import { pino, type DestinationStream, type Logger } from 'pino'
import type { LoggerFactoryOptions, RequestLogOptions } from '../types.js'

const LOGGER_OPTIONS = { mask: true, level: true, destination: true, pino: true } as const
const REQUEST_LOG_OPTIONS = { logger: true, level: true } as const

/**
 * A pino logger whose every line passes through `mask` before it leaves the process: the last
 * line of defence against personal data in logs. Pair it with `maskText` from
 * `@modelgate/mask`.
 *
 * @example
 * ```ts
 * const log = createLogger({ mask: (t) => t.replace(/[\w.+-]+@[\w-]+\.[\w.]+/g, '<EMAIL_ADDRESS>') })
 * log.info({ note: 'ana@example.org asked' }, 'hello') // {"level":30,…,"note":"<EMAIL_ADDRESS> asked","msg":"hello"}
 * ```
 */
export function createLogger(options: LoggerFactoryOptions = {}): Logger {
  if (!options || typeof options !== 'object')
    throw new TypeError('createLogger: options must be an object')
  checkOptionKeys('createLogger', options, LOGGER_OPTIONS)
  if (options.mask !== undefined && typeof options.mask !== 'function') {
    throw new TypeError('createLogger: mask must be a function (text: string) => string')
  }
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false })
  const mask = options.mask
  const stream: DestinationStream = mask
    ? {
        write(line: string) {
          let out: string
          try {
            out = `${JSON.stringify(maskStrings(JSON.parse(line), mask))}\n`
          } catch {
            out = `${JSON.stringify({ level: 50, time: Date.now(), msg: 'log line dropped: masking failed' })}\n`
          }
          destination.write(out.endsWith('\n') ? out : `${out}\n`)
        },
      }
    : destination
  return pino({ ...options.pino, level: options.level ?? 'info' }, stream)
}

/**
 * One structured log line per request, whatever the plugin order (it observes every final
 * answer, also of requests refused before it ran): gate and client request ids, model,
 * operation, route, status, error code, latency and principal id. Bodies are never logged; pair
 * the logger with a `mask`.
 *
 * @example
 * ```ts
 * const log = createLogger({ mask })
 * const gate = createGate({ models, plugins: [requestLog({ logger: log }), audit({ trail })], onError: logErrors(log) })
 * ```
 */
export const requestLog = (options: RequestLogOptions): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('requestLog: options with a logger required')
  checkOptionKeys('requestLog', options, REQUEST_LOG_OPTIONS)
  if (typeof options.logger?.info !== 'function')
    throw new TypeError('requestLog: logger must be a pino logger')
  const level = options.level ?? 'info'
  if (!['trace', 'debug', 'info'].includes(level))
    throw new TypeError('requestLog: level must be trace, debug or info')
  const logger = options.logger
  const plugin: Plugin = async function requestLog(_ctx, next) {
    await next()
  }
  plugin.onResponse = (ctx, outcome) => {
    const line = {
      requestId: ctx.requestId,
      ...(ctx.facts.clientRequestId ? { clientRequestId: ctx.facts.clientRequestId } : {}),
      model: ctx.model?.name,
      modelVersion: ctx.model?.version,
      operation: ctx.operation,
      route: ctx.route.kind,
      ...(ctx.route.name ? { routeName: ctx.route.name } : {}),
      status: outcome.status,
      ...(outcome.error ? { code: outcome.error } : {}),
      latencyMs: Math.round(outcome.latencyMs * 1000) / 1000,
      principal: ctx.principal?.id,
    }
    if (outcome.status >= 500) logger.error(line, 'request failed')
    else if (outcome.status >= 400) logger.warn(line, 'request refused')
    else logger[level](line, 'request')
  }
  return plugin
}

/**
 * A `GateOptions.onError` callback that logs errors which became a 5xx, with the request id.
 * The error's message goes through the logger's mask like every line.
 *
 * @example
 * ```ts
 * createGate({ models, plugins, onError: logErrors(createLogger({ mask })) })
 * ```
 */
export function logErrors(logger: Logger): (error: unknown, ctx: GateContext) => void {
  if (typeof logger?.error !== 'function')
    throw new TypeError('logErrors: logger must be a pino logger')
  return (error, ctx) => logger.error({ err: error, requestId: ctx.requestId }, 'internal error')
}

function maskStrings(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') {
    const out = mask(value)
    if (typeof out !== 'string') throw new TypeError('mask returned a non-string')
    return out
  }
  if (Array.isArray(value)) return value.map((v) => maskStrings(v, mask))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = maskStrings(v, mask)
    return out
  }
  return value
}

import { checkOptionKeys, type GateContext, type Plugin } from '@modelgate/core'
import { AuditTrail, AuditUnavailableError } from '../trail.js'
import type { AuditOptions } from '../types.js'
import { recordFields } from './record.js'

const OPTIONS = { trail: true, failClosed: true, include: true, closeTrail: true } as const
const notHealth = (ctx: GateContext) => ctx.operation !== 'health'

/**
 * The audit plugin: exactly one record per request, whatever its place in the plugin list. The
 * record is written when the gate has its final answer (`onResponse`), so requests refused
 * before this plugin ran (by an outer plugin, by core: 400 `bad_path`, 404, 405, 413, 415) are
 * recorded as well as those it saw. A record holds the request's identifiers and outcome (time,
 * gate and client request ids, principal, tenant, model and version, operation, route, access
 * decision, status, error code, latency) and every fact plugins left on `ctx.facts`, sanitised
 * and masked with `ctx.redactText`: a new plugin's facts are audited without changing this one.
 * It never reads request or response bodies.
 *
 * With `failClosed`, a request whose record cannot be stored gets 503 `audit_unavailable`,
 * requests are refused before the model while the sink is failing, and `GET /v2/health/ready`
 * answers 503. `gate.close()` flushes and closes the trail (unless `closeTrail: false`).
 *
 * @example
 * ```ts
 * const trail = createAuditTrail({ sink: jsonlSink({ path: 'audit.jsonl', fsync: 'always' }) })
 * const gate = createGate({
 *   models,
 *   plugins: [audit({ trail, failClosed: true }), authenticate(authOptions), authorize(policy)],
 * })
 * ```
 */
export const audit = (options: AuditOptions): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('audit: options object with a trail required')
  checkOptionKeys('audit', options, OPTIONS)
  if (!(options.trail instanceof AuditTrail)) {
    throw new TypeError('audit: options.trail must be an AuditTrail (createAuditTrail)')
  }
  if (options.include !== undefined && typeof options.include !== 'function') {
    throw new TypeError('audit: include must be a function (ctx) => boolean')
  }
  for (const key of ['failClosed', 'closeTrail'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw new TypeError(`audit: ${key} must be a boolean`)
  }
  const { trail } = options
  const failClosed = options.failClosed ?? false
  const include = options.include ?? notHealth
  // Waiting buys nothing when the sink's acknowledgement is not durable, unless the response
  // must depend on the record being stored.
  const wait = failClosed || trail.durable

  const plugin: Plugin = async function audit(ctx, next) {
    if (failClosed && !trail.health().ok) {
      if (ctx.operation !== 'health' && include(ctx)) throw new AuditUnavailableError()
      await next()
      if (ctx.route.kind === 'health-ready' && ctx.status === 200) {
        ctx.status = 503
        ctx.body = { ready: false, error: 'audit log unavailable' }
      }
      return
    }
    await next()
  }
  plugin.onResponse = async (ctx, outcome) => {
    if (!include(ctx)) return
    const fields = recordFields(ctx, outcome)
    if (!wait) return trail.submit(fields)
    try {
      await trail.append(fields)
    } catch (error) {
      if (failClosed)
        throw error instanceof AuditUnavailableError ? error : new AuditUnavailableError()
    }
  }
  if (options.closeTrail !== false) plugin.close = () => trail.close()
  return plugin
}

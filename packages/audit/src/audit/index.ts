import { GateError, statusOf, type GateContext, type Plugin } from '@modelgate/core'
import { AuditTrail, AuditUnavailableError } from '../trail.js'
import type { AuditFields, AuditOptions } from '../types.js'

const MAX_TEXT = 256
const MAX_ITEMS = 64

/**
 * The audit plugin: put it first (outermost), so that every outcome, rejections included, gets
 * one record: time, request id, principal id, model and version, action, decision and reasons,
 * masked entity counts, explanation method, status, error code and latency. It reads the facts
 * other plugins leave on the context (`ctx.principal`, `ctx.decision`, `ctx.audit.masking`,
 * `ctx.audit.explanation`) and never request or response bodies.
 *
 * With `failClosed`, a request whose record cannot be stored gets 503 `audit_unavailable`,
 * requests are refused without running the model while the sink is failing, and
 * `GET /v2/health/ready` answers 503.
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
  if (!options || !(options.trail instanceof AuditTrail)) {
    throw new TypeError('audit: options.trail must be an AuditTrail (createAuditTrail)')
  }
  if (options.include !== undefined && typeof options.include !== 'function') {
    throw new TypeError('audit: include must be a function (ctx) => boolean')
  }
  const { trail } = options
  const failClosed = options.failClosed ?? false
  const include = options.include ?? ((ctx: GateContext) => ctx.operation !== 'health')
  // Waiting buys nothing when the sink's acknowledgement is not durable, unless the response
  // must depend on the record being stored.
  const wait = failClosed || trail.durable

  return async function audit(ctx, next) {
    if (!include(ctx)) {
      await next()
      if (
        failClosed &&
        ctx.route.kind === 'health-ready' &&
        ctx.status === 200 &&
        !trail.health().ok
      ) {
        ctx.status = 503
        ctx.body = { ready: false, error: 'audit log unavailable' }
      }
      return
    }
    const start = performance.now()
    let error: unknown
    let failed = false
    if (failClosed && !trail.health().ok) {
      error = new AuditUnavailableError()
      failed = true
    } else {
      try {
        await next()
      } catch (e) {
        error = e
        failed = true
      }
    }
    const fields = auditFields(ctx, failed, error, performance.now() - start)
    if (!wait) trail.submit(fields)
    else {
      try {
        await trail.append(fields)
      } catch (e) {
        if (failClosed) throw e instanceof AuditUnavailableError ? e : new AuditUnavailableError()
      }
    }
    if (failed) throw error
  }
}

function auditFields(ctx: GateContext, failed: boolean, error: unknown, ms: number): AuditFields {
  const facts = ctx.audit
  const decision =
    ctx.decision ?? (facts.decision as { allow?: unknown; reasons?: unknown } | undefined)
  return {
    time: isoTime(ctx.receivedAt),
    requestId: ctx.requestId,
    principal: text(ctx.principal?.id ?? facts.principal),
    tenant: text(ctx.principal?.tenant ?? facts.tenant),
    model: text(ctx.model?.name ?? ctx.route.model),
    modelVersion: text(ctx.model?.version ?? ctx.route.version),
    action: ctx.operation,
    route: ctx.route.kind,
    decision:
      decision && typeof decision.allow === 'boolean'
        ? { allow: decision.allow, reasons: strings(decision.reasons) }
        : null,
    masking: counts(facts.masking),
    explanation: explanationMethod(facts, ctx.explanation),
    status: failed ? statusOf(error) : ctx.status,
    error: failed ? (error instanceof GateError ? error.code : 'internal') : null,
    latencyMs: Math.round(ms * 1000) / 1000,
  }
}

let isoSecond = NaN
let isoPrefix = ''

/** `new Date(ms).toISOString()`, with the part up to the second formatted once per second. */
function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== isoSecond) {
    const iso = new Date(ms).toISOString()
    if (iso.length !== 24) return iso
    isoSecond = second
    isoPrefix = iso.slice(0, 20)
  }
  const milli = ms - second * 1000
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_TEXT) : null
}

function strings(value: unknown): string[] {
  if (!Array.isArray(value)) return []
  return value
    .slice(0, MAX_ITEMS)
    .flatMap((v) => (typeof v === 'string' ? [v.slice(0, MAX_TEXT)] : []))
}

function counts(value: unknown): Record<string, number> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null
  const out: Record<string, number> = {}
  let n = 0
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || n++ >= MAX_ITEMS) continue
    out[k.slice(0, MAX_TEXT)] = v
  }
  return n === 0 ? null : out
}

function explanationMethod(facts: Record<string, unknown>, explanation: unknown): string | null {
  const fact = facts.explanation ?? facts.explainer
  if (typeof fact === 'string') return text(fact)
  if (fact && typeof fact === 'object' && 'method' in fact)
    return text((fact as { method: unknown }).method)
  const first = Array.isArray(explanation) ? explanation[0] : explanation
  if (first && typeof first === 'object' && 'method' in first)
    return text((first as { method: unknown }).method)
  return null
}

import {
  checkOptionKeys,
  UnauthorizedError,
  type GateContext,
  type GateOutcome,
  type ModelHandle,
  type Plugin,
} from '@modelgate/core'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { PLUGIN_TIMER, type PluginTimer } from '../../observe.js'
import { AuditTrail } from '../../trail.js'
import type { MetricsOptions, MetricsPlugin } from '../types.js'

const BACKEND_CODES = new Set(['backend_error', 'bad_gateway', 'gateway_timeout', 'internal'])
const OPTIONS = {
  registry: true,
  path: true,
  requirePrincipal: true,
  prefix: true,
  trails: true,
  buckets: true,
} as const

/**
 * Prometheus metrics (prom-client) for a gate. Every request is counted, whatever the plugin
 * order: the plugin observes each final answer (`onResponse`), also of requests refused before
 * it ran. Exports, with the default `modelgate_` prefix:
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `requests_total` | counter | model, operation, status |
 * | `request_duration_seconds` | histogram | model, operation |
 * | `plugin_duration_seconds` | histogram | plugin (self time, from {@link traced} wrappers) |
 * | `decisions_total` | counter | model, decision (`allow`/`deny`) |
 * | `masked_entities_total` | counter | entity |
 * | `backend_errors_total` | counter | model, code |
 * | `batch_size` | gauge | model, stat (`mean`, `p50`, `max` of the last 1024 batches) |
 * | `audit_records_total`, `audit_failures_total` | counter | trail, sink |
 * | `audit_sink_up`, `audit_queue_depth` | gauge | trail, sink |
 *
 * `GET /metrics` is a route the plugin contributes (operation `metrics`): the whole plugin onion
 * runs around it, authentication and authorization included, and by default it answers only an
 * authenticated caller (`requirePrincipal`). Or set `path: false` and serve `plugin.handler` on
 * a separate, internal port.
 *
 * @example
 * ```ts
 * const m = metrics({ trails: [trail] })
 * const gate = createGate({ models, plugins: [m, audit({ trail }), authenticate(auth), authorize(policy)] })
 * ```
 */
export const metrics = (options: MetricsOptions = {}): MetricsPlugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('metrics: options must be an object')
  checkOptionKeys('metrics', options, OPTIONS)
  if (
    options.path !== undefined &&
    options.path !== false &&
    (typeof options.path !== 'string' || !options.path.startsWith('/'))
  ) {
    throw new TypeError('metrics: path must start with "/" (or be false)')
  }
  if (options.requirePrincipal !== undefined && typeof options.requirePrincipal !== 'boolean')
    throw new TypeError('metrics: requirePrincipal must be a boolean')
  if (
    options.trails !== undefined &&
    (!Array.isArray(options.trails) || !options.trails.every((t) => t instanceof AuditTrail))
  )
    throw new TypeError('metrics: trails must be an array of AuditTrail')
  if (
    options.registry !== undefined &&
    (typeof options.registry?.metrics !== 'function' ||
      typeof options.registry?.registerMetric !== 'function')
  )
    throw new TypeError('metrics: registry must be a prom-client Registry')
  const prefix = options.prefix ?? 'modelgate_'
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new TypeError('metrics: prefix must be a valid metric name prefix')
  const registry = options.registry ?? new Registry()
  const path = options.path ?? '/metrics'
  const requirePrincipal = options.requirePrincipal ?? true
  const trails = options.trails ?? []
  const models = new Set<ModelHandle>()

  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'Requests answered, by model, operation and status.',
    labelNames: ['model', 'operation', 'status'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Time from receiving a request to its response, by model and operation.',
    labelNames: ['model', 'operation'],
    buckets: options.buckets ?? [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ],
    registers: [registry],
  })
  const pluginDuration = new Histogram({
    name: `${prefix}plugin_duration_seconds`,
    help: 'Time spent in each traced plugin itself (without the plugins and model after it).',
    labelNames: ['plugin'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  })
  const decisions = new Counter({
    name: `${prefix}decisions_total`,
    help: 'Access decisions, by model and outcome.',
    labelNames: ['model', 'decision'],
    registers: [registry],
  })
  const masked = new Counter({
    name: `${prefix}masked_entities_total`,
    help: 'Entities masked, by type.',
    labelNames: ['entity'],
    registers: [registry],
  })
  const backendErrors = new Counter({
    name: `${prefix}backend_errors_total`,
    help: 'Failed model runs, by model and error code.',
    labelNames: ['model', 'code'],
    registers: [registry],
  })
  new Gauge({
    name: `${prefix}batch_size`,
    help: 'Rows per backend call over the last 1024 micro-batches, by model.',
    labelNames: ['model', 'stat'],
    registers: [registry],
    collect() {
      this.reset()
      for (const handle of models) {
        const sizes = [...handle.batchSizes()].sort((a, b) => a - b)
        if (sizes.length === 0) continue
        const model = modelLabel(handle)
        this.set({ model, stat: 'mean' }, sizes.reduce((a, b) => a + b, 0) / sizes.length)
        this.set({ model, stat: 'p50' }, sizes[Math.floor((sizes.length - 1) / 2)]!)
        this.set({ model, stat: 'max' }, sizes[sizes.length - 1]!)
      }
    },
  })
  const seen = new Map<AuditTrail, { written: number; failed: number }>()
  const auditLabels = ['trail', 'sink']
  const auditRecords = new Counter({
    name: `${prefix}audit_records_total`,
    help: 'Audit records stored by the sink.',
    labelNames: auditLabels,
    registers: [registry],
    collect: () => syncAudit(),
  })
  const auditFailures = new Counter({
    name: `${prefix}audit_failures_total`,
    help: 'Audit records the sink could not store.',
    labelNames: auditLabels,
    registers: [registry],
    collect: () => syncAudit(),
  })
  function syncAudit(): void {
    for (const trail of trails) {
      const h = trail.health()
      const last = seen.get(trail) ?? { written: 0, failed: 0 }
      const labels = { trail: h.name, sink: h.sink }
      auditRecords.inc(labels, h.written - last.written)
      auditFailures.inc(labels, h.failed - last.failed)
      seen.set(trail, { written: h.written, failed: h.failed })
    }
  }
  new Gauge({
    name: `${prefix}audit_sink_up`,
    help: '1 while the audit sink stores records, 0 after a failed write.',
    labelNames: auditLabels,
    registers: [registry],
    collect() {
      for (const trail of trails) {
        const h = trail.health()
        this.set({ trail: h.name, sink: h.sink }, h.ok ? 1 : 0)
      }
    },
  })
  new Gauge({
    name: `${prefix}audit_queue_depth`,
    help: 'Audit records waiting for the sink.',
    labelNames: auditLabels,
    registers: [registry],
    collect() {
      for (const trail of trails) {
        const h = trail.health()
        this.set({ trail: h.name, sink: h.sink }, h.pending)
      }
    },
  })

  async function handler(): Promise<Response> {
    return new Response(await registry.metrics(), {
      headers: { 'content-type': registry.contentType },
    })
  }

  const timer: PluginTimer = (plugin, seconds) => pluginDuration.observe({ plugin }, seconds)

  const plugin = async function metrics(ctx: GateContext, next: () => Promise<void>) {
    ctx.state.set(PLUGIN_TIMER, timer)
    await next()
  }
  const onResponse = (ctx: GateContext, outcome: GateOutcome): void => {
    const model = ctx.model ? modelLabel(ctx.model) : 'none'
    if (ctx.model) models.add(ctx.model)
    requests.inc({ model, operation: ctx.operation, status: String(outcome.status) })
    duration.observe({ model, operation: ctx.operation }, outcome.latencyMs / 1000)
    if (ctx.decision) decisions.inc({ model, decision: ctx.decision.allow ? 'allow' : 'deny' })
    else if (outcome.status === 401 || outcome.status === 403)
      decisions.inc({ model, decision: 'deny' })
    const counts = (ctx.facts as { masking?: unknown }).masking
    if (counts && typeof counts === 'object') {
      for (const [entity, n] of Object.entries(counts))
        if (typeof n === 'number' && n > 0) masked.inc({ entity }, n)
    }
    if (ctx.model && outcome.error !== undefined && BACKEND_CODES.has(outcome.error))
      backendErrors.inc({ model, code: outcome.error })
  }
  const routes =
    path === false
      ? []
      : [
          {
            name: 'metrics',
            methods: ['GET'],
            path,
            operation: 'metrics' as const,
            async terminal(ctx: GateContext) {
              if (requirePrincipal && !ctx.principal)
                throw new UnauthorizedError('metrics need an authenticated caller', {
                  'www-authenticate': 'Bearer',
                })
              ctx.headers.set('content-type', registry.contentType)
              ctx.headers.set('cache-control', 'no-store')
              ctx.body = await registry.metrics()
            },
          },
        ]
  return Object.assign(plugin, { registry, handler, routes, onResponse })
}

function modelLabel(handle: ModelHandle): string {
  return handle.version === undefined ? handle.name : `${handle.name}@${handle.version}`
}

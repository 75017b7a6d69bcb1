import { createRemoteBackend } from '@modelgate/backend-remote'
import type { RemoteBackendOptions } from '@modelgate/backend-remote'
import { checkOptionKeys, GateError } from '@modelgate/core'
import type { InferOptions, ModelBackend, ModelMetadata, Parameters, Tensor } from '@modelgate/core'
import { breakerFrom } from './breaker.js'
import { batchRows, byteSize, mergeRows, takeRows } from './rows.js'
import type {
  DegradedReason,
  HybridBackend,
  HybridBackendOptions,
  HybridRoute,
  HybridStatus,
  RouteEvent,
} from './types.js'

const OPTIONS = {
  local: true,
  remote: true,
  policy: {
    confidence: { output: true, band: true, center: true, minTop: true },
    latencyBudgetMs: true,
    cloudAboveBytes: true,
    maxEscalationBytes: true,
  },
  breaker: true,
  transformOutbound: true,
  onRoute: true,
} as const

const DEFAULT_BUDGET_MS = 1000
/** A cloud call with less time than this left is not started. */
const MIN_CLOUD_MS = 2

class Refused extends Error {}

/**
 * A backend that answers at the edge and escalates to the cloud by policy: rows the edge model is
 * unsure about (only those rows), requests too heavy for the edge (whole), all within a latency
 * budget. When the cloud is down, slow or failing, the edge answers alone and says so: every
 * output tensor carries `parameters.route` (`edge`, `cloud` or `mixed`), `parameters.degraded`
 * (true when the cloud was wanted but not used) and `parameters.cloud_rows`. A circuit breaker
 * stops calling a cloud that keeps failing and probes it again after a cool-down.
 *
 * Everything that leaves goes through `transformOutbound` first (masking), and through the remote
 * backend's `fetch` (an encrypting client, an mTLS agent). No call is repeated: one request to the
 * hybrid backend is at most one request to the cloud.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createTfjsBackend } from '@modelgate/backend-tfjs'
 * import { createHybridBackend } from '@modelgate/hybrid'
 *
 * const backend = createHybridBackend({
 *   local: createTfjsBackend({ path: 'edge-model/model.json', backend: 'cpu' }),
 *   remote: { url: 'http://cloud.internal:8080', protocol: 'v2', model: 'credit', timeoutMs: 2000 },
 *   policy: { confidence: { output: 'default_probability', band: 0.15 }, latencyBudgetMs: 250 },
 *   breaker: { failureThreshold: 3, cooldownMs: 5000 },
 * })
 * const gate = createGate({ models: [{ name: 'credit', backend }] })
 * ```
 */
export function createHybridBackend(options: HybridBackendOptions): HybridBackend {
  validate(options)
  const { local, policy = {}, transformOutbound, onRoute } = options
  const budgetMs = policy.latencyBudgetMs ?? DEFAULT_BUDGET_MS
  const breaker = breakerFrom(options.breaker)
  const calls: HybridStatus['calls'] = { edge: 0, cloud: 0, mixed: 0, degraded: 0 }
  let remote: ModelBackend = isBackend(options.remote)
    ? options.remote
    : createRemoteBackend({ retries: 0, ...options.remote })
  let meta: ModelMetadata | undefined
  let remoteHasMetadata = isBackend(options.remote) || options.remote.metadata !== undefined

  async function load(): Promise<void> {
    await local.load?.()
    meta = await local.metadata()
    if (!remoteHasMetadata) {
      remote = createRemoteBackend({
        retries: 0,
        metadata: meta,
        ...(options.remote as RemoteBackendOptions),
      })
      remoteHasMetadata = true
    }
  }

  async function metadata(): Promise<ModelMetadata> {
    return meta ?? local.metadata()
  }

  async function cloud(
    inputs: Tensor[],
    infer: InferOptions,
    deadlineMs: number | undefined,
  ): Promise<{ outputs: Tensor[] } | { reason: DegradedReason }> {
    if (!remoteHasMetadata) await load()
    if (deadlineMs !== undefined && deadlineMs < MIN_CLOUD_MS) return { reason: 'budget_exhausted' }
    if (!breaker.allow()) return { reason: 'breaker_open' }
    let payload: { inputs: Tensor[]; parameters?: Parameters }
    try {
      payload = await outbound(inputs, infer.parameters)
    } catch {
      breaker.release()
      return { reason: 'outbound_refused' }
    }
    const deadline = new AbortController()
    let timedOut = false
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            deadline.abort()
          }, deadlineMs)
    const signals = [deadline.signal, ...(infer.signal ? [infer.signal] : [])]
    try {
      const outputs = await remote.infer(payload.inputs, {
        ...(infer.outputs ? { outputs: infer.outputs } : {}),
        ...(payload.parameters ? { parameters: payload.parameters } : {}),
        signal: AbortSignal.any(signals),
      })
      breaker.success()
      return { outputs }
    } catch (error) {
      if (infer.signal?.aborted && !timedOut) {
        breaker.release()
        throw error
      }
      if (timedOut) {
        breaker.failure()
        return { reason: 'cloud_timeout' }
      }
      if (error instanceof GateError && error.status < 500 && error.status !== 429) {
        breaker.release()
        return { reason: 'cloud_rejected' }
      }
      breaker.failure()
      return {
        reason:
          error instanceof GateError && error.status === 504 ? 'cloud_timeout' : 'cloud_error',
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  async function outbound(
    inputs: Tensor[],
    parameters: Parameters | undefined,
  ): Promise<{ inputs: Tensor[]; parameters?: Parameters }> {
    if (!transformOutbound) return { inputs, ...(parameters ? { parameters } : {}) }
    const result = await transformOutbound({
      kind: 'tensors',
      inputs,
      ...(parameters ? { parameters } : {}),
    })
    if (result?.kind !== 'tensors' || !Array.isArray(result.inputs)) throw new Refused()
    return {
      inputs: result.inputs,
      ...(result.parameters ? { parameters: result.parameters } : {}),
    }
  }

  async function infer(inputs: Tensor[], infer: InferOptions = {}): Promise<Tensor[]> {
    const started = performance.now()
    const rows = batchRows(inputs) ?? inputs[0]?.shape[0] ?? 0
    const all = Array.from({ length: rows }, (_, i) => i)
    const finish = (
      outputs: Tensor[],
      route: HybridRoute,
      cloudRows: number[],
      escalated: number[],
      reason?: DegradedReason,
    ) => {
      const degraded = reason !== undefined
      calls[route]++
      if (degraded) calls.degraded++
      const event: RouteEvent = {
        route,
        degraded,
        ...(reason ? { reason } : {}),
        rows,
        cloudRows,
        escalatedRows: escalated,
        elapsedMs: performance.now() - started,
        breaker: breaker.state,
      }
      try {
        onRoute?.(event)
      } catch {
        // a failing observer must not fail the call
      }
      const marks: Parameters = {
        route,
        degraded,
        cloud_rows: cloudRows,
        ...(reason ? { degraded_reason: reason } : {}),
      }
      return outputs.map((t) => ({ ...t, parameters: { ...t.parameters, ...marks } }))
    }

    if (policy.cloudAboveBytes !== undefined && byteSize(inputs) > policy.cloudAboveBytes) {
      const answer = await cloud(inputs, infer, undefined)
      if ('outputs' in answer) return finish(answer.outputs, 'cloud', all, all)
      return finish(await local.infer(inputs, infer), 'edge', [], all, answer.reason)
    }

    const edge = await local.infer(inputs, infer)
    const escalated = policy.confidence ? uncertainRows(edge, policy.confidence) : []
    if (escalated.length === 0) return finish(edge, 'edge', [], [])
    const sliceable = batchRows(inputs) !== undefined
    const rowsOut = sliceable ? escalated : all
    const outgoing = sliceable && escalated.length < rows ? takeRows(inputs, escalated) : inputs
    if (policy.maxEscalationBytes !== undefined && byteSize(outgoing) > policy.maxEscalationBytes) {
      return finish(edge, 'edge', [], [])
    }
    const remaining = budgetMs - (performance.now() - started)
    const answer = await cloud(outgoing, infer, Math.floor(remaining))
    if (!('outputs' in answer)) return finish(edge, 'edge', [], rowsOut, answer.reason)
    const merged = mergeRows(edge, answer.outputs, rowsOut)
    if (!merged) return finish(edge, 'edge', [], rowsOut, 'cloud_error')
    return finish(merged, rowsOut.length === rows ? 'cloud' : 'mixed', rowsOut, rowsOut)
  }

  return {
    load,
    metadata,
    ready: () => local.ready(),
    infer,
    async close() {
      await Promise.allSettled([local.close?.(), remote.close?.()])
    },
    ...(local.gradients ? { gradients: local.gradients.bind(local) } : {}),
    breaker,
    status: () => ({ breaker: breaker.state, calls: { ...calls } }),
  }
}

/** Rows whose confidence output falls in the uncertain band. */
function uncertainRows(
  outputs: Tensor[],
  policy: NonNullable<HybridBackendOptions['policy']>['confidence'] & object,
): number[] {
  const t = outputs.find((o) => o.name === policy.output)
  if (!t || Array.isArray(t.data)) return []
  const rows = t.shape[0] ?? 0
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1)
  const band = policy.band ?? 0.1
  const center = policy.center ?? 0.5
  const minTop = policy.minTop ?? 0.8
  const picked: number[] = []
  for (let r = 0; r < rows; r++) {
    if (width === 1) {
      if (Math.abs(Number(t.data[r]) - center) < band) picked.push(r)
      continue
    }
    let top = -Infinity
    for (let i = r * width; i < (r + 1) * width; i++) top = Math.max(top, Number(t.data[i]))
    if (top < minTop) picked.push(r)
  }
  return picked
}

function isBackend(value: unknown): value is ModelBackend {
  return typeof (value as ModelBackend)?.infer === 'function'
}

function validate(options: HybridBackendOptions): void {
  if (!options || typeof options !== 'object')
    throw new TypeError('createHybridBackend needs options')
  checkOptionKeys('createHybridBackend', options, OPTIONS)
  if (!isBackend(options.local) || typeof options.local.metadata !== 'function') {
    throw new TypeError('"local" must be a backend')
  }
  const remote = options.remote as unknown
  if (
    !isBackend(remote) &&
    (typeof remote !== 'object' ||
      remote === null ||
      typeof (remote as RemoteBackendOptions).url !== 'string')
  ) {
    throw new TypeError('"remote" must be a backend or createRemoteBackend options')
  }
  const p = options.policy ?? {}
  const positive = (name: string, v: unknown) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new TypeError(`policy.${name} must be a positive number`)
    }
  }
  positive('latencyBudgetMs', p.latencyBudgetMs)
  positive('cloudAboveBytes', p.cloudAboveBytes)
  positive('maxEscalationBytes', p.maxEscalationBytes)
  if (p.confidence !== undefined) {
    if (typeof p.confidence.output !== 'string' || p.confidence.output === '') {
      throw new TypeError('policy.confidence.output must name an output')
    }
    positive('confidence.band', p.confidence.band)
    positive('confidence.minTop', p.confidence.minTop)
  }
  if (options.transformOutbound !== undefined && typeof options.transformOutbound !== 'function') {
    throw new TypeError('transformOutbound must be a function')
  }
}

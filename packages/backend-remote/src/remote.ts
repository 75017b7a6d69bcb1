import { GateError } from '@modelgate/core'
import type { InferOptions, ModelBackend, ModelMetadata, Tensor } from '@modelgate/core'
import { resolveOptions } from './options.js'
import { protocolFor } from './protocols.js'
import { call, expectJson } from './upstream.js'
import type { RemoteBackendOptions } from './types.js'

const PROBE_TIMEOUT_MS = 2_000

/**
 * A backend that forwards inference to a model that is already served: an Open Inference Protocol
 * server (Triton, KServe V2, MLServer, another modelgate), a KServe V1 predictor or TF Serving.
 * It runs wherever `fetch` does, at the edge as in Node.
 *
 * Each attempt has its own timeout and is cancelled with the caller's signal; failures that are
 * safe to repeat are retried with exponential backoff and jitter (see the README's retry policy).
 * Upstream failures become GateErrors: unreachable → 503 `upstream_unavailable`, timeout → 504
 * `upstream_timeout`, 5xx or a malformed answer → 502 `bad_gateway`, a rejected request → 400
 * `upstream_rejected` with a generic message. No message carries the upstream URL or its body.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createRemoteBackend } from '@modelgate/backend-remote'
 *
 * const gate = createGate({
 *   models: [
 *     { name: 'credit', backend: createRemoteBackend({ url: 'http://triton:8000', protocol: 'v2', model: 'credit' }) },
 *     {
 *       name: 'churn',
 *       backend: createRemoteBackend({
 *         url: 'http://tf-serving:8501',
 *         protocol: 'tfserving',
 *         model: 'churn',
 *         timeoutMs: 2000,
 *       }),
 *     },
 *   ],
 * })
 * ```
 */
export function createRemoteBackend(options: RemoteBackendOptions): ModelBackend {
  const o = resolveOptions(options)
  const protocol = protocolFor(o)
  let known: ModelMetadata | undefined = o.metadata
  let loading: Promise<ModelMetadata> | undefined
  let lastOk = 0

  function metadata(): Promise<ModelMetadata> {
    if (known) return Promise.resolve(known)
    const path = protocol.metadataPath
    if (path === undefined)
      return Promise.reject(new TypeError('metadata is required for this protocol'))
    loading ??= (async () => {
      try {
        const json = expectJson(await call(o, { method: 'GET', path }), 'metadata')
        known = protocol.parseMetadata(json)
        lastOk = Date.now()
        return known
      } finally {
        loading = undefined
      }
    })()
    return loading
  }

  async function ready(): Promise<boolean> {
    if (o.readyCacheMs > 0 && Date.now() - lastOk < o.readyCacheMs) return true
    try {
      const response = await call(o, {
        method: 'GET',
        path: protocol.readyPath,
        retries: 0,
        timeoutMs: Math.min(o.timeoutMs, PROBE_TIMEOUT_MS),
      })
      const ok = protocol.isReady(response)
      lastOk = ok ? Date.now() : 0
      return ok
    } catch {
      lastOk = 0
      return false
    }
  }

  async function infer(inputs: Tensor[], options: InferOptions = {}): Promise<Tensor[]> {
    const meta = await metadata()
    const body = protocol.encode(inputs, meta, options)
    try {
      const response = await call(o, {
        method: 'POST',
        path: protocol.inferPath,
        body,
        signal: options.signal,
      })
      const outputs = protocol.decode(expectJson(response, 'infer'), meta, inputs)
      lastOk = Date.now()
      if (!options.outputs) return outputs
      const wanted = new Set(options.outputs)
      return outputs.filter((t) => wanted.has(t.name))
    } catch (error) {
      if (error instanceof GateError && error.code === 'upstream_unavailable') lastOk = 0
      throw error
    }
  }

  return { metadata, ready, infer, close: async () => undefined }
}

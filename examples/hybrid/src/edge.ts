import * as tf from '@tensorflow/tfjs'
import { createTfjsBackend } from '@modelgate/backend-tfjs'
import { createGate } from '@modelgate/core'
import type { Gate, ModelBackend } from '@modelgate/core'
// The schema module alone: the package entry also loads Express and Node-only code.
import { creditSchema, MODEL_INPUT, MODEL_OUTPUT } from '../../credit-risk/dist/schema.js'
import { createHybridBackend, routeHeaders } from '@modelgate/hybrid'
import type { HybridBackend, RouteEvent } from '@modelgate/hybrid'

/**
 * Options of {@link createEdgeGate}.
 *
 * @example
 * ```ts
 * const options: EdgeGateOptions = { cloudUrl: 'http://127.0.0.1:8080', model: fileIOHandler(EDGE_MODEL_PATH) }
 * ```
 */
export interface EdgeGateOptions {
  /** Base URL of the cloud gate. */
  cloudUrl: string
  /** Where the compressed edge model comes from: a file handler in Node, `tf.io.fromMemory` in a worker. */
  model: tf.io.IOHandler
  /** Latency budget of one call. Default 250 ms. */
  latencyBudgetMs?: number
  /** Half-width of the uncertain band around 0.5. Default 0.15. */
  band?: number
  /** Cool-down of the breaker. Default 2,000 ms. */
  cooldownMs?: number
  /** The `fetch` used towards the cloud. */
  fetch?: typeof fetch
  onRoute?: (event: RouteEvent) => void
}

/**
 * The edge gate of the demo, written against Web APIs only so that Node and workerd run the same
 * code: model `credit` on a hybrid backend whose local side is the uint8 credit model on the
 * TF.js cpu backend, and whose remote side is the cloud gate. Applicants the edge model puts
 * within `band` of 0.5 go to the cloud's full model.
 *
 * @example
 * ```ts
 * import { fileIOHandler } from '@modelgate/backend-tfjs'
 *
 * const { gate } = createEdgeGate({ cloudUrl: 'http://127.0.0.1:8080', model: fileIOHandler(EDGE_MODEL_PATH) })
 * ```
 */
export function createEdgeGate(options: EdgeGateOptions): { gate: Gate; backend: HybridBackend } {
  const backend = createHybridBackend({
    local: lazyLayersModel(options.model),
    remote: {
      url: options.cloudUrl,
      protocol: 'v2',
      model: 'credit',
      version: '1',
      timeoutMs: 5000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
    policy: {
      confidence: { output: MODEL_OUTPUT, band: options.band ?? 0.15 },
      latencyBudgetMs: options.latencyBudgetMs ?? 250,
    },
    breaker: { failureThreshold: 2, cooldownMs: options.cooldownMs ?? 2000 },
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  })
  const gate = createGate({
    name: 'modelgate-edge',
    models: [{ name: 'credit', version: '1', backend, schema: creditSchema }],
    plugins: [routeHeaders()],
  })
  return { gate, backend }
}

/** A TF.js backend on the cpu backend whose layers model is read when the gate loads it. */
function lazyLayersModel(handler: tf.io.IOHandler): ModelBackend {
  let inner: ModelBackend | undefined
  const loaded = (): ModelBackend => {
    if (!inner) throw new Error('the edge model is not loaded')
    return inner
  }
  return {
    async load() {
      await tf.setBackend('cpu')
      const model = await tf.loadLayersModel(handler)
      inner = createTfjsBackend({
        model,
        backend: 'cpu',
        inputNames: [MODEL_INPUT],
        outputNames: [MODEL_OUTPUT],
      })
      await inner.load!()
    },
    metadata: () => loaded().metadata(),
    ready: async () => (inner ? inner.ready() : false),
    infer: (inputs, infer) => loaded().infer(inputs, infer),
  }
}

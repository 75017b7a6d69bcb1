import { fileURLToPath } from 'node:url'
import { createTfjsBackend } from '@modelgate/backend-tfjs'
import { createGate } from '@modelgate/core'
import type { Gate, Plugin, RouteDefinition } from '@modelgate/core'
import { creditSchema, MODEL_INPUT, MODEL_OUTPUT } from './schema.js'

/**
 * The committed, trained model: `examples/credit-risk/model/model.json`.
 *
 * @example
 * ```ts
 * createTfjsBackend({ path: MODEL_PATH })
 * ```
 */
export const MODEL_PATH = fileURLToPath(new URL('../model/model.json', import.meta.url))

/**
 * Options of {@link createCreditGate}.
 *
 * @example
 * ```ts
 * const opts: CreditGateOptions = { backend: 'cpu' }
 * ```
 */
export interface CreditGateOptions {
  /** A `model.json`; default {@link MODEL_PATH}. */
  modelPath?: string
  /** TF.js backend. Default `auto` (tfjs-node when installed, else wasm, else cpu). */
  backend?: 'auto' | 'wasm' | 'cpu' | 'tensorflow'
  /** Plugins, outermost first. Default none. */
  plugins?: Plugin[]
  /** Routes of the gate besides the protocol routes (`createGate`'s `routes`). Default none. */
  routes?: RouteDefinition[]
}

/**
 * The demo gate: one model, `credit` version `1`, run by the TF.js backend and fed through
 * {@link creditSchema}, so it answers V2 tensors and V1 loan applications alike.
 *
 * @example
 * ```ts
 * const gate = createCreditGate()
 * await gate.ready()
 * const res = await gate.fetch(
 *   new Request('http://gate/v1/models/credit:predict', {
 *     method: 'POST',
 *     headers: { 'content-type': 'application/json' },
 *     body: JSON.stringify({ instances: [application] }),
 *   }),
 * )
 * await res.json() // { predictions: [{ default_probability: 0.08 }] }
 * ```
 */
export function createCreditGate(options: CreditGateOptions = {}): Gate {
  return createGate({
    name: 'modelgate-credit-risk',
    models: [
      {
        name: 'credit',
        version: '1',
        backend: createTfjsBackend({
          path: options.modelPath ?? MODEL_PATH,
          backend: options.backend ?? 'auto',
          inputNames: [MODEL_INPUT],
          outputNames: [MODEL_OUTPUT],
          warmup: true,
        }),
        schema: creditSchema,
        labels: { owner: 'credit-risk', data_classification: 'confidential' },
      },
    ],
    plugins: options.plugins ?? [],
    routes: options.routes ?? [],
  })
}

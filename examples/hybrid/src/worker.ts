import * as tf from '@tensorflow/tfjs'
import { toFetchModule } from '@modelgate/edge'
import type { FetchModule } from '@modelgate/edge'
import { createSealedFetch } from '@modelgate/hybrid'
import type { SealedFetchOptions } from '@modelgate/hybrid'
import { createEdgeGate } from './edge.js'

/**
 * What a workerd (or Cloudflare Workers) deployment binds: the cloud gate's URL, its public JWE
 * key, and `CLOUD`, the service that reaches it over mTLS (in workerd an external server with
 * `tlsOptions.keypair`; in Cloudflare Workers an `mtls_certificates` binding).
 *
 * @example
 * ```ts
 * const env: EdgeWorkerEnv = { CLOUD_URL: 'https://localhost:8443', CLOUD_KEY: publicJwk, CLOUD: binding }
 * ```
 */
export interface EdgeWorkerEnv {
  CLOUD_URL: string
  /** The cloud gate's public JWE key (a JSON binding). */
  CLOUD_KEY: SealedFetchOptions['gateKey']
  CLOUD: { fetch: typeof fetch }
}

/**
 * The edge gate as a Workers module, with the compressed model bundled in (`model.json` and the
 * bytes of `weights.bin`). Calls to the cloud are sealed as JWE to `CLOUD_KEY` and sent through the
 * `CLOUD` service (mTLS). The gate is built on the first request, not at start-up: Workers allow
 * no timers or I/O in the global scope. The TF.js cpu backend is used; the wasm backend cannot be
 * started from a bundled module in Workers.
 *
 * @example
 * ```ts
 * import modelJson from '../edge-model/model.json'
 * import weights from '../edge-model/weights.bin' // esbuild loader "binary"
 *
 * export default edgeWorker(modelJson, weights)
 * ```
 */
export function edgeWorker(modelJson: tf.io.ModelJSON, weights: Uint8Array): FetchModule {
  let module: FetchModule | undefined
  return {
    fetch(request, env, ctx) {
      if (!module) {
        const { CLOUD_URL, CLOUD_KEY, CLOUD } = env as EdgeWorkerEnv
        const buffer = weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        )
        const handler = tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
          weightData: buffer as ArrayBuffer,
        })
        const sealed = createSealedFetch({
          gateKey: CLOUD_KEY,
          fetch: (input, init) => CLOUD.fetch(input, init),
        })
        module = toFetchModule(
          createEdgeGate({ cloudUrl: CLOUD_URL, model: handler, fetch: sealed }).gate,
        )
      }
      return module.fetch(request, env, ctx)
    },
  }
}

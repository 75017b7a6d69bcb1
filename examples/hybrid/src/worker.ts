import * as tf from '@tensorflow/tfjs'
import { toFetchModule } from '@modelgate/edge'
import type { FetchModule } from '@modelgate/edge'
import { createEdgeGate } from './edge.js'

/**
 * What a workerd (or Cloudflare Workers) deployment binds: the cloud gate's URL.
 *
 * @example
 * ```ts
 * const env: EdgeWorkerEnv = { CLOUD_URL: 'http://127.0.0.1:8080' }
 * ```
 */
export interface EdgeWorkerEnv {
  CLOUD_URL: string
}

/**
 * The edge gate as a Workers module, with the compressed model bundled in (`model.json` and the
 * bytes of `weights.bin`). The gate is built on the first request, not at start-up: Workers allow
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
        const { CLOUD_URL } = env as EdgeWorkerEnv
        const buffer = weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        )
        const handler = tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
          weightData: buffer as ArrayBuffer,
        })
        module = toFetchModule(createEdgeGate({ cloudUrl: CLOUD_URL, model: handler }).gate)
      }
      return module.fetch(request, env, ctx)
    },
  }
}

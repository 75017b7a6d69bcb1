import { fileURLToPath } from 'node:url'

/**
 * The committed edge model: the credit model quantised to uint8 (the 14 per-feature scales of its
 * standardisation in float16), written by `quantize-model.ts`.
 *
 * @example
 * ```ts
 * createEdgeGate({ cloudUrl, model: fileIOHandler(EDGE_MODEL_PATH) })
 * ```
 */
export const EDGE_MODEL_PATH = fileURLToPath(new URL('../edge-model/model.json', import.meta.url))

import { checkOptionKeys, type OptionsShape, type Plugin } from '@modelgate/core'
import { EXPLAIN_OPTIONS, explain as explainInline } from '../explain/index.js'
import type { NodeExplainPluginOptions } from '../types.js'
import { ExplainPool } from './pool.js'

const { pool: _pool, ...shared } = EXPLAIN_OPTIONS
const NODE_OPTIONS: OptionsShape = { ...shared, workers: true }

/**
 * The explain plugin of `@modelgate/explain` with a worker pool for Node: jobs estimated at
 * `inlineBelowEvaluations` model rows or more (default 20,000) run on `workers` threads (default
 * cores − 1, at most 4; `0` runs everything inline), model calls come back to the request's
 * thread. Threads start with the first large job; `gate.close()` terminates them, so a process
 * exits after SIGTERM once its server and gate are closed.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { kmeans } from '@modelgate/explain'
 * import { explain } from '@modelgate/explain/node'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [explain({ models: { credit: { background: kmeans(trainRows, 10) } }, workers: 2 })],
 * })
 * process.once('SIGTERM', () => void server.close(() => void gate.close()))
 * ```
 */
export const explain = (options: NodeExplainPluginOptions = {}): Plugin => {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('explain options must be an object')
  checkOptionKeys('explain', options, NODE_OPTIONS)
  const { workers, ...rest } = options
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 0))
    throw new TypeError('explain: "workers" must be a non-negative integer')
  if (workers === 0) return explainInline(rest)
  return explainInline({
    ...rest,
    pool: new ExplainPool(workers !== undefined ? { size: workers } : {}),
  })
}

export { ExplainPool } from './pool.js'
export { explainFiles, explainInputs, loadModelFile, readExplainInputs } from './files.js'
export type { ExplainFilesOptions, ExplainInputs, ExplainInputsOptions } from './files.js'
export type { NodeExplainPluginOptions } from '../types.js'

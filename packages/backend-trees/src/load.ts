import { parseLightGBM } from './lightgbm.js'
import { parseXGBoost } from './xgboost.js'
import type { TreeEnsemble } from './types.js'

/**
 * Parses a tree model document of either format: XGBoost `save_model` JSON (has `learner`) or
 * LightGBM `dump_model` JSON (has `tree_info`). An already parsed {@link TreeEnsemble} is returned
 * as is.
 *
 * @example
 * ```ts
 * const ensemble = parseTreeModel(JSON.parse(text))
 * ```
 */
export function parseTreeModel(doc: unknown): TreeEnsemble {
  if (isEnsemble(doc)) return doc
  if (typeof doc === 'object' && doc !== null && 'learner' in doc) return parseXGBoost(doc)
  if (typeof doc === 'object' && doc !== null && 'tree_info' in doc) return parseLightGBM(doc)
  throw new TypeError('not an XGBoost save_model or LightGBM dump_model JSON document')
}

/**
 * True when a document looks like a tree model this package reads (for picking a loader by
 * content).
 *
 * @example
 * ```ts
 * if (isTreeModelDocument(json)) backend = createTreesBackend({ model: json })
 * ```
 */
export function isTreeModelDocument(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && ('learner' in doc || 'tree_info' in doc)
}

function isEnsemble(v: unknown): v is TreeEnsemble {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as TreeEnsemble).trees) &&
    (v as TreeEnsemble).treeOutput instanceof Int32Array
  )
}

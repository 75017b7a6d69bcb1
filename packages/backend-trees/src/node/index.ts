import { readFile } from 'node:fs/promises'
import { checkOptionKeys } from '@modelgate/core'
import { TREES_OPTIONS, treesBackend } from '../backend.js'
import { parseTreeModel } from '../load.js'
import type { TreeEnsemble, TreesBackend, TreesFileBackendOptions } from '../types.js'

/**
 * Reads and parses a model file (Node only).
 *
 * @example
 * ```ts
 * import { loadTreeModel } from '@modelgate/backend-trees/node'
 *
 * const ensemble = await loadTreeModel('model.json')
 * ```
 */
export async function loadTreeModel(path: string): Promise<TreeEnsemble> {
  return parseTreeModel(JSON.parse(await readFile(path, 'utf8')))
}

/**
 * The tree-model backend of `@modelgate/backend-trees` that also loads a model file by its path:
 * the file is read and parsed when the gate loads the model (`gate.ready()`), so a missing or
 * malformed file fails the start, not the first request.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createTreesBackend } from '@modelgate/backend-trees/node'
 *
 * const gate = createGate({ models: [{ name: 'credit', backend: createTreesBackend({ path: 'model.json' }) }] })
 * await gate.ready()
 * ```
 */
export function createTreesBackend(options: TreesFileBackendOptions): TreesBackend {
  if (!options || typeof options !== 'object')
    throw new TypeError('createTreesBackend needs an options object')
  checkOptionKeys('createTreesBackend', options, { ...TREES_OPTIONS, path: true })
  if ((options.path === undefined) === (options.model === undefined))
    throw new TypeError('give exactly one of "path" or "model"')
  const path = options.path
  if (path !== undefined && typeof path !== 'string') throw new TypeError('"path" must be a string')
  return treesBackend(
    options,
    path === undefined ? undefined : () => loadTreeModel(path),
  )
}

export type { TreesFileBackendOptions } from '../types.js'

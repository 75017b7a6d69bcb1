import * as tf from '@tensorflow/tfjs'
import type {
  TfjsBackendChoice,
  TfjsBackendLoaders,
  TfjsBackendName,
  WasmBackendModule,
} from './types.js'

const CHOICES: readonly TfjsBackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu']
const TFJS_NODE = '@tensorflow/tfjs-node'
const TFJS_WASM = '@tensorflow/tfjs-backend-wasm'

interface Selection {
  requested: TfjsBackendChoice
  result: Promise<TfjsBackendName>
}

let selection: Selection | undefined
let active: TfjsBackendName | undefined

/** @internal */
export function isTfjsBackendChoice(value: unknown): value is TfjsBackendChoice {
  return typeof value === 'string' && (CHOICES as readonly string[]).includes(value)
}

/**
 * The TF.js backend modelgate selected for this process, or `undefined` before the first model
 * loaded (or {@link useTfjsBackend} ran).
 *
 * @example
 * ```ts
 * await gate.ready()
 * console.log(activeTfjsBackend()) // 'wasm'
 * ```
 */
export function activeTfjsBackend(): TfjsBackendName | undefined {
  return active
}

/**
 * Selects the TF.js backend for the whole process. TF.js holds one active backend per process, so
 * this affects every model: models loaded earlier keep working and move their weights to the new
 * backend on their next call. Calls are serialised; each resolves to the backend that became
 * active.
 *
 * - `auto`: `tensorflow` when `@tensorflow/tfjs-node` can be imported, else `wasm`, else `cpu`.
 * - `wasm`: the wasm binaries are read from the installed package (nothing is downloaded); when
 *   wasm cannot start, `cpu` is used and a warning is printed.
 * - `tensorflow`: rejects when `@tensorflow/tfjs-node` cannot be imported.
 * - `cpu`: the pure-JavaScript backend.
 *
 * `loaders` replaces how the optional packages are imported.
 *
 * @example
 * ```ts
 * import { useTfjsBackend } from '@modelgate/backend-tfjs'
 *
 * const name = await useTfjsBackend('auto') // 'wasm' where tfjs-node is not installed
 * ```
 */
export function useTfjsBackend(
  requested: TfjsBackendChoice = 'auto',
  loaders: TfjsBackendLoaders = {},
): Promise<TfjsBackendName> {
  if (!isTfjsBackendChoice(requested)) {
    return Promise.reject(new TypeError(`backend must be one of ${CHOICES.join(', ')}`))
  }
  const previous = selection?.result.catch(() => undefined) ?? Promise.resolve(undefined)
  const result = previous.then(() => select(requested, loaders))
  const current: Selection = { requested, result }
  selection = current
  result.then(
    (name) => {
      if (selection === current) active = name
    },
    () => {
      if (selection === current) selection = undefined
    },
  )
  return result
}

/**
 * @internal The backend a model asking for `requested` runs on: the process-wide selection, made
 * now when there is none. An explicit request that differs from the active selection is an error.
 */
export async function ensureTfjsBackend(requested: TfjsBackendChoice): Promise<TfjsBackendName> {
  const current = selection
  if (!current) return useTfjsBackend(requested)
  const name = await current.result
  if (requested === 'auto' || requested === current.requested || requested === name) return name
  throw new Error(
    `the TF.js backend is process-wide and "${name}" is already active (selected for ` +
      `"${current.requested}"), but this model asks for "${requested}": use backend "auto", or call ` +
      `useTfjsBackend("${requested}") first to switch every model`,
  )
}

async function select(
  requested: TfjsBackendChoice,
  loaders: TfjsBackendLoaders,
): Promise<TfjsBackendName> {
  if (requested === 'auto' || requested === 'tensorflow') {
    const problem = await loadTfjsNode(loaders.tfjsNode ?? (() => import(TFJS_NODE)))
    if (problem === undefined && (await tf.setBackend('tensorflow'))) return 'tensorflow'
    if (requested === 'tensorflow') {
      throw new Error(
        `backend "tensorflow" needs ${TFJS_NODE}: ${problem ?? 'it failed to initialise'}`,
      )
    }
  }
  if (requested !== 'cpu') {
    try {
      await startWasm(loaders.wasm ?? (() => import(TFJS_WASM) as Promise<WasmBackendModule>))
      return 'wasm'
    } catch (error) {
      console.warn(
        `@modelgate/backend-tfjs: the wasm backend cannot start (${messageOf(error)}); using the cpu backend`,
      )
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js cpu backend failed to initialise')
  return 'cpu'
}

async function loadTfjsNode(load: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await load()
  } catch (error) {
    return `it cannot be imported (${messageOf(error)})`
  }
  return tf.findBackendFactory('tensorflow')
    ? undefined
    : 'it did not register a "tensorflow" backend with this copy of TF.js'
}

async function startWasm(load: () => Promise<WasmBackendModule>): Promise<void> {
  const wasm = await load()
  if (!tf.findBackend('wasm')) {
    const dir = await installedWasmDirectory()
    if (dir !== undefined) wasm.setWasmPaths(dir)
  }
  if (!tf.findBackendFactory('wasm'))
    throw new Error('the module did not register a "wasm" backend')
  if (!(await tf.setBackend('wasm'))) throw new Error('initialisation failed')
}

/** The installed package's `dist/` folder, where its `.wasm` files are; undefined outside Node. */
async function installedWasmDirectory(): Promise<string | undefined> {
  try {
    const { createRequire } = await import('node:module')
    const { dirname, sep } = await import('node:path')
    return dirname(createRequire(import.meta.url).resolve(TFJS_WASM)) + sep
  } catch {
    return undefined
  }
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0]!.slice(0, 200)
}

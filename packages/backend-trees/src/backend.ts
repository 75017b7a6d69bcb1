import { BadRequestError, checkOptionKeys } from '@modelgate/core'
import type { ModelMetadata, OptionsShape, Tensor } from '@modelgate/core'
import { parseTreeModel } from './load.js'
import { predictMargin, transformMargin } from './predict.js'
import type { TreeEnsemble, TreesBackend, TreesBackendOptions } from './types.js'

/** @internal Option keys shared by both entries' factories. */
export const TREES_OPTIONS: OptionsShape = {
  model: true,
  inputName: true,
  missing: true,
  outputDatatype: true,
}

/**
 * A model backend for XGBoost and LightGBM JSON models, evaluated in-process (no native code).
 * One input `[-1, numFeatures]` (FP32 or FP64; NaN or `missing` marks a missing value) and two
 * outputs `[-1, numOutputs]`: `margin` (raw score) and `prediction` (the objective's transform:
 * probability of the positive class, class probabilities, or the regression value). This entry
 * takes the parsed model document (Web-only, runs at the edge); to load a file by its path, use
 * `createTreesBackend` of `@modelgate/backend-trees/node`.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { createTreesBackend } from '@modelgate/backend-trees'
 * import model from './model.json' with { type: 'json' }
 *
 * const gate = createGate({ models: [{ name: 'credit', backend: createTreesBackend({ model }) }] })
 * ```
 */
export function createTreesBackend(options: TreesBackendOptions): TreesBackend {
  if (!options || typeof options !== 'object')
    throw new TypeError('createTreesBackend needs an options object')
  checkOptionKeys('createTreesBackend', options, TREES_OPTIONS)
  if (options.model === undefined) throw new TypeError('"model" is required')
  return treesBackend(options, undefined)
}

/**
 * @internal The backend over a model given as a document (`options.model`) or read by
 * `loadDocument` when the gate loads it.
 */
export function treesBackend(
  options: Omit<TreesBackendOptions, 'model'> & { model?: unknown },
  loadDocument: (() => Promise<unknown>) | undefined,
): TreesBackend {
  if (options.missing !== undefined && typeof options.missing !== 'number')
    throw new TypeError('"missing" must be a number')
  if (
    options.outputDatatype !== undefined &&
    options.outputDatatype !== 'FP32' &&
    options.outputDatatype !== 'FP64'
  ) {
    throw new TypeError('"outputDatatype" must be FP32 or FP64')
  }
  const inputName = options.inputName ?? 'input'
  const datatype = options.outputDatatype ?? 'FP64'
  let ensemble: TreeEnsemble | undefined =
    options.model !== undefined ? parseTreeModel(options.model) : undefined
  let loading: Promise<void> | undefined

  const get = (): TreeEnsemble => {
    if (!ensemble) throw new Error('tree model is not loaded')
    return ensemble
  }

  return {
    missingValue: options.missing,
    load() {
      loading ??= ensemble
        ? Promise.resolve()
        : loadDocument!().then((doc) => void (ensemble = parseTreeModel(doc)))
      return loading
    },
    ensemble: get,
    async ready() {
      return ensemble !== undefined
    },
    async metadata(): Promise<ModelMetadata> {
      const e = get()
      return {
        platform: e.format === 'xgboost' ? 'xgboost_json' : 'lightgbm_json',
        inputs: [{ name: inputName, datatype: 'FP32', shape: [-1, e.numFeatures] }],
        outputs: [
          { name: 'margin', datatype, shape: [-1, e.numOutputs] },
          { name: 'prediction', datatype, shape: [-1, e.numOutputs] },
        ],
        parameters: { objective: e.objective.name, trees: e.trees.length },
      }
    },
    async infer(inputs: Tensor[], inferOptions) {
      const e = get()
      const input = inputs.find((t) => t.name === inputName) ?? inputs[0]
      if (!input) throw new BadRequestError(`input "${inputName}" is required`)
      if (typeof input.data[0] === 'string' || typeof input.data[0] === 'bigint')
        throw new BadRequestError('tree models take numeric inputs')
      const rows = input.shape[0] ?? 0
      if (input.shape.length !== 2 || input.shape[1] !== e.numFeatures) {
        throw new BadRequestError(`input "${input.name}" must have shape [-1, ${e.numFeatures}]`)
      }
      let x = input.data as ArrayLike<number>
      if (options.missing !== undefined) {
        const copy = Float64Array.from(x)
        for (let i = 0; i < copy.length; i++) if (copy[i] === options.missing) copy[i] = NaN
        x = copy
      }
      const margin = predictMargin(e, x, rows)
      const wanted = inferOptions?.outputs
      const out: Tensor[] = []
      const shape = [rows, e.numOutputs]
      const typed = (a: Float64Array) => (datatype === 'FP32' ? Float32Array.from(a) : a)
      if (!wanted || wanted.includes('margin'))
        out.push({ name: 'margin', datatype, shape, data: typed(margin) })
      if (!wanted || wanted.includes('prediction')) {
        out.push({
          name: 'prediction',
          datatype,
          shape,
          data: typed(transformMargin(e, Float64Array.from(margin))),
        })
      }
      return out
    },
  }
}

import { readFile, writeFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { isTreeModelDocument, parseTreeModel } from '@modelgate/backend-trees'
import type { ModelBackend } from '@modelgate/core'
import { explainModel } from '../explain.js'
import { modelFromBackend, modelFromEnsemble } from '../models.js'
import { parseRows } from '../rows.js'
import type { ExplainableModel, ExplainerName, Explanation } from '../types.js'

/**
 * Options of {@link explainFiles} (the `modelgate explain` command).
 *
 * @example
 * ```ts
 * const o: ExplainFilesOptions = { model: 'model.json', data: 'rows.csv', method: 'tree_shap', out: 'shap.json' }
 * ```
 */
export interface ExplainFilesOptions {
  /** `.onnx`, a TF.js `model.json`, an XGBoost `save_model` JSON or a LightGBM `dump_model` JSON. */
  model: string
  /** JSON array of arrays (null = missing), JSON array of objects keyed by feature name, or CSV with a header. */
  data: string
  background?: string
  method?: ExplainerName | 'auto'
  nsamples?: number
  seed?: number
  /** Writes the explanation JSON here as well as returning it. */
  out?: string
  /** Tree models: `margin` (default, like shap's TreeExplainer) or `prediction`. */
  output?: string
  onProgress?: (done: number, total: number) => void
}

/**
 * What {@link explainInputs} explains: a loaded model, its column names (the model's own for tree
 * models, else the data file's header or keys), the rows and optional background rows.
 *
 * @example
 * ```ts
 * const inputs: ExplainInputs = { model, featureNames: ['income', 'age'], rows: [[52_000, 41]] }
 * ```
 */
export interface ExplainInputs {
  model: ExplainableModel
  featureNames?: string[]
  rows: Array<Array<number | null>>
  background?: Array<Array<number | null>>
}

/**
 * How {@link explainInputs} explains: the method and sampling options of
 * {@link ExplainFilesOptions}, and `offset`, the position of `rows[0]` in the whole data set.
 *
 * @example
 * ```ts
 * const o: ExplainInputsOptions = { method: 'kernel_shap', seed: 7, offset: 500 }
 * ```
 */
export interface ExplainInputsOptions {
  method?: ExplainerName | 'auto'
  nsamples?: number
  seed?: number
  /**
   * Index of the first row in the whole data set (default 0). Row `r` of the whole set is
   * explained with seed `seed + r`, so explaining rows `[a, b)` with `offset: a` gives exactly the
   * values a run over every row gives for them.
   */
  offset?: number
  onProgress?: (done: number, total: number) => void
}

/**
 * Loads the model and reads the rows (and background rows) named by file, as
 * {@link explainFiles} does before explaining.
 *
 * @example
 * ```ts
 * const inputs = await readExplainInputs({ model: 'xgb.json', data: 'rows.csv' })
 * console.log(inputs.featureNames, inputs.rows.length)
 * ```
 */
export async function readExplainInputs(
  options: Pick<ExplainFilesOptions, 'model' | 'data' | 'background' | 'output'>,
): Promise<ExplainInputs> {
  if (!options || typeof options.model !== 'string' || typeof options.data !== 'string')
    throw new TypeError('"model" and "data" paths are required')
  const { model, featureNames } = await loadModelFile(options.model, options.output)
  const data = await readRows(options.data, featureNames)
  const names = featureNames ?? data.names
  const background = options.background
    ? (await readRows(options.background, names)).rows
    : undefined
  return {
    model,
    rows: data.rows,
    ...(names ? { featureNames: names } : {}),
    ...(background ? { background } : {}),
  }
}

/**
 * Explains {@link ExplainInputs}. With `offset`, a slice of a data set gets the values a run over
 * the whole set gives its rows, so slices explained anywhere and joined in order with
 * `concatExplanations` equal one run.
 *
 * @example
 * ```ts
 * const whole = await explainInputs(inputs, { method: 'kernel_shap', seed: 3 })
 * const tail = await explainInputs({ ...inputs, rows: inputs.rows.slice(10) }, { method: 'kernel_shap', seed: 3, offset: 10 })
 * ```
 */
export function explainInputs(
  inputs: ExplainInputs,
  options: ExplainInputsOptions = {},
): Promise<Explanation> {
  const { model, featureNames: names, background } = inputs
  return explainModel({
    model,
    x: inputs.rows,
    method: options.method ?? 'auto',
    ...(names && names.length === model.width ? { featureNames: names } : {}),
    ...(background
      ? { background: { data: background.map((r) => r.map((v) => (v === null ? NaN : v))) } }
      : {}),
    ...(options.nsamples !== undefined ? { nsamples: options.nsamples } : {}),
    seed: (options.seed ?? 0) + (options.offset ?? 0),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })
}

/**
 * Everything `modelgate explain --model FILE --data FILE [--background FILE] --method METHOD
 * [--nsamples N] [--seed N] [--out FILE]` does: loads the model by its file (ONNX and TF.js
 * through their optional backends, imported on demand), reads the rows, explains them and returns
 * (and optionally writes) shap's layout.
 *
 * @example
 * ```ts
 * const e = await explainFiles({ model: 'xgb.json', data: 'rows.csv', method: 'tree_shap', out: 'shap.json' })
 * console.log(e.values.length)
 * ```
 */
export async function explainFiles(options: ExplainFilesOptions): Promise<Explanation> {
  const explanation = await explainInputs(await readExplainInputs(options), options)
  if (options.out) await writeFile(options.out, JSON.stringify(explanation, null, 1))
  return explanation
}

/**
 * Loads a model file for explanation: `.onnx`, a TF.js `model.json`, an XGBoost `save_model` JSON
 * or a LightGBM `dump_model` JSON; `featureNames` when the file names its features. Tree models
 * explain the raw `margin` unless `output` is `prediction`.
 *
 * @example
 * ```ts
 * const { model, featureNames } = await loadModelFile('xgb.json')
 * ```
 */
export async function loadModelFile(
  path: string,
  output?: string,
): Promise<{ model: ExplainableModel; featureNames?: string[] }> {
  if (extname(path).toLowerCase() === '.onnx') {
    const onnx = (await importOptional('@modelgate/backend-onnx')) as {
      createOnnxBackend: (o: { path: string }) => ModelBackend
    }
    return {
      model: await modelFromBackend(onnx.createOnnxBackend({ path }), output ? { output } : {}),
    }
  }
  const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  if (isTreeModelDocument(doc)) {
    const ensemble = parseTreeModel(doc)
    const kind = output === 'prediction' ? 'prediction' : 'margin'
    return {
      model: modelFromEnsemble(ensemble, kind),
      ...(ensemble.featureNames ? { featureNames: ensemble.featureNames } : {}),
    }
  }
  if ('modelTopology' in doc) {
    const tfjs = (await importOptional('@modelgate/backend-tfjs')) as {
      createTfjsBackend: (o: { path: string }) => ModelBackend
    }
    return {
      model: await modelFromBackend(tfjs.createTfjsBackend({ path }), output ? { output } : {}),
    }
  }
  throw new TypeError(`${path}: not an ONNX, TF.js, XGBoost or LightGBM model`)
}

async function importOptional(name: string): Promise<unknown> {
  try {
    return await import(name)
  } catch (error) {
    // The package itself, or a runtime it imports (@tensorflow/tfjs for @modelgate/backend-tfjs).
    const missing = /Cannot find (?:package|module) '([^'./][^']*)'/.exec(String(error))?.[1]
    throw new TypeError(`${missing ?? name} is not installed; install it to explain this model`, {
      cause: error,
    })
  }
}

async function readRows(path: string, featureNames?: string[]) {
  return parseRows(await readFile(path, 'utf8'), path, featureNames)
}

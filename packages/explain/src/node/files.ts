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
  if (!options || typeof options.model !== 'string' || typeof options.data !== 'string')
    throw new TypeError('"model" and "data" paths are required')
  const { model, featureNames } = await loadModel(options.model, options.output)
  const data = await readRows(options.data, featureNames)
  const background = options.background
    ? await readRows(options.background, featureNames ?? data.names)
    : undefined
  const names = featureNames ?? data.names
  const explanation = await explainModel({
    model,
    x: data.rows,
    method: options.method ?? 'auto',
    ...(names && names.length === model.width ? { featureNames: names } : {}),
    ...(background
      ? { background: { data: background.rows.map((r) => r.map((v) => (v === null ? NaN : v))) } }
      : {}),
    ...(options.nsamples !== undefined ? { nsamples: options.nsamples } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })
  if (options.out) await writeFile(options.out, JSON.stringify(explanation, null, 1))
  return explanation
}

async function loadModel(
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
  } catch {
    throw new TypeError(`${name} is not installed; install it to explain this model`)
  }
}

async function readRows(path: string, featureNames?: string[]) {
  return parseRows(await readFile(path, 'utf8'), path, featureNames)
}

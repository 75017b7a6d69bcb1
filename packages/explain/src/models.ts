import { predictMargin, transformMargin } from '@modelgate/backend-trees'
import type { TreeEnsemble } from '@modelgate/backend-trees'
import type { ModelBackend, Tensor, TensorMetadata } from '@modelgate/core'
import type { ExplainableModel } from './types.js'

/**
 * A tree ensemble as an {@link ExplainableModel}: `margin` output (default; what `tree_shap`
 * explains, like shap's TreeExplainer) or the transformed `prediction`.
 *
 * @example
 * ```ts
 * const model = modelFromEnsemble(await loadTreeModel('model.json'))
 * ```
 */
export function modelFromEnsemble(
  ensemble: TreeEnsemble,
  output: 'margin' | 'prediction' = 'margin',
): ExplainableModel {
  const K = ensemble.numOutputs
  const model: ExplainableModel = {
    width: ensemble.numFeatures,
    outputs: K,
    outputNames: K === 1 ? [output] : Array.from({ length: K }, (_, k) => `${output}_${k}`),
    async predict(x, rows) {
      const m = predictMargin(ensemble, x, rows)
      return output === 'margin' ? m : transformMargin(ensemble, m)
    },
  }
  if (output === 'margin') model.ensemble = ensemble
  return model
}

/**
 * Wraps a function that runs tensors (a backend's `infer`, or a gate context's `runModel`) as an
 * {@link ExplainableModel} over one input and one output of shape `[-1, n]`.
 *
 * @example
 * ```ts
 * const model = modelFromInfer((t, o) => backend.infer(t, o), { input: meta.inputs[0], output: 'probability', outputs: 2 })
 * ```
 */
export function modelFromInfer(
  infer: (inputs: Tensor[], options?: { outputs?: string[] }) => Promise<Tensor[]>,
  options: {
    input: TensorMetadata
    output: string
    outputs: number
    outputNames?: string[]
    width?: number
    gradients?: ModelBackend['gradients']
  },
): ExplainableModel {
  const { input, output } = options
  const width = options.width ?? input.shape[input.shape.length - 1]!
  if (!(width > 0)) throw new TypeError(`input "${input.name}" needs a fixed last dimension`)
  const tensor = (x: Float64Array, rows: number): Tensor => ({
    name: input.name,
    datatype: input.datatype,
    shape: [rows, width],
    data: input.datatype === 'FP64' ? x.slice() : Float32Array.from(x),
  })
  const model: ExplainableModel = {
    width,
    outputs: options.outputs,
    ...(options.outputNames ? { outputNames: options.outputNames } : {}),
    async predict(x, rows) {
      const out = await infer([tensor(x, rows)], { outputs: [output] })
      const t = out.find((o) => o.name === output)
      if (!t) throw new Error(`model returned no "${output}" output`)
      return Float64Array.from(t.data as ArrayLike<number>)
    },
  }
  const gradients = options.gradients
  if (gradients) {
    model.gradients = async (x, rows, k) => {
      const [g] = await gradients([tensor(x, rows)], {
        output,
        ...(options.outputs > 1 ? { outputIndex: k } : {}),
      })
      if (!g) throw new Error('backend returned no gradients')
      return Float64Array.from(g.data as ArrayLike<number>)
    }
  }
  return model
}

/**
 * A model backend as an {@link ExplainableModel}; a tree backend (`@modelgate/backend-trees`)
 * keeps its ensemble so `tree_shap` works.
 *
 * @example
 * ```ts
 * const model = await modelFromBackend(createTreesBackend({ path: 'model.json' }), { output: 'margin' })
 * ```
 */
export async function modelFromBackend(
  backend: ModelBackend,
  options: { output?: string; input?: string } = {},
): Promise<ExplainableModel> {
  await backend.load?.()
  const meta = await backend.metadata()
  const input = options.input ? meta.inputs.find((i) => i.name === options.input) : meta.inputs[0]
  if (!input) throw new TypeError('the model has no such input')
  const out = options.output ? meta.outputs.find((o) => o.name === options.output) : meta.outputs[0]
  if (!out) throw new TypeError('the model has no such output')
  const ensemble = (backend as { ensemble?: () => TreeEnsemble }).ensemble?.()
  if (ensemble && (out.name === 'margin' || out.name === 'prediction'))
    return modelFromEnsemble(ensemble, out.name)
  const outputs =
    out.shape.length > 1 && out.shape[out.shape.length - 1]! > 0
      ? out.shape[out.shape.length - 1]!
      : 1
  return modelFromInfer((t, o) => backend.infer(t, o), {
    input,
    output: out.name,
    outputs,
    ...(backend.gradients ? { gradients: backend.gradients.bind(backend) } : {}),
  })
}

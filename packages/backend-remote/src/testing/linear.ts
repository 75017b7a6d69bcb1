import { BadRequestError } from '@modelgate/core'
import type { ModelBackend, ModelMetadata, Tensor } from '@modelgate/core'

/**
 * The fixed linear model the stand-in server computes by default: `y = x·W + b` with `x` an
 * `FP32 [-1, 3]` input and `y` an `FP32 [-1, 2]` output.
 *
 * @example
 * ```ts
 * LINEAR_MODEL.metadata.inputs[0].name // 'x'
 * LINEAR_MODEL.weights[2] // [-0.75, 1.5]
 * ```
 */
export const LINEAR_MODEL: {
  readonly metadata: ModelMetadata
  readonly weights: readonly (readonly number[])[]
  readonly bias: readonly number[]
} = Object.freeze({
  metadata: {
    platform: 'linear',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
  },
  weights: [
    [0.5, -1],
    [2, 0.25],
    [-0.75, 1.5],
  ],
  bias: [0.1, -0.2],
})

/**
 * Computes {@link LINEAR_MODEL} on decoded tensors, row by row, in plain JS.
 *
 * @example
 * ```ts
 * const [y] = linearCompute([{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array([1, 2, 3]) }])
 * Array.from(y.data) // [2.35, 3.8] as float32
 * ```
 */
export function linearCompute(inputs: Tensor[]): Tensor[] {
  const x = inputs.find((t) => t.name === 'x')
  if (!x || x.shape.length !== 2 || x.shape[1] !== 3)
    throw new BadRequestError('input "x" must be [n, 3]')
  const rows = x.shape[0]!
  const { weights, bias } = LINEAR_MODEL
  const y = new Float32Array(rows * 2)
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 2; j++) {
      let sum = bias[j]!
      for (let i = 0; i < 3; i++) sum += Number(x.data[r * 3 + i]) * weights[i]![j]!
      y[r * 2 + j] = sum
    }
  }
  return [{ name: 'y', datatype: 'FP32', shape: [rows, 2], data: y }]
}

/**
 * An in-process backend running {@link LINEAR_MODEL}: the reference the remote backend's answers
 * are compared with (gate → this backend versus gate → remote backend → stand-in server).
 *
 * @example
 * ```ts
 * const gate = createGate({ models: [{ name: 'linear', backend: createLinearBackend() }] })
 * ```
 */
export function createLinearBackend(): ModelBackend {
  return {
    metadata: async () => structuredClone(LINEAR_MODEL.metadata),
    ready: async () => true,
    infer: async (inputs) => linearCompute(inputs),
  }
}

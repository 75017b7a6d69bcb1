import { UnauthorizedError, type ModelBackend, type Plugin } from '@modelgate/core'

/** A model `sum = a + b` over rows of `x` ([-1, 2]) that counts how often it ran. */
export function countingAdder(): { backend: ModelBackend; calls: () => number } {
  let calls = 0
  const backend: ModelBackend = {
    async metadata() {
      return {
        platform: 'test',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'sum', datatype: 'FP32', shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      calls++
      const x = inputs[0]!.data as Float32Array
      const rows = inputs[0]!.shape[0]!
      return [
        {
          name: 'sum',
          datatype: 'FP32',
          shape: [rows, 1],
          data: Float32Array.from({ length: rows }, (_, r) => x[2 * r]! + x[2 * r + 1]!),
        },
      ]
    },
  }
  return { backend, calls: () => calls }
}

/** Lets through only `Authorization: Bearer t-1` (health checks pass). */
export const requireToken: Plugin = async function requireToken(ctx, next) {
  if (ctx.operation !== 'health' && ctx.requestHeaders.get('authorization') !== 'Bearer t-1')
    throw new UnauthorizedError()
  await next()
}

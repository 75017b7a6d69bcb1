import { describe, expect, it } from 'vitest'
import { MicroBatcher } from './batcher.js'
import type { ModelBackend, Tensor } from './types.js'

/** y = 2x per row; rows whose first value is negative make the whole call fail. */
function doublingBackend() {
  const calls: number[] = []
  const backend: Pick<ModelBackend, 'infer'> = {
    async infer(inputs: Tensor[]) {
      const x = inputs[0]!
      calls.push(x.shape[0]!)
      const width = x.shape[1]!
      for (let r = 0; r < x.shape[0]!; r++) {
        if ((x.data as Float32Array)[r * width]! < 0) throw new Error('negative row')
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
      const data = Float32Array.from(x.data as Float32Array, (v) => v * 2)
      return [{ name: 'y', datatype: 'FP32', shape: [...x.shape], data }]
    },
  }
  return { backend, calls }
}

const row = (values: number[]): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [1, values.length], data: new Float32Array(values) },
]

describe('MicroBatcher', () => {
  it('merges concurrent calls into one backend call and splits the outputs back', async () => {
    const { backend, calls } = doublingBackend()
    const batcher = new MicroBatcher(backend, { maxBatchSize: 16, maxDelayMs: 20 })
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.infer(row([i, i + 0.5]))),
    )
    expect(calls).toEqual([10])
    results.forEach((outputs, i) => {
      expect(outputs[0]!.shape).toEqual([1, 2])
      expect(Array.from(outputs[0]!.data as Float32Array)).toEqual([2 * i, 2 * i + 1])
    })
  })

  it('never exceeds maxBatchSize and forms the next batch while the model is busy', async () => {
    const { backend, calls } = doublingBackend()
    const batcher = new MicroBatcher(backend, { maxBatchSize: 4, maxDelayMs: 1 })
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.infer(row([i]))))
    expect(calls.reduce((a, b) => a + b, 0)).toBe(10)
    expect(Math.max(...calls)).toBeLessThanOrEqual(4)
    expect(calls.length).toBeLessThan(10)
  })

  it('fails only the caller whose rows fail', async () => {
    const { backend } = doublingBackend()
    const batcher = new MicroBatcher(backend, { maxBatchSize: 8, maxDelayMs: 10 })
    const settled = await Promise.allSettled([
      batcher.infer(row([1])),
      batcher.infer(row([-1])),
      batcher.infer(row([3])),
    ])
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(
      Array.from((settled[2] as PromiseFulfilledResult<Tensor[]>).value[0]!.data as Float32Array),
    ).toEqual([6])
  })

  it('keeps calls with different trailing shapes apart', async () => {
    const { backend, calls } = doublingBackend()
    const batcher = new MicroBatcher(backend, { maxBatchSize: 8, maxDelayMs: 5 })
    const [a, b] = await Promise.all([batcher.infer(row([1, 2])), batcher.infer(row([1, 2, 3]))])
    expect(a[0]!.shape).toEqual([1, 2])
    expect(b[0]!.shape).toEqual([1, 3])
    expect(calls.sort()).toEqual([1, 1])
  })

  it('refuses work past the queue limit with 503', async () => {
    const { backend } = doublingBackend()
    const batcher = new MicroBatcher(backend, {
      maxBatchSize: 1000,
      maxDelayMs: 50,
      maxQueueSize: 2,
    })
    const settled = await Promise.allSettled([1, 2, 3].map((v) => batcher.infer(row([v]))))
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect((settled[2] as PromiseRejectedResult).reason.status).toBe(503)
  })

  it('validates options', () => {
    const { backend } = doublingBackend()
    expect(() => new MicroBatcher(backend, { maxBatchSize: 0, maxDelayMs: 1 })).toThrow(TypeError)
    expect(() => new MicroBatcher(backend, { maxBatchSize: 2, maxDelayMs: -1 })).toThrow(TypeError)
  })
})

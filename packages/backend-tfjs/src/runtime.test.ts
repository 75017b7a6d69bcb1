import * as tf from '@tensorflow/tfjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { buildMlp, saveMlp } from '../test/fixtures.js'
import { activeTfjsBackend, createTfjsBackend, useTfjsBackend } from './index.js'

const missing = async (): Promise<never> => {
  throw new Error("Cannot find package '@tensorflow/tfjs-node'")
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('backend selection', () => {
  it('rejects an explicit "tensorflow" when @tensorflow/tfjs-node cannot be imported', async () => {
    expect(activeTfjsBackend()).toBeUndefined()
    await expect(useTfjsBackend('tensorflow', { tfjsNode: missing })).rejects.toThrow(
      /needs @tensorflow\/tfjs-node: it cannot be imported/,
    )
    expect(activeTfjsBackend()).toBeUndefined()
  })

  it('"auto" falls back to wasm when the tfjs-node import fails', async () => {
    expect(await useTfjsBackend('auto', { tfjsNode: missing })).toBe('wasm')
    expect(activeTfjsBackend()).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
  })

  it('"auto" skips a tfjs-node import that registers no "tensorflow" backend', async () => {
    expect(await useTfjsBackend('auto', { tfjsNode: async () => ({}) })).toBe('wasm')
  })

  it('falls back to cpu with a warning when wasm cannot start', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const broken = async (): Promise<never> => {
      throw new Error('no wasm here')
    }
    expect(await useTfjsBackend('wasm', { wasm: broken })).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/wasm backend cannot start \(no wasm here\); using the cpu backend/),
    )
  })

  it('"auto" picks "tensorflow" when the tfjs-node import succeeds, and models run on it', async () => {
    // Stands in for importing @tensorflow/tfjs-node: registers a backend named "tensorflow".
    const tfjsNode = async (): Promise<void> => {
      if (tf.findBackendFactory('tensorflow')) return
      tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!)
      for (const kernel of tf.getKernelsForBackend('cpu'))
        tf.registerKernel({ ...kernel, backendName: 'tensorflow' })
    }
    expect(await useTfjsBackend('auto', { tfjsNode })).toBe('tensorflow')
    expect(activeTfjsBackend()).toBe('tensorflow')
    expect(tf.getBackend()).toBe('tensorflow')

    const mlp = buildMlp(3)
    const path = await saveMlp(mlp)
    const backend = createTfjsBackend({ path, backend: 'tensorflow', inputNames: ['x'] })
    const [out] = await backend.infer([
      { name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) },
    ])
    const expected = tf.tidy(() => (mlp.predict(tf.tensor([[1, 2, 3, 4]])) as tf.Tensor).dataSync())
    expect(Array.from(out!.data as Float32Array)).toEqual(Array.from(expected))
    await backend.close!()
  })

  it('rejects an unknown backend name', async () => {
    await expect(useTfjsBackend('webgl' as 'cpu')).rejects.toThrow(TypeError)
  })
})

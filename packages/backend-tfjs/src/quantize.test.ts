import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildMlp, saveMlp, seeded, tempDir, writeGraphModel } from '../test/fixtures.js'
import { createTfjsBackend, fileIOHandler, quantizeTfjsModel, useTfjsBackend } from './index.js'

const random = seeded(5)
const x = tf.tensor2d(Float32Array.from({ length: 64 * 16 }, random), [64, 16])

beforeAll(async () => {
  await useTfjsBackend('cpu')
})

async function predict(modelJson: string): Promise<Float32Array> {
  const model = await tf.loadLayersModel(fileIOHandler(modelJson))
  const out = model.predict(x) as tf.Tensor
  const data = out.dataSync() as Float32Array
  tf.dispose([out])
  model.dispose()
  return data
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)
}

describe('quantizeTfjsModel', () => {
  let original: string
  let reference: Float32Array

  beforeAll(async () => {
    original = await saveMlp(buildMlp(11, [16, 64, 64, 4]))
    reference = await predict(original)
  })

  it.each([
    ['uint8', 0.25, 0.1],
    ['uint16', 0.5, 5e-4],
    ['float16', 0.5, 5e-3],
  ] as const)(
    '%s: stock TF.js loads the result and its outputs stay close',
    async (dtype, ratio, tolerance) => {
      const out = join(await tempDir(), dtype)
      const result = await quantizeTfjsModel({ in: original, out, dtype })

      const json = JSON.parse(await readFile(result.modelJson, 'utf8'))
      const specs = json.weightsManifest[0].weights
      for (const spec of specs) {
        expect(spec.dtype).toBe('float32')
        expect(spec.quantization.dtype).toBe(dtype)
        if (dtype !== 'float16') {
          expect(Number.isFinite(spec.quantization.scale)).toBe(true)
          expect(Number.isFinite(spec.quantization.min)).toBe(true)
        }
      }
      expect(result.weightBytes).toBe(result.originalWeightBytes * ratio)
      expect((await stat(join(out, 'weights.bin'))).size).toBe(result.weightBytes)

      const quantized = await predict(result.modelJson)
      expect(quantized.length).toBe(reference.length)
      expect(maxDiff(quantized, reference)).toBeLessThan(tolerance)
      expect(maxDiff(quantized, reference)).toBeGreaterThan(0)
    },
  )

  it('keeps zero exactly zero and reports the rounding error per weight', async () => {
    const result = await quantizeTfjsModel({
      in: original,
      out: join(await tempDir(), 'zeros'),
      dtype: 'uint8',
    })
    const model = await tf.loadLayersModel(fileIOHandler(result.modelJson))
    const biases = model.layers.map((l) => l.getWeights()[1]!.dataSync())
    const source = await tf.loadLayersModel(fileIOHandler(original))
    source.layers.forEach((layer, i) => {
      const expected = layer.getWeights()[1]!.dataSync()
      expected.forEach((v, j) => (v === 0 ? expect(biases[i]![j]).toBe(0) : undefined))
    })
    expect(result.weights).toHaveLength(6)
    for (const w of result.weights) {
      expect(w.dtype).toBe('uint8')
      expect(w.maxError).toBeGreaterThan(0)
      expect(w.maxError).toBeLessThan(0.01)
    }
  })

  it('keeps or re-types the weights named in overrides', async () => {
    const names: string[] = JSON.parse(
      await readFile(original, 'utf8'),
    ).weightsManifest[0].weights.map((w: { name: string }) => w.name)
    const [kernel1, bias1, kernel2] = names as [string, string, string]
    const result = await quantizeTfjsModel({
      in: original,
      out: join(await tempDir(), 'overrides'),
      dtype: 'uint8',
      overrides: { [kernel1]: 'float32', [bias1]: 'float16' },
    })
    const json = JSON.parse(await readFile(result.modelJson, 'utf8'))
    const byName = Object.fromEntries(
      json.weightsManifest[0].weights.map((w: { name: string }) => [w.name, w]),
    )
    expect(byName[kernel1].quantization).toBeUndefined()
    expect(byName[bias1].quantization).toEqual({ dtype: 'float16' })
    expect(byName[kernel2].quantization.dtype).toBe('uint8')
    expect(result.weights.find((w) => w.name === kernel1)!.dtype).toBe('float32')
    expect(maxDiff(await predict(result.modelJson), reference)).toBeLessThan(0.05)
  })

  it('quantises a graph model that the backend then serves', async () => {
    const path = await writeGraphModel()
    const result = await quantizeTfjsModel({
      in: path,
      out: join(await tempDir(), 'graph'),
      dtype: 'float16',
    })
    const backend = createTfjsBackend({ path: result.modelJson, backend: 'cpu' })
    await backend.load!()
    const [y] = await backend.infer(
      [
        { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array([1, 2, 3]) },
        { name: 'k', datatype: 'INT64', shape: [1, 1], data: new BigInt64Array([2n]) },
      ],
      { outputs: ['y_out'] },
    )
    // relu(x·W + b) with W = [[1, -1], [0.5, 2], [-0.5, 1]] and b = [0.1, -0.2]
    expect(Array.from(y!.data as Float32Array)).toEqual([
      expect.closeTo(0.6, 3),
      expect.closeTo(5.8, 3),
    ])
    await backend.close!()
  })

  it('rejects bad options and unknown override names', async () => {
    await expect(
      quantizeTfjsModel({ in: original, out: '/tmp/x', dtype: 'int4' as 'uint8' }),
    ).rejects.toThrow(/dtype/)
    await expect(quantizeTfjsModel({ in: '', out: '/tmp/x', dtype: 'uint8' })).rejects.toThrow(
      /model\.json/,
    )
    await expect(
      quantizeTfjsModel({
        in: original,
        out: join(await tempDir(), 'bad'),
        dtype: 'uint8',
        overrides: { 'no/such/weight': 'float16' },
      }),
    ).rejects.toThrow(/no\/such\/weight/)
  })
})

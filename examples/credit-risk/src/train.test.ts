import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { createTfjsBackend } from '@modelgate/backend-tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateApplications } from './data.js'
import { auc, encodeApplications, fileSaveHandler, trainCreditModel } from './train.js'
import type { TrainMetrics } from './train.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credit-risk-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('auc', () => {
  it('counts ordered pairs, ties as half', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75)
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5)
    expect(auc([0.9, 0.1], [0, 1])).toBe(0)
  })
})

describe('trainCreditModel', () => {
  it('is deterministic for a seed, and its saved files load through createTfjsBackend', async () => {
    const options = { rows: 1_000, epochs: 2, seed: 5 }
    const first = await trainCreditModel(options)
    const second = await trainCreditModel(options)
    expect(second.metrics).toEqual(first.metrics)
    expect(first.metrics.train_rows + first.metrics.test_rows).toBe(1_000)
    expect(first.metrics.columns).toHaveLength(14)

    await first.model.save(fileSaveHandler(dir))
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'))
    expect(manifest.weightsManifest[0].paths).toEqual(['weights.bin'])
    expect((await readFile(join(dir, 'weights.bin'))).byteLength).toBe(
      first.model.getWeights().reduce((n, w) => n + w.size * 4, 0),
    )

    const x = encodeApplications(generateApplications(20, 77))
    const inMemory = tf.tidy(() =>
      Array.from((first.model.predict(tf.tensor2d(x.data, x.shape)) as tf.Tensor).dataSync()),
    )
    const backend = createTfjsBackend({
      path: join(dir, 'model.json'),
      inputNames: ['features'],
      outputNames: ['default_probability'],
    })
    await backend.load!()
    try {
      const [out] = await backend.infer([
        { name: 'features', datatype: 'FP32', shape: x.shape, data: x.data },
      ])
      expect(out!.name).toBe('default_probability')
      expect(Array.from(out!.data as Float32Array)).toEqual(inMemory)
    } finally {
      await backend.close?.()
      first.model.dispose()
      second.model.dispose()
    }
  })

  it('produced the committed model: metrics.json matches the model files and beats chance clearly', async () => {
    const metrics = JSON.parse(
      await readFile(new URL('../model/metrics.json', import.meta.url), 'utf8'),
    ) as TrainMetrics
    expect(metrics.auc).toBeGreaterThan(0.75)
    expect(metrics.auc).toBeGreaterThan(metrics.ground_truth_auc - 0.03)
    expect(metrics.accuracy).toBeGreaterThan(1 - metrics.test_default_rate)
    const model = JSON.parse(
      await readFile(new URL('../model/model.json', import.meta.url), 'utf8'),
    )
    const layers = model.modelTopology.config.layers.map((l: { name: string }) => l.name)
    expect(layers).toEqual([
      'features',
      'standardize',
      'hidden_1',
      'hidden_2',
      'default_probability',
    ])
  })
})

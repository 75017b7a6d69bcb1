import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { fileSaveHandler } from '../src/index.js'

/** Deterministic numbers in [-1, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1
  }
}

/** A 4 → 8 (relu) → 2 (sigmoid) MLP with fixed weights. */
export function buildMlp(seed = 42, sizes: number[] = [4, 8, 2]): tf.Sequential {
  const random = seeded(seed)
  const model = tf.sequential()
  for (let i = 1; i < sizes.length; i++) {
    model.add(
      tf.layers.dense({
        units: sizes[i]!,
        activation: i === sizes.length - 1 ? 'sigmoid' : 'relu',
        ...(i === 1 ? { inputShape: [sizes[0]!] } : {}),
      }),
    )
  }
  model.setWeights(
    model.getWeights().map((w) => {
      const values = Float32Array.from({ length: w.size }, random)
      return tf.tensor(values, w.shape)
    }),
  )
  return model
}

export function tempDir(prefix = 'modelgate-tfjs-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** Saves `model` as model.json + weights.bin in a new temp directory; returns the model.json path. */
export async function saveMlp(model: tf.LayersModel): Promise<string> {
  const dir = await tempDir()
  await model.save(fileSaveHandler(dir))
  return join(dir, 'model.json')
}

export const GRAPH_W = [1, -1, 0.5, 2, -0.5, 1]
export const GRAPH_B = [0.1, -0.2]

/** Reference of the hand-written graph: y = relu(x·W + b) and z = y * k. */
export function graphReference(x: number[][], k: number[]): { y: number[][]; z: number[][] } {
  const y = x.map((row) =>
    [0, 1].map((j) =>
      Math.max(0, row.reduce((s, v, i) => s + v * GRAPH_W[i * 2 + j]!, 0) + GRAPH_B[j]!),
    ),
  )
  return { y, z: y.map((row, r) => row.map((v) => v * k[r]!)) }
}

/**
 * Writes a hand-made graph model (what the TF.js converter emits for a tiny TensorFlow graph):
 * inputs `x` float [-1, 3] and `k` int64 [-1, 1]; outputs `y_out` = relu(x·W + b) and `z` = y * k.
 */
export async function writeGraphModel(dir?: string): Promise<string> {
  const target = dir ?? (await tempDir())
  const f32 = { type: 'DT_FLOAT' }
  const dims = (...sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) })
  const modelJson = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: f32, shape: { shape: dims(-1, 3) } } },
        {
          name: 'k',
          op: 'Placeholder',
          attr: { dtype: { type: 'DT_INT64' }, shape: { shape: dims(-1, 1) } },
        },
        {
          name: 'w',
          op: 'Const',
          attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 2) } } },
        },
        {
          name: 'b',
          op: 'Const',
          attr: { dtype: f32, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(2) } } },
        },
        {
          name: 'mm',
          op: 'MatMul',
          input: ['x', 'w'],
          attr: { T: f32, transpose_a: { b: false }, transpose_b: { b: false } },
        },
        { name: 'add', op: 'AddV2', input: ['mm', 'b'], attr: { T: f32 } },
        { name: 'y', op: 'Relu', input: ['add'], attr: { T: f32 } },
        { name: 'y_out', op: 'Identity', input: ['y'], attr: { T: f32 } },
        { name: 'kf', op: 'Cast', input: ['k'], attr: { SrcT: { type: 'DT_INT64' }, DstT: f32 } },
        { name: 'z', op: 'Mul', input: ['y', 'kf'], attr: { T: f32 } },
      ],
      versions: { producer: 1395 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'w', shape: [3, 2], dtype: 'float32' },
          { name: 'b', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  }
  await writeFile(
    join(target, 'group1-shard1of1.bin'),
    new Uint8Array(new Float32Array([...GRAPH_W, ...GRAPH_B]).buffer),
  )
  await writeFile(join(target, 'model.json'), JSON.stringify(modelJson))
  return join(target, 'model.json')
}

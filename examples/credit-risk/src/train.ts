import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { FeatureSchema } from '@modelgate/core'
import { generateApplications, trueDefaultProbability } from './data.js'
import type { LabelledApplication, LoanApplication } from './data.js'
import { Random } from './random.js'
import { creditSchema, MODEL_INPUT, MODEL_OUTPUT } from './schema.js'

/**
 * Options of {@link trainCreditModel}.
 *
 * @example
 * ```ts
 * const opts: TrainOptions = { rows: 15_000, seed: 42, epochs: 30 }
 * ```
 */
export interface TrainOptions {
  /** Generated rows, train and test together. Default 15,000. */
  rows?: number
  /** Seeds the data, the split, the weight initialisers and the batch order. Default 42. */
  seed?: number
  /** Default 30. */
  epochs?: number
  /** Default 128. */
  batchSize?: number
  /** Share of rows held out for the metrics. Default 0.2. */
  testFraction?: number
  /** TF.js backend to train on. Default `wasm`, falling back to `cpu`. */
  backend?: 'wasm' | 'cpu'
}

/**
 * Held-out quality of a trained model, as written to `model/metrics.json`.
 *
 * @example
 * ```ts
 * const { metrics } = await trainCreditModel()
 * metrics.auc // about 0.79
 * ```
 */
export interface TrainMetrics {
  seed: number
  backend: string
  epochs: number
  train_rows: number
  test_rows: number
  /** Share of defaults in the test split. */
  test_default_rate: number
  auc: number
  /** At a 0.5 threshold. */
  accuracy: number
  log_loss: number
  /** AUC of the generator's own ground-truth probability on the same rows: the ceiling. */
  ground_truth_auc: number
  columns: string[]
}

/**
 * Encodes applications into the model's feature matrix exactly as the gate does for V1 records,
 * through the same {@link creditSchema}.
 *
 * @example
 * ```ts
 * const x = encodeApplications(generateApplications(10, 1)) // { shape: [10, 14], data: Float32Array }
 * ```
 */
export function encodeApplications(rows: Array<LoanApplication | LabelledApplication>): {
  shape: [number, number]
  data: Float32Array
} {
  const records = rows.map((r) => {
    const { default: _label, ...application } = r as LabelledApplication
    return application
  })
  const tensor = new FeatureSchema(creditSchema).encode(records, MODEL_INPUT)
  return { shape: tensor.shape as [number, number], data: tensor.data as Float32Array }
}

/**
 * Builds the credit MLP: a frozen element-wise standardisation `standardize` (`(x - mean) / std`
 * per feature, so callers send raw values), two ReLU layers of 16 units and a sigmoid output named
 * `default_probability`.
 *
 * `standardize` is a stock `BatchNormalization` layer used as a per-feature affine map: its `gamma`
 * holds `1 / std`, its `beta` `-mean / std`, and its moving mean and variance are fixed at 0 and
 * `1 - epsilon`. Its weights are two vectors of 14, not a 14 × 14 kernel, and any TF.js loads it.
 * Train the layers after it on standardised data: in training mode a
 * batch-normalisation layer uses the statistics of the batch.
 *
 * @example
 * ```ts
 * const model = buildCreditModel(mean, std, 42)
 * model.predict(tf.tensor2d([row])) // [[0.13]]
 * ```
 */
export function buildCreditModel(
  mean: Float32Array,
  std: Float32Array,
  seed: number,
): tf.LayersModel {
  const width = mean.length
  const input = tf.input({ shape: [width], name: MODEL_INPUT })
  const standardize = tf.layers.batchNormalization({
    name: 'standardize',
    trainable: false,
    epsilon: EPSILON,
  })
  const hidden1 = tf.layers.dense({
    units: 16,
    activation: 'relu',
    name: 'hidden_1',
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }),
  })
  const hidden2 = tf.layers.dense({
    units: 16,
    activation: 'relu',
    name: 'hidden_2',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }),
  })
  const output = tf.layers.dense({
    units: 1,
    activation: 'sigmoid',
    name: MODEL_OUTPUT,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
  })
  const out = output.apply(
    hidden2.apply(hidden1.apply(standardize.apply(input))),
  ) as tf.SymbolicTensor
  const model = tf.model({ inputs: input, outputs: out, name: 'credit_risk' })
  const { gamma, beta } = affineOf(mean, std)
  standardize.setWeights([
    tf.tensor1d(gamma),
    tf.tensor1d(beta),
    tf.zeros([width]),
    tf.fill([width], 1 - EPSILON),
  ])
  return model
}

/** `epsilon` of the standardisation layer; its moving variance is `1 - EPSILON`. */
const EPSILON = 1e-3

function affineOf(mean: Float32Array, std: Float32Array) {
  const gamma = Float32Array.from(std, (s) => 1 / s)
  const beta = Float32Array.from(mean, (m, i) => -m / std[i]!)
  return { gamma, beta }
}

/**
 * The model without its standardisation layer: input `standardized` → the trainable layers of a
 * {@link buildCreditModel} model (shared, so training it trains the full model).
 */
function trainableCore(model: tf.LayersModel): tf.LayersModel {
  const width = model.inputs[0]!.shape[1] as number
  const input = tf.input({ shape: [width], name: 'standardized' })
  let x: tf.SymbolicTensor = input
  for (const name of ['hidden_1', 'hidden_2', MODEL_OUTPUT])
    x = model.getLayer(name).apply(x) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: x, name: 'credit_risk_core' })
}

/** `x * (1 / std) - mean / std` per column, as the model's `standardize` layer computes it. */
function standardizeRows(x: tf.Tensor2D, mean: Float32Array, std: Float32Array): tf.Tensor2D {
  const { gamma, beta } = affineOf(mean, std)
  return tf.tidy(() => tf.add(tf.mul(x, tf.tensor1d(gamma)), tf.tensor1d(beta)) as tf.Tensor2D)
}

/**
 * Column means and standard deviations of the numeric features; one-hot columns keep mean 0 and
 * standard deviation 1 so they pass through the standardisation layer unchanged.
 */
function standardization(data: Float32Array, rows: number, width: number, numeric: number) {
  const mean = new Float32Array(width)
  const std = new Float32Array(width).fill(1)
  for (let c = 0; c < numeric; c++) {
    let sum = 0
    for (let r = 0; r < rows; r++) sum += data[r * width + c]!
    const m = sum / rows
    let sq = 0
    for (let r = 0; r < rows; r++) sq += (data[r * width + c]! - m) ** 2
    mean[c] = m
    std[c] = Math.sqrt(sq / rows) || 1
  }
  return { mean, std }
}

/**
 * Generates data, trains the credit model with a fixed seed and reports held-out metrics.
 * Deterministic for a seed and backend: seeded initialisers, a seeded split and batch order, no
 * dropout.
 *
 * @example
 * ```ts
 * const { model, metrics } = await trainCreditModel({ rows: 15_000, seed: 42 })
 * await model.save(fileSaveHandler('model'))
 * ```
 */
export async function trainCreditModel(
  options: TrainOptions = {},
): Promise<{ model: tf.LayersModel; metrics: TrainMetrics }> {
  const { rows = 15_000, seed = 42, epochs = 30, batchSize = 128, testFraction = 0.2 } = options
  const backend = await useBackend(options.backend ?? 'wasm')
  const all = new Random(seed).shuffle(generateApplications(rows, seed))
  const testRows = Math.round(rows * testFraction)
  const test = all.slice(0, testRows)
  const train = all.slice(testRows)

  const x = encodeApplications(train)
  const width = x.shape[1]
  const numeric = creditSchema.features.filter((f) => f.type === 'numeric').length
  const { mean, std } = standardization(x.data, train.length, width, numeric)
  const model = buildCreditModel(mean, std, seed)
  const core = trainableCore(model)
  core.compile({ optimizer: tf.train.adam(0.003), loss: 'binaryCrossentropy' })

  const raw = tf.tensor2d(x.data, x.shape)
  const xs = standardizeRows(raw, mean, std)
  raw.dispose()
  const ys = tf.tensor2d(
    Float32Array.from(train, (r) => r.default),
    [train.length, 1],
  )
  const order = new Random(seed + 1)
  for (let epoch = 0; epoch < epochs; epoch++) {
    const idx = tf.tensor1d(order.shuffle([...Array(train.length).keys()]), 'int32')
    const [ex, ey] = [tf.gather(xs, idx), tf.gather(ys, idx)]
    await core.fit(ex, ey, { epochs: 1, batchSize, shuffle: false, verbose: 0 })
    tf.dispose([idx, ex, ey])
  }
  tf.dispose([xs, ys])

  const xt = encodeApplications(test)
  const scores = tf.tidy(() =>
    (model.predict(tf.tensor2d(xt.data, xt.shape)) as tf.Tensor).dataSync(),
  )
  const labels = test.map((r) => r.default)
  let correct = 0
  let logLoss = 0
  for (let i = 0; i < test.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, scores[i]!))
    if (p >= 0.5 === (labels[i] === 1)) correct++
    logLoss -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p)
  }
  const metrics: TrainMetrics = {
    seed,
    backend,
    epochs,
    train_rows: train.length,
    test_rows: test.length,
    test_default_rate: round(labels.reduce<number>((a, b) => a + b, 0) / test.length),
    auc: round(auc(Array.from(scores), labels)),
    accuracy: round(correct / test.length),
    log_loss: round(logLoss / test.length),
    ground_truth_auc: round(auc(test.map(trueDefaultProbability), labels)),
    columns: new FeatureSchema(creditSchema).columns,
  }
  return { model, metrics }
}

async function useBackend(name: 'wasm' | 'cpu'): Promise<string> {
  if (name === 'wasm' && (await tf.setBackend('wasm').catch(() => false))) return 'wasm'
  await tf.setBackend('cpu')
  return 'cpu'
}

/**
 * Area under the ROC curve (the probability that a random positive scores above a random
 * negative), with ties counted half.
 *
 * @example
 * ```ts
 * auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) // 0.75
 * ```
 */
export function auc(scores: number[], labels: number[]): number {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0])
  let positives = 0
  let rankSum = 0
  for (let i = 0; i < order.length;) {
    let j = i
    while (j < order.length && order[j]![0] === order[i]![0]) j++
    const rank = (i + 1 + j) / 2
    for (let k = i; k < j; k++) {
      if (order[k]![1] === 1) {
        positives++
        rankSum += rank
      }
    }
    i = j
  }
  const negatives = order.length - positives
  if (positives === 0 || negatives === 0) return NaN
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000
}

/**
 * A TF.js save handler that writes `model.json` (topology plus a `weightsManifest`) and one
 * `weights.bin` into `dir`, the layout `tf.loadLayersModel` and `createTfjsBackend` read.
 * Pure TF.js cannot save to `file://` URLs; this is the few lines it takes.
 *
 * @example
 * ```ts
 * await model.save(fileSaveHandler('examples/credit-risk/model'))
 * ```
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    const weights = artifacts.weightData ?? new ArrayBuffer(0)
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(weights))
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology!,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      ...(artifacts.userDefinedMetadata
        ? { userDefinedMetadata: artifacts.userDefinedMetadata }
        : {}),
    }
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`)
    await writeFile(join(dir, 'weights.bin'), bytes)
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) }
  })
}

import * as tf from '@tensorflow/tfjs'
import type { TfjsIOHandler } from './types.js'

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/**
 * A TF.js load handler that reads a `model.json` and its weight shards from disk with `node:fs`,
 * which pure TF.js cannot do. Shard paths in the weights manifest are resolved relative to the
 * `model.json`; a path that is absolute, carries a scheme, or leads outside the model's directory
 * (also through a symbolic link) is refused.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs'
 * import { fileIOHandler } from '@modelgate/backend-tfjs'
 *
 * const model = await tf.loadLayersModel(fileIOHandler('./models/credit/model.json'))
 * ```
 */
export function fileIOHandler(modelJson: string | URL): TfjsIOHandler {
  return {
    async load() {
      const fs = await import('node:fs/promises')
      const file = await toPath(modelJson)
      let json: unknown
      try {
        json = JSON.parse(await fs.readFile(file, 'utf8'))
      } catch (error) {
        if (error instanceof SyntaxError) throw new Error(`${file} is not valid JSON`)
        throw error
      }
      if (!isObject(json) || !isObject(json.modelTopology)) {
        throw new Error(`${file} is not a TF.js model.json (no "modelTopology")`)
      }
      return tf.io.getModelArtifactsForJSON(json as unknown as tf.io.ModelJSON, (manifest) =>
        readWeights(file, manifest),
      )
    },
  }
}

/**
 * A TF.js save handler that writes `model.json` and one `weights.bin` into a directory (created
 * when missing), the layout {@link fileIOHandler} and `createTfjsBackend({ path })` read.
 *
 * @example
 * ```ts
 * import { fileSaveHandler } from '@modelgate/backend-tfjs'
 *
 * await model.save(fileSaveHandler('./models/credit'))
 * ```
 */
export function fileSaveHandler(directory: string): TfjsIOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    const fs = await import('node:fs/promises')
    const path = await import('node:path')
    await fs.mkdir(directory, { recursive: true })
    const weights = artifacts.weightData
      ? new tf.io.CompositeArrayBuffer(artifacts.weightData).slice()
      : undefined
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology!,
      ...(artifacts.format !== undefined ? { format: artifacts.format } : {}),
      ...(artifacts.generatedBy !== undefined ? { generatedBy: artifacts.generatedBy } : {}),
      ...(artifacts.convertedBy != null ? { convertedBy: artifacts.convertedBy } : {}),
      ...(artifacts.trainingConfig !== undefined
        ? { trainingConfig: artifacts.trainingConfig }
        : {}),
      ...(artifacts.signature !== undefined ? { signature: artifacts.signature } : {}),
      ...(artifacts.userDefinedMetadata !== undefined
        ? { userDefinedMetadata: artifacts.userDefinedMetadata }
        : {}),
      weightsManifest: weights
        ? [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }]
        : [],
    }
    if (weights) await fs.writeFile(path.join(directory, 'weights.bin'), new Uint8Array(weights))
    await fs.writeFile(path.join(directory, 'model.json'), JSON.stringify(modelJson))
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) }
  })
}

let routerRegistered = false

/**
 * Lets `tf.loadLayersModel` and `tf.loadGraphModel` take `file://` URLs and plain paths, through
 * {@link fileIOHandler}. Registers a TF.js load router once per process; does nothing when another
 * router (such as `@tensorflow/tfjs-node`'s) already serves `file://`. `createTfjsBackend` does not
 * need it.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs'
 * import { registerFileLoader } from '@modelgate/backend-tfjs'
 *
 * registerFileLoader()
 * const model = await tf.loadGraphModel('file:///srv/models/detector/model.json')
 * ```
 */
export function registerFileLoader(): void {
  if (routerRegistered) return
  routerRegistered = true
  if (tf.io.getLoadHandlers('file:///model.json').length > 0) return
  const route = (url: string | string[]): tf.io.IOHandler | null =>
    typeof url === 'string' && (url.startsWith('file://') || !SCHEME.test(url))
      ? fileIOHandler(url)
      : null
  tf.io.registerLoadRouter(route as (url: string | string[]) => tf.io.IOHandler)
}

async function toPath(target: string | URL): Promise<string> {
  const { fileURLToPath } = await import('node:url')
  const { resolve } = await import('node:path')
  if (target instanceof URL || target.startsWith('file://')) return fileURLToPath(target)
  return resolve(target)
}

async function readWeights(
  modelJsonFile: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const fs = await import('node:fs/promises')
  const path = await import('node:path')
  if (!Array.isArray(manifest))
    throw new Error(`${modelJsonFile}: "weightsManifest" must be an array`)
  const directory = await fs.realpath(path.dirname(modelJsonFile))
  const inside = (candidate: string): boolean => {
    const relative = path.relative(directory, candidate)
    return (
      relative !== '' &&
      relative !== '..' &&
      !relative.startsWith(`..${path.sep}`) &&
      !path.isAbsolute(relative)
    )
  }
  const specs: tf.io.WeightsManifestEntry[] = []
  const shards: Uint8Array[] = []
  for (const group of manifest) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new Error(
        `${modelJsonFile}: every weights manifest group needs "paths" and "weights" arrays`,
      )
    }
    for (const shard of group.paths as unknown[]) {
      if (typeof shard !== 'string' || shard === '' || shard.includes('\0')) {
        throw new Error(`${modelJsonFile}: weight paths must be non-empty strings`)
      }
      const label = JSON.stringify(shard.slice(0, 200))
      if (SCHEME.test(shard) || path.isAbsolute(shard) || path.win32.isAbsolute(shard)) {
        throw new Error(`${modelJsonFile}: weight path ${label} must be relative to model.json`)
      }
      const file = path.resolve(directory, shard)
      if (!inside(file) || !inside(await fs.realpath(file))) {
        throw new Error(`${modelJsonFile}: weight path ${label} leads outside the model directory`)
      }
      shards.push(await fs.readFile(file))
    }
    specs.push(...(group.weights as tf.io.WeightsManifestEntry[]))
  }
  const total = shards.reduce((n, s) => n + s.byteLength, 0)
  const weights = new Uint8Array(total)
  let offset = 0
  for (const shard of shards) {
    weights.set(shard, offset)
    offset += shard.byteLength
  }
  return [specs, weights.buffer]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

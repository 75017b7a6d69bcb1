import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, normalize, relative } from 'node:path'
import type { Redis } from 'ioredis'
import type { QueueTarget } from './connection.js'

/** Blobs expire this long after they were last written or read (a batch's lifetime bound). */
export const BLOB_TTL_SECONDS = 7 * 24 * 3600

/**
 * A file of a model, by content: its path relative to the model's main file and its SHA-256.
 *
 * @example
 * ```ts
 * const f: BlobFile = { name: 'weights.bin', sha256: '9f86d0…', bytes: 2340 }
 * ```
 */
export interface BlobFile {
  name: string
  sha256: string
  bytes: number
}

/**
 * A model by content hash: its files (one for ONNX, XGBoost and LightGBM; `model.json` and its
 * weight shards for TF.js), the file to load, and `sha256`, the hash of the sorted file list
 * (so two byte-identical models have one hash wherever their files were).
 *
 * @example
 * ```ts
 * const ref: ModelRef = { sha256: 'c0ffee…', main: 'model.json', files: [{ name: 'model.json', sha256: '…', bytes: 3271 }] }
 * ```
 */
export interface ModelRef {
  sha256: string
  main: string
  files: BlobFile[]
}

/**
 * The SHA-256 of bytes, in hex.
 *
 * @example
 * ```ts
 * sha256(Buffer.from('abc')) // 'ba7816bf…'
 * ```
 */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The Redis key of a blob: inside the tenant's key space.
 *
 * @example
 * ```ts
 * blobKey(target, sha) // 'modelgate:acme:blob:9f86d0…'
 * ```
 */
export function blobKey(target: Pick<QueueTarget, 'prefix' | 'queue'>, hash: string): string {
  return `${target.prefix}:${target.queue}:blob:${hash}`
}

/**
 * Stores bytes under their hash (written once, then only their expiry is refreshed); returns it.
 *
 * @example
 * ```ts
 * const hash = await putBlob(client, target, Buffer.from(JSON.stringify(backgroundRows)))
 * ```
 */
export async function putBlob(
  client: Redis,
  target: QueueTarget,
  bytes: Uint8Array,
): Promise<string> {
  const hash = sha256(bytes)
  const key = blobKey(target, hash)
  const stored = await client.set(key, Buffer.from(bytes), 'EX', BLOB_TTL_SECONDS, 'NX')
  if (stored === null) await client.expire(key, BLOB_TTL_SECONDS)
  return hash
}

/**
 * Reads a blob and checks its hash; a missing or altered blob is an error naming the hash.
 *
 * @example
 * ```ts
 * const rows = JSON.parse((await getBlob(client, target, hash)).toString('utf8'))
 * ```
 */
export async function getBlob(
  client: Redis,
  target: Pick<QueueTarget, 'prefix' | 'queue'>,
  hash: string,
): Promise<Buffer> {
  const key = blobKey(target, hash)
  const bytes = await client.getBuffer(key)
  if (bytes === null)
    throw new BlobError(`blob ${hash.slice(0, 12)} is not in Redis (expired or never stored)`)
  if (sha256(bytes) !== hash)
    throw new BlobError(`blob ${hash.slice(0, 12)} does not match its hash`)
  await client.expire(key, BLOB_TTL_SECONDS)
  return bytes
}

/**
 * A blob that cannot be had: retrying the chunk does not help.
 *
 * @example
 * ```ts
 * if (error instanceof BlobError) console.error(error.message)
 * ```
 */
export class BlobError extends Error {
  override name = 'BlobError'
}

/**
 * The files a model file needs: itself, and for a TF.js `model.json` the weight shards its
 * `weightsManifest` names (relative paths that stay inside the model's directory).
 *
 * @example
 * ```ts
 * await modelFiles('model/model.json') // ['model/model.json', 'model/weights.bin']
 * ```
 */
export async function modelFiles(path: string): Promise<string[]> {
  const files = [path]
  if (!path.toLowerCase().endsWith('.json')) return files
  let doc: { modelTopology?: unknown; weightsManifest?: Array<{ paths?: string[] }> }
  try {
    doc = JSON.parse(await readFile(path, 'utf8')) as typeof doc
  } catch {
    return files
  }
  if (!doc || typeof doc !== 'object' || !('modelTopology' in doc)) return files
  for (const group of doc.weightsManifest ?? []) {
    for (const shard of group.paths ?? []) {
      const file = normalize(join(dirname(path), shard))
      if (relative(dirname(path), file).startsWith('..'))
        throw new TypeError(`${path}: weight path "${shard}" leaves the model's directory`)
      files.push(file)
    }
  }
  return files
}

/**
 * Stores a model's files as blobs and returns its {@link ModelRef}.
 *
 * @example
 * ```ts
 * const ref = await putModel(client, target, 'xgb.json')
 * ```
 */
export async function putModel(
  client: Redis,
  target: QueueTarget,
  path: string,
): Promise<ModelRef> {
  const files: BlobFile[] = []
  const root = dirname(path)
  for (const file of await modelFiles(path)) {
    const bytes = await readFile(file)
    files.push({
      name: relative(root, file),
      sha256: await putBlob(client, target, bytes),
      bytes: bytes.length,
    })
  }
  const main = basename(path)
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : 1))
  return { sha256: sha256(JSON.stringify({ main, files: sorted })), main, files }
}

/**
 * Makes a model's files present under `cacheDir/<model hash>/` (fetched from Redis once per
 * machine, each file checked against its hash) and returns the path of its main file.
 *
 * @example
 * ```ts
 * const path = await materialiseModel(client, target, ref, '/var/cache/modelgate')
 * ```
 */
export async function materialiseModel(
  client: Redis,
  target: Pick<QueueTarget, 'prefix' | 'queue'>,
  ref: ModelRef,
  cacheDir: string,
): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(ref.sha256)) throw new BlobError('bad model hash')
  const dir = join(cacheDir, ref.sha256)
  const main = join(dir, ref.main)
  if (await exists(join(dir, '.complete'))) return main
  const temp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    for (const file of ref.files) {
      const target_ = normalize(join(temp, file.name))
      if (relative(temp, target_).startsWith('..'))
        throw new BlobError(`bad file name ${file.name}`)
      await mkdir(dirname(target_), { recursive: true, mode: 0o700 })
      await writeFile(target_, await getBlob(client, target, file.sha256))
    }
    await writeFile(join(temp, '.complete'), '')
    await mkdir(cacheDir, { recursive: true, mode: 0o700 })
    await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another thread or process of this machine got there first: its copy is the same bytes.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    })
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
  return main
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

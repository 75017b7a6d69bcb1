import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildMlp, saveMlp, tempDir, writeGraphModel } from '../test/fixtures.js'
import { fileIOHandler, registerFileLoader, useTfjsBackend } from './index.js'

const x = [[0.5, -1, 2, 0.25]]

beforeAll(async () => {
  await useTfjsBackend('wasm')
})

describe('fileSaveHandler + fileIOHandler', () => {
  it('round-trips a layers model through model.json and weights.bin', async () => {
    const model = buildMlp()
    const path = await saveMlp(model)
    const json = JSON.parse(await readFile(path, 'utf8'))
    expect(json.format).toBe('layers-model')
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin'])

    const loaded = await tf.loadLayersModel(fileIOHandler(path))
    const expected = (model.predict(tf.tensor(x)) as tf.Tensor).dataSync()
    const actual = (loaded.predict(tf.tensor(x)) as tf.Tensor).dataSync()
    expect(Array.from(actual)).toEqual(Array.from(expected))
  })

  it('makes file:// URLs and plain paths loadable once registerFileLoader() ran', async () => {
    const path = await saveMlp(buildMlp(7))
    registerFileLoader()
    registerFileLoader()
    const fromUrl = await tf.loadLayersModel(pathToFileURL(path).href)
    const fromPath = await tf.loadLayersModel(path)
    const a = (fromUrl.predict(tf.tensor(x)) as tf.Tensor).dataSync()
    const b = (fromPath.predict(tf.tensor(x)) as tf.Tensor).dataSync()
    expect(a.length).toBe(2)
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(tf.io.getLoadHandlers('https://example.com/model.json')).toHaveLength(1)
  })
})

describe('weights manifest paths', () => {
  async function withShard(shard: string): Promise<string> {
    const dir = join(await tempDir(), 'model')
    await mkdir(dir)
    const path = await writeGraphModel(dir)
    const json = JSON.parse(await readFile(path, 'utf8'))
    json.weightsManifest[0].paths = [shard]
    await writeFile(path, JSON.stringify(json))
    return path
  }

  it('refuses a path that climbs out of the model directory', async () => {
    const path = await withShard('../group1-shard1of1.bin')
    await writeFile(join(dirname(path), '..', 'group1-shard1of1.bin'), new Uint8Array(32))
    await expect(fileIOHandler(path).load!()).rejects.toThrow(/leads outside the model directory/)
  })

  it('refuses absolute paths and URLs', async () => {
    await expect(fileIOHandler(await withShard('/etc/passwd')).load!()).rejects.toThrow(
      /must be relative/,
    )
    await expect(fileIOHandler(await withShard('file:///etc/passwd')).load!()).rejects.toThrow(
      /must be relative/,
    )
    await expect(
      fileIOHandler(await withShard('https://example.com/w.bin')).load!(),
    ).rejects.toThrow(/must be relative/)
  })

  it('refuses a symbolic link that points outside the model directory', async () => {
    const outside = await tempDir()
    await writeFile(join(outside, 'secret.bin'), new Uint8Array(32))
    const path = await withShard('link.bin')
    await symlink(join(outside, 'secret.bin'), join(dirname(path), 'link.bin'))
    await expect(fileIOHandler(path).load!()).rejects.toThrow(/leads outside the model directory/)
  })

  it('reads shards from subdirectories of the model directory', async () => {
    const path = await withShard('shards/group1-shard1of1.bin')
    await mkdir(join(dirname(path), 'shards'))
    await writeFile(
      join(dirname(path), 'shards', 'group1-shard1of1.bin'),
      await readFile(join(dirname(path), 'group1-shard1of1.bin')),
    )
    const artifacts = await fileIOHandler(path).load!()
    expect(artifacts.weightSpecs!.map((w) => w.name)).toEqual(['w', 'b'])
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(32)
  })

  it('rejects a JSON file that is not a TF.js model', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'model.json'), '{"hello": 1}')
    await expect(fileIOHandler(join(dir, 'model.json')).load!()).rejects.toThrow(
      /not a TF.js model.json/,
    )
    await writeFile(join(dir, 'model.json'), '{"hello"')
    await expect(fileIOHandler(join(dir, 'model.json')).load!()).rejects.toThrow(/not valid JSON/)
  })
})

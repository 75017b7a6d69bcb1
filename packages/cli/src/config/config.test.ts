import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { buildGate } from './build.js'
import { loadGateConfig } from './load.js'
import { pluginFactories, type PluginRegistry } from './plugins.js'
import { parseGateConfig } from './schema.js'
import type { GateConfig } from './types.js'

const mlp = fileURLToPath(new URL('../../../testkit/fixtures/mlp.onnx', import.meta.url))
let dir: string
let plugins: PluginRegistry

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-config-'))
  await mkdir(join(dir, 'models'))
  await copyFile(mlp, join(dir, 'models', 'mlp.onnx'))
  const pluginModule = join(dir, 'plugins.mjs')
  await writeFile(
    pluginModule,
    `import { readFileSync } from 'node:fs'
export function stamp(options) {
  if (typeof options.value !== 'string') throw new TypeError('stamp: "value" must be a string')
  const suffix = options.file ? readFileSync(options.file, 'utf8').trim() : ''
  return async function stamp(ctx, next) {
    await next()
    ctx.headers.set('x-stamp', options.value + suffix)
  }
}
`,
  )
  await writeFile(join(dir, 'suffix.txt'), '-from-file\n')
  plugins = {
    ...pluginFactories,
    stamp: { package: pathToFileURL(pluginModule).href, export: 'stamp', files: ['file'] },
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const full: GateConfig = {
  name: 'risk-gate',
  models: [
    {
      name: 'credit',
      version: '2',
      backend: { type: 'onnx', path: 'models/mlp.onnx', runtime: 'node', intraOpNumThreads: 1 },
      schema: {
        input: 'features',
        features: [
          { name: 'income', type: 'numeric', min: 0 },
          { name: 'debt', type: 'numeric', missing: 0 },
          {
            name: 'purpose',
            type: 'categorical',
            categories: ['car', 'home'],
            encoding: 'one_hot',
          },
          { name: 'email', type: 'passthrough', pii: 'EMAIL_ADDRESS' },
        ],
        unknownFields: 'reject',
        outputNames: { probabilities: ['reject', 'accept'] },
      },
      batching: { maxBatchSize: 16, maxDelayMs: 1, maxQueueSize: 100 },
      labels: { owner: 'risk' },
    },
    {
      name: 'tf',
      backend: { type: 'tfjs', path: 'models/model.json', backend: 'cpu', inputNames: ['x'] },
    },
    {
      name: 'upstream',
      backend: {
        type: 'remote',
        url: 'http://127.0.0.1:9000',
        protocol: 'v2',
        model: 'm',
        timeoutMs: 500,
        retries: 0,
        headers: { authorization: 'Bearer x' },
      },
    },
  ],
  plugins: [],
  limits: { maxBodyBytes: 1 << 20, maxJsonDepth: 16, maxTensorElements: 4096, maxRecords: 100 },
  server: { host: '0.0.0.0', port: 9090, runtime: 'edge' },
}

function problemsOf(value: unknown, registries = {}): string {
  try {
    parseGateConfig(value, registries)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(2)
    return (error as Error).message
  }
  throw new Error('expected the config to be rejected')
}

describe('parseGateConfig', () => {
  it('accepts the full form and keeps it as written', () => {
    expect(parseGateConfig(full)).toEqual(full)
  })

  it('reports every problem, one line each, with its field path', () => {
    const message = problemsOf({
      models: [
        {
          name: 'm',
          backend: { type: 'remote', url: 'ftp://host', protocol: 'grpc', model: 'm' },
          batching: { maxBatchSize: 0, maxDelayMs: 1, linger: true },
        },
      ],
      server: { runtime: 'lambda' },
    })
    expect(message.split('\n')).toEqual([
      'invalid config: models[0].backend.url: expected an http or https URL',
      'invalid config: models[0].backend.protocol: expected one of v2, v1, tfserving',
      'invalid config: models[0].batching.maxBatchSize: expected a number > 0',
      'invalid config: models[0].batching.linger: unknown key',
      'invalid config: server.runtime: expected one of cloud, edge',
    ])
  })

  it('names a missing required field', () => {
    expect(problemsOf({ models: [{ name: 'm', backend: { type: 'onnx' } }] })).toBe(
      'invalid config: models[0].backend.path: required',
    )
  })

  it('checks plugin names against the registry it is given', () => {
    const config = { ...full, plugins: [{ use: 'stamp', value: 'a' }] }
    expect(problemsOf(config)).toBe(
      'invalid config: plugins[0].use: unknown plugin "stamp" (known: audit, metrics, tracing, decrypt, authenticate, authorize, rateLimit, mask, explain, sign, encrypt, llm)',
    )
    expect(parseGateConfig(config, { plugins }).plugins).toEqual([{ use: 'stamp', value: 'a' }])
  })
})

describe('loadGateConfig and buildGate', () => {
  it('resolves paths against the config directory and serves the model', async () => {
    const file = join(dir, 'gate.json')
    await writeFile(
      file,
      JSON.stringify({
        models: [{ name: 'm', backend: { type: 'onnx', path: 'models/mlp.onnx' } }],
        plugins: [{ use: 'stamp', value: 'ok', file: 'suffix.txt' }],
      }),
    )
    const config = await loadGateConfig(file, { plugins })
    const gate = await buildGate(config, dir, { plugins })
    try {
      await gate.ready()
      const res = await gate.fetch(
        new Request('http://gate/v2/models/m/infer', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }],
          }),
        }),
      )
      expect(res.status).toBe(200)
      expect(res.headers.get('x-stamp')).toBe('ok-from-file')
      expect((await res.json()).outputs.map((o: { name: string }) => o.name)).toEqual([
        'probabilities',
        'label',
      ])
    } finally {
      await gate.close()
    }
  })

  it('turns a plugin factory that rejects its options into a config error', async () => {
    const config = parseGateConfig(
      { ...full, models: [full.models[0]!], plugins: [{ use: 'stamp', value: 42 }] },
      { plugins },
    )
    const error = await buildGate(config, dir, { plugins }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(
      'invalid config: plugins[0] (stamp): stamp: "value" must be a string',
    )
  })

  it('turns a model the gate refuses into a config error', async () => {
    const twice = {
      models: [
        { name: 'm', backend: { type: 'onnx', path: 'models/mlp.onnx' } },
        { name: 'm', backend: { type: 'onnx', path: 'models/mlp.onnx' } },
      ],
    }
    const error = await buildGate(twice, dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(/^invalid config: model "m" .*registered twice/)
  })

  it('names a model file that is missing, before loading anything', async () => {
    const config = { models: [{ name: 'm', backend: { type: 'onnx', path: 'models/none.onnx' } }] }
    await expect(buildGate(config, dir)).rejects.toThrow(
      `invalid config: models[0].backend.path: file not found: ${join(dir, 'models', 'none.onnx')}`,
    )
  })
})

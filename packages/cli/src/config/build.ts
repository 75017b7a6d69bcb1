import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  createGate,
  type Gate,
  type ModelBackend,
  type ModelEntry,
  type Plugin,
} from '@modelgate/core'
import { CliError, ConfigError } from '../errors.js'
import { upstreamOf, type BackendRegistry } from './backends.js'
import { withDefaults, type ConfigRegistries } from './registries.js'
import { importFunction, importPackage, messageOf } from './modules.js'
import { mapPath } from './paths.js'
import type { GateStores, PluginFactory } from './plugins.js'
import { parseGateConfig } from './schema.js'
import type { GateConfig, PluginConfig, StoresConfig } from './types.js'

/**
 * Builds a gate from a config: validates it, creates the plugins (each factory checks its own
 * options), checks that every model file exists, creates the backends and calls `createGate`.
 * Relative paths resolve against `baseDir`. Models start loading at once; await `gate.ready()`
 * before serving.
 *
 * @throws {ConfigError} for an invalid config, an unknown plugin, a plugin factory that rejects
 *   its options, a missing model file or a model the gate refuses.
 * @example
 * ```ts
 * import { buildGate, loadGateConfig } from '@modelgate/cli'
 *
 * const gate = await buildGate(
 *   { models: [{ name: 'm', backend: { type: 'onnx', path: 'm.onnx' } }] },
 *   '/srv/models',
 * )
 * await gate.ready()
 * const res = await gate.fetch(new Request('http://gate/v2/health/ready'))
 * ```
 */
export async function buildGate(
  config: GateConfig,
  baseDir: string,
  registries: ConfigRegistries = {},
): Promise<Gate> {
  const { backends, plugins: pluginRefs } = withDefaults(registries)
  const valid = parseGateConfig(config, { backends, plugins: pluginRefs })

  const closers: Array<() => Promise<void> | void> = []
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.allSettled([close()])
  }
  const plugins: Plugin[] = []
  const llmModels = await largeModels(valid, backends, baseDir)
  const pluginList = pluginEntries(valid, llmModels.length > 0)
  try {
    const stores = valid.stores?.redis ? await redisStores(valid.stores.redis, closers) : undefined
    for (const { entry, field } of pluginList) {
      const { use, ...raw } = entry
      const ref = pluginRefs[use]!
      const factory = await importFunction<PluginFactory>(ref.package, ref.export, `${field}.use`)
      let plugin: Plugin
      try {
        let options = raw
        for (const path of ref.files ?? []) {
          options = await mapPath(options, path, async (v) =>
            typeof v === 'string' ? resolve(baseDir, v) : v,
          )
        }
        for (const path of ref.jsonFiles ?? []) {
          options = await mapPath(options, path, async (v, at) =>
            typeof v === 'string' ? readJsonFile(resolve(baseDir, v), at) : v,
          )
        }
        if (ref.prepare) {
          options = await ref.prepare(options, {
            baseDir,
            field,
            ...(stores ? { stores } : {}),
            onClose: (close) => void closers.push(close),
          })
        }
        if (use === 'llm') {
          const listed = Array.isArray(options.models) ? options.models : []
          options = { ...options, models: [...listed, ...llmModels] }
        }
        plugin = factory(options)
      } catch (error) {
        if (error instanceof CliError) throw error
        throw new ConfigError(`invalid config: ${field} (${use}): ${messageOf(error)}`, {
          cause: error,
        })
      }
      if (typeof plugin !== 'function') {
        throw new CliError(`${field} (${use}): the factory did not return a plugin function`, 1)
      }
      plugins.push(plugin)
    }
  } catch (error) {
    await closeAll()
    throw error
  }

  const resolved = valid.models.flatMap((model, i) => {
    const type = backends[model.backend.type]!
    if (type.llm) return []
    const { type: _type, ...raw } = model.backend
    return [{ model, i, type, options: resolveFiles(raw, type.files ?? [], baseDir) }]
  })
  for (const { i, type, options } of resolved) {
    for (const key of type.files ?? []) {
      const file = options[key]
      if (typeof file === 'string') await requireFile(file, `models[${i}].backend.${key}`)
    }
  }

  const entries: ModelEntry[] = []
  const created: ModelBackend[] = []
  try {
    for (const { model, i, type, options } of resolved) {
      const field = `models[${i}].backend`
      let backend: ModelBackend
      try {
        backend = await type.create(options, { baseDir, model: model.name, field })
      } catch (error) {
        if (error instanceof CliError) throw error
        throw new ConfigError(`invalid config: ${field}: ${messageOf(error)}`, { cause: error })
      }
      created.push(backend)
      entries.push({
        name: model.name,
        ...(model.version !== undefined ? { version: model.version } : {}),
        backend,
        ...(model.schema ? { schema: model.schema } : {}),
        ...(model.batching ? { batching: model.batching } : {}),
        ...(model.labels ? { labels: model.labels } : {}),
      })
    }
    let gate: Gate
    try {
      gate = createGate({
        models: entries,
        plugins,
        ...(valid.limits ? { limits: valid.limits } : {}),
        ...(valid.name ? { name: valid.name } : {}),
      })
    } catch (error) {
      throw new ConfigError(`invalid config: ${messageOf(error)}`, { cause: error })
    }
    return {
      ...gate,
      async close() {
        await gate.close()
        await closeAll()
      },
    }
  } catch (error) {
    await Promise.allSettled(created.map((b) => b.close?.()))
    await closeAll()
    throw error
  }
}

/**
 * The config's `openai` and `anthropic` models as `@modelgate/llm` takes them (key files read),
 * served by the `llm` plugin rather than created as backends.
 */
async function largeModels(
  config: GateConfig,
  backends: BackendRegistry,
  baseDir: string,
): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = []
  for (const [i, model] of config.models.entries()) {
    const type = backends[model.backend.type]!
    if (!type.llm) continue
    const field = `models[${i}]`
    for (const key of ['version', 'schema', 'batching'] as const) {
      if (model[key] !== undefined)
        throw new ConfigError(`invalid config: ${field}.${key}: not for ${type.llm} models`)
    }
    const { type: _type, ...raw } = model.backend
    const options = resolveFiles(raw, type.files ?? [], baseDir)
    if (typeof options.apiKeyFile === 'string')
      await requireFile(options.apiKeyFile, `${field}.backend.apiKeyFile`)
    let upstream: Record<string, unknown>
    try {
      upstream = await upstreamOf(type.llm, options)
    } catch (error) {
      throw new ConfigError(`invalid config: ${field}.backend: ${messageOf(error)}`, {
        cause: error,
      })
    }
    out.push({ name: model.name, upstream, ...(model.labels ? { labels: model.labels } : {}) })
  }
  return out
}

/**
 * The plugin entries to build, with their field paths: the config's, plus an `llm` entry before
 * the first `authorize` (or last) when the config has large models and no `llm` entry of its own.
 */
function pluginEntries(
  config: GateConfig,
  needsLlm: boolean,
): Array<{ entry: PluginConfig; field: string }> {
  const listed = (config.plugins ?? []).map((entry, i) => ({ entry, field: `plugins[${i}]` }))
  if (!needsLlm || listed.some((p) => p.entry.use === 'llm')) return listed
  const at = listed.findIndex((p) => p.entry.use === 'authorize')
  const added = {
    entry: { use: 'llm' },
    field: 'plugins (llm, for the openai and anthropic models)',
  }
  listed.splice(at < 0 ? listed.length : at, 0, added)
  return listed
}

async function readJsonFile(file: string, at: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new TypeError(
      `${at}: ${code === 'ENOENT' ? 'file not found' : messageOf(error)}: ${file}`,
    )
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new TypeError(`${at}: ${file} is not JSON: ${messageOf(error)}`)
  }
}

async function redisStores(
  options: NonNullable<StoresConfig['redis']>,
  closers: Array<() => Promise<void> | void>,
): Promise<GateStores> {
  const field = 'stores.redis'
  const { Redis } = await importPackage(() => import('ioredis'), 'ioredis', field)
  const { createRedisStores } = await importPackage(
    () => import('@modelgate/store-redis'),
    '@modelgate/store-redis',
    field,
  )
  const client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => undefined)
  closers.push(async () => {
    await client.quit().catch(() => client.disconnect())
  })
  try {
    await client.connect()
  } catch (error) {
    throw new CliError(`${field}: cannot connect to ${options.url}: ${messageOf(error)}`, 1, {
      cause: error,
    })
  }
  return createRedisStores(client, {
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  })
}

function resolveFiles(
  options: Record<string, unknown>,
  keys: readonly string[],
  baseDir: string,
): Record<string, unknown> {
  const out = { ...options }
  for (const key of keys) {
    const value = out[key]
    if (typeof value === 'string') out[key] = resolve(baseDir, value)
  }
  return out
}

async function requireFile(file: string, field: string): Promise<void> {
  try {
    const info = await stat(file)
    if (!info.isFile()) throw new ConfigError(`invalid config: ${field}: not a file: ${file}`)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const code = (error as { code?: unknown }).code
    const reason = code === 'ENOENT' ? 'file not found' : messageOf(error)
    throw new ConfigError(`invalid config: ${field}: ${reason}: ${file}`, { cause: error })
  }
}

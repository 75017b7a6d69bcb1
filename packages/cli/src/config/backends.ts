import { z } from 'zod'
import type { ModelBackend } from '@modelgate/core'
import { readFile } from 'node:fs/promises'
import { importPackage, messageOf } from './modules.js'

/**
 * What a backend factory gets besides its options.
 *
 * @example
 * ```ts
 * const context: BackendContext = { baseDir: '/srv/gate', model: 'credit', field: 'models[0].backend' }
 * ```
 */
export interface BackendContext {
  /** Directory of the config file; relative paths in options are already resolved against it. */
  baseDir: string
  /** Name of the model this backend serves. */
  model: string
  /** Field path of the backend in the config, for error messages. */
  field: string
}

/**
 * One entry of the backend registry: the options a `backend: { type, ... }` config object may
 * carry (validated strictly, without `type`), which of them are file paths, and an async factory.
 *
 * @example
 * ```ts
 * const echo: BackendType = defineBackendType({
 *   options: z.object({}),
 *   create: async () => echoBackend,
 * })
 * ```
 */
export interface BackendType {
  readonly options: z.ZodObject
  /** Option keys holding file paths: resolved against the config directory and required to exist. */
  readonly files?: readonly string[]
  /**
   * Set for large-model upstreams (`openai`, `anthropic`): the model is served by the `llm`
   * plugin (`@modelgate/llm`) on the OpenAI and Anthropic routes, not created as a backend here.
   */
  readonly llm?: 'openai' | 'anthropic'
  create(options: Record<string, unknown>, context: BackendContext): Promise<ModelBackend>
}

/**
 * Declares a backend type with options typed from its zod schema.
 *
 * @example
 * ```ts
 * const trees = defineBackendType({
 *   options: z.object({ path: z.string() }),
 *   files: ['path'],
 *   async create(options) {
 *     const { createTreesBackend } = await import('@modelgate/backend-trees')
 *     return createTreesBackend(options)
 *   },
 * })
 * ```
 */
export function defineBackendType<S extends z.ZodObject>(definition: {
  options: S
  files?: readonly (keyof z.infer<S> & string)[]
  create(options: z.infer<S>, context: BackendContext): Promise<ModelBackend>
}): BackendType {
  return definition as unknown as BackendType
}

/**
 * A map from `backend.type` to its {@link BackendType}.
 *
 * @example
 * ```ts
 * const registry: BackendRegistry = { ...backendTypes, trees }
 * ```
 */
export type BackendRegistry = Readonly<Record<string, BackendType>>

const path = z.string().min(1)
const positiveInt = z.number().int().positive()
const datatype = z.enum([
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
])
const tensorMetadata = z.strictObject({
  name: z.string().min(1),
  datatype,
  shape: z.array(z.number().int().min(-1)),
})
const modelMetadata = z.strictObject({
  platform: z.string(),
  inputs: z.array(tensorMetadata).min(1),
  outputs: z.array(tensorMetadata).min(1),
})

const treeOptions = z.object({
  path,
  inputName: z.string().min(1).optional(),
  missing: z.number().optional(),
  outputDatatype: z.enum(['FP32', 'FP64']).optional(),
})

function treesType(format: 'xgboost' | 'lightgbm'): BackendType {
  const marker = format === 'xgboost' ? 'learner' : 'tree_info'
  const label = format === 'xgboost' ? 'an XGBoost save_model' : 'a LightGBM dump_model'
  return defineBackendType({
    options: treeOptions,
    files: ['path'],
    async create({ path: file, ...options }, { field }) {
      const pkg = '@modelgate/backend-trees'
      const { createTreesBackend } = await importPackage(
        () => import('@modelgate/backend-trees'),
        pkg,
        field,
      )
      let doc: unknown
      try {
        doc = JSON.parse(await readFile(file, 'utf8'))
      } catch (error) {
        throw new TypeError(`path: ${file} is not JSON: ${messageOf(error)}`)
      }
      if (typeof doc !== 'object' || doc === null || !(marker in doc)) {
        throw new TypeError(`path: ${file} is not ${label} JSON document`)
      }
      return createTreesBackend({ ...options, model: doc })
    },
  })
}

const upstreamOptions = z.object({
  url: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }),
  model: z.string().min(1).optional(),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  apiKeyFile: path.optional(),
  apiKeyHeader: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: positiveInt.optional(),
  idleTimeoutMs: positiveInt.optional(),
  retries: z.number().int().min(0).max(10).optional(),
  retryBaseDelayMs: z.number().nonnegative().optional(),
  retryMaxDelayMs: z.number().nonnegative().optional(),
  anthropicVersion: z.string().min(1).optional(),
  streamUsage: z.boolean().optional(),
})

/** One Node fetch (one pool of kept-alive connections) for every upstream of this process. */
let sharedFetch: Promise<(input: string, init?: RequestInit) => Promise<Response>> | undefined

/**
 * The upstream of an `openai` or `anthropic` model entry as `@modelgate/llm` takes it: the key
 * file (`apiKeyFile`, already resolved against the config directory) read into `apiKey`, and
 * calls made with `nodeFetch` of `@modelgate/llm/node` (streams relayed at about half the CPU
 * of the global fetch).
 *
 * @example
 * ```ts
 * await upstreamOf('openai', { url: 'https://api.openai.com/v1', apiKeyFile: '/run/secrets/openai' })
 * ```
 */
export async function upstreamOf(
  type: 'openai' | 'anthropic',
  options: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { apiKeyFile, ...raw } = options
  sharedFetch ??= import('@modelgate/llm/node').then((m) => m.nodeFetch())
  const rest: Record<string, unknown> = { ...raw, fetch: await sharedFetch }
  if (typeof apiKeyFile !== 'string') return { type, ...rest }
  if (rest.apiKeyEnv !== undefined)
    throw new TypeError('give "apiKeyEnv" or "apiKeyFile", not both')
  let key: string
  try {
    key = (await readFile(apiKeyFile, 'utf8')).trim()
  } catch (error) {
    throw new TypeError(`apiKeyFile: ${messageOf(error)}`)
  }
  return { type, ...rest, apiKey: key }
}

function llmType(type: 'openai' | 'anthropic'): BackendType {
  const definition = defineBackendType({
    options: upstreamOptions,
    files: ['apiKeyFile'],
    async create(options, { model, field }) {
      const pkg = '@modelgate/llm'
      const { createUpstream, llmBackend } = await importPackage(
        () => import('@modelgate/llm'),
        pkg,
        field,
      )
      return llmBackend(createUpstream((await upstreamOf(type, options)) as never, model))
    },
  })
  return { ...definition, llm: type }
}

/**
 * The built-in backend types: `onnx`, `tfjs`, `remote`, `xgboost` / `lightgbm` (JSON tree
 * models evaluated natively), and `openai` / `anthropic` (large models behind an OpenAI-compatible
 * server or Anthropic's API, served on the LLM routes by `@modelgate/llm`). Each imports its
 * package only when a config uses it.
 *
 * @example
 * ```ts
 * Object.keys(backendTypes) // ['onnx', 'tfjs', 'remote', 'xgboost', 'lightgbm', 'openai', 'anthropic']
 * ```
 */
export const backendTypes: BackendRegistry = Object.freeze({
  onnx: defineBackendType({
    options: z.object({
      path,
      runtime: z.enum(['node', 'web']).optional(),
      intraOpNumThreads: positiveInt.optional(),
      interOpNumThreads: positiveInt.optional(),
      executionProviders: z.array(z.string().min(1)).min(1).optional(),
      warmup: z.boolean().optional(),
      platform: z.string().min(1).optional(),
    }),
    files: ['path'],
    async create(options, { field }) {
      const pkg = '@modelgate/backend-onnx'
      const { createOnnxBackend } = await importPackage(
        () => import('@modelgate/backend-onnx'),
        pkg,
        field,
      )
      return createOnnxBackend(options)
    },
  }),
  tfjs: defineBackendType({
    options: z.object({
      path,
      backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).optional(),
      inputNames: z.array(z.string().min(1)).optional(),
      outputNames: z.array(z.string().min(1)).optional(),
      warmup: z.boolean().optional(),
      platform: z.string().min(1).optional(),
    }),
    files: ['path'],
    async create(options, { field }) {
      const pkg = '@modelgate/backend-tfjs'
      const { createTfjsBackend } = await importPackage(
        () => import('@modelgate/backend-tfjs'),
        pkg,
        field,
      )
      return createTfjsBackend(options)
    },
  }),
  remote: defineBackendType({
    options: z.object({
      url: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }),
      protocol: z.enum(['v2', 'v1', 'tfserving']),
      model: z.string().min(1),
      version: z.string().min(1).optional(),
      timeoutMs: positiveInt.optional(),
      retries: z.number().int().nonnegative().optional(),
      retryBaseDelayMs: z.number().nonnegative().optional(),
      retryMaxDelayMs: z.number().nonnegative().optional(),
      retryStatuses: z.array(z.number().int().min(500).max(599)).optional(),
      retryTimeouts: z.boolean().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      metadata: modelMetadata.optional(),
      signatureName: z.string().min(1).optional(),
      readyCacheMs: z.number().nonnegative().optional(),
      maxResponseBytes: positiveInt.optional(),
    }),
    async create(options, { field }) {
      const pkg = '@modelgate/backend-remote'
      const { createRemoteBackend } = await importPackage(
        () => import('@modelgate/backend-remote'),
        pkg,
        field,
      )
      return createRemoteBackend(options)
    },
  }),
  xgboost: treesType('xgboost'),
  lightgbm: treesType('lightgbm'),
  openai: llmType('openai'),
  anthropic: llmType('anthropic'),
})

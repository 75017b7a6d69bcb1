import { z } from 'zod'
import { ConfigError } from '../errors.js'
import type { BackendRegistry } from './backends.js'
import type { PluginRegistry } from './plugins.js'
import { withDefaults, type ConfigRegistries } from './registries.js'
import type { GateConfig } from './types.js'

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const name = z.string().regex(NAME, `expected a name matching ${NAME}`)
const text = z.string().min(1)
const positiveInt = z.number().int().positive()

const feature = z.discriminatedUnion('type', [
  z.strictObject({
    name: text,
    type: z.literal('numeric'),
    missing: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    pii: text.optional(),
    description: z.string().optional(),
  }),
  z.strictObject({
    name: text,
    type: z.literal('categorical'),
    categories: z.array(z.string()).min(1),
    encoding: z.enum(['one_hot', 'ordinal']).optional(),
    unknown: z.enum(['reject', 'zeros']).optional(),
    missing: z.string().optional(),
    pii: text.optional(),
    description: z.string().optional(),
  }),
  z.strictObject({
    name: text,
    type: z.literal('passthrough'),
    valueType: z.enum(['string', 'number', 'boolean', 'any']).optional(),
    required: z.boolean().optional(),
    pii: text.optional(),
    text: z.boolean().optional(),
    description: z.string().optional(),
  }),
])

const featureSchema = z.strictObject({
  input: text.optional(),
  datatype: z.enum(['FP32', 'FP64']).optional(),
  features: z.array(feature).min(1),
  unknownFields: z.enum(['reject', 'ignore']).optional(),
  outputNames: z.record(z.string(), z.array(z.string())).optional(),
})

const batching = z.strictObject({
  maxBatchSize: positiveInt,
  maxDelayMs: z.number().nonnegative(),
  maxQueueSize: positiveInt.optional(),
})

const limits = z.strictObject({
  maxBodyBytes: positiveInt.optional(),
  maxJsonDepth: positiveInt.optional(),
  maxTensorElements: positiveInt.optional(),
  maxRecords: positiveInt.optional(),
})

const stores = z.strictObject({
  redis: z
    .strictObject({
      url: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }),
      prefix: text.optional(),
      timeoutMs: positiveInt.optional(),
    })
    .optional(),
})

const server = z.strictObject({
  host: text.optional(),
  port: z.number().int().min(0).max(65535).optional(),
  runtime: z.enum(['cloud', 'edge']).optional(),
})

function gateConfigSchema(backends: BackendRegistry, plugins: PluginRegistry) {
  const backendTypes = Object.entries(backends).map(([type, entry]) =>
    z.strictObject({ type: z.literal(type), ...entry.options.shape }),
  )
  const [first, ...rest] = backendTypes
  if (!first) throw new TypeError('the backend registry is empty')
  const backend = z.discriminatedUnion('type', [first, ...rest])
  const known = Object.keys(plugins)
  const plugin = z.looseObject({
    use: z.string().refine((use) => Object.hasOwn(plugins, use), {
      error: (issue) =>
        `unknown plugin "${String(issue.input)}" (known: ${known.length ? known.join(', ') : 'none'})`,
    }),
  })
  const model = z.strictObject({
    name,
    version: name.optional(),
    backend,
    schema: featureSchema.optional(),
    batching: batching.optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  return z.strictObject({
    name: text.optional(),
    models: z.array(model).min(1, 'expected at least one model'),
    plugins: z.array(plugin).optional(),
    limits: limits.optional(),
    stores: stores.optional(),
    server: server.optional(),
  })
}

/**
 * Validates a parsed config object. Every object is strict (unknown keys are errors); the
 * backend `type` must be registered, and so must every plugin's `use`.
 *
 * @throws {ConfigError} naming each bad field, one per line:
 *   `invalid config: models[0].backend.type: expected one of onnx, tfjs, remote`.
 * @example
 * ```ts
 * const config = parseGateConfig({
 *   models: [{ name: 'm', backend: { type: 'onnx', path: 'm.onnx' } }],
 * })
 * ```
 */
export function parseGateConfig(value: unknown, registries: ConfigRegistries = {}): GateConfig {
  const { backends, plugins } = withDefaults(registries)
  const result = gateConfigSchema(backends, plugins).safeParse(value, {
    reportInput: true,
  })
  if (result.success) return result.data as GateConfig
  const lines = result.error.issues.flatMap(describeIssue).map((line) => `invalid config: ${line}`)
  throw new ConfigError(lines.join('\n'), { cause: result.error })
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = fieldPath(issue.path)
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${fieldPath([...issue.path, key])}: unknown key`)
    case 'invalid_type':
      if (issue.input === undefined) return [`${at}: required`]
      return [`${at}: expected ${issue.expected}, got ${kindOf(issue.input)}`]
    case 'invalid_value':
      return [`${at}: expected ${oneOf(issue.values)}`]
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) {
        return [`${at}: expected one of ${issue.options.join(', ')}`]
      }
      return [`${at}: ${issue.message}`]
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum
      const op =
        issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<'
      if (
        issue.code === 'too_small' &&
        bound === 1 &&
        (issue.origin === 'array' || issue.origin === 'string')
      ) {
        return [`${at}: must not be empty`]
      }
      if (issue.origin === 'array') return [`${at}: expected ${op} ${bound} items`]
      if (issue.origin === 'string') return [`${at}: expected ${op} ${bound} characters`]
      return [`${at}: expected a number ${op} ${bound}`]
    }
    case 'invalid_format':
      return [
        `${at}: ${issue.message.startsWith('Invalid') ? `expected a valid ${issue.format}` : issue.message}`,
      ]
    default:
      return [`${at}: ${issue.message}`]
  }
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`
}

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number' && !Number.isFinite(value)) return 'NaN'
  return typeof value
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out || '(root)'
}

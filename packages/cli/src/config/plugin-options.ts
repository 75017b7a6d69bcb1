import { readFile } from 'node:fs/promises'
import { MemoryStore } from '@modelgate/core'
import type { PluginContext } from './plugins.js'

type Options = Record<string, unknown>

const isObject = (value: unknown): value is Options =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A JWKS object (`{ keys: [...] }`) read from a file becomes its key list. */
function keyList(value: unknown): unknown {
  return isObject(value) && Array.isArray(value.keys) ? value.keys : value
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new TypeError(
      `${what}: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}: ${file}`,
    )
  }
}

/**
 * `authenticate`: `jwt.replay: true` and `jwt.revocations: true` select the shared store (or a
 * fresh in-memory one when the config has no `stores`).
 *
 * @example
 * ```ts
 * await prepareAuthenticate({ jwt: { issuers, algorithms: ['ES256'], replay: true } }, context)
 * ```
 */
export async function prepareAuthenticate(options: Options, context: PluginContext) {
  if (!isObject(options.jwt)) return options
  const jwt = { ...options.jwt }
  if (jwt.replay === true) jwt.replay = context.stores?.replay ?? new MemoryStore()
  if (jwt.revocations === true) jwt.revocations = context.stores?.revocations ?? new MemoryStore()
  return { ...options, jwt }
}

/**
 * `rateLimit`: token buckets go to the shared store when the config has one.
 *
 * @example
 * ```ts
 * await prepareRateLimit({ rules: [{ by: 'principal', capacity: 5, refillPerSecond: 1 }] }, context)
 * ```
 */
export async function prepareRateLimit(options: Options, context: PluginContext) {
  if (context.stores && options.store === undefined) {
    return { ...options, store: context.stores.rateLimits }
  }
  return options
}

/**
 * `llm`: token budgets go to the shared store when the config has one. Its `models` come from the
 * config's `openai` and `anthropic` model entries (`buildGate` adds them).
 *
 * @example
 * ```ts
 * await prepareLlm({ budgets: [{ by: 'tenant', tokens: 100000, perSeconds: 3600 }] }, context)
 * ```
 */
export async function prepareLlm(options: Options, context: PluginContext) {
  if (context.stores && options.budgetStore === undefined) {
    return { ...options, budgetStore: context.stores.rateLimits }
  }
  return options
}

/**
 * `mask`: `keyFile` (the master key, raw or base64, in a file) becomes `key`; the token vault
 * goes to the shared store when the config has one.
 *
 * @example
 * ```ts
 * await prepareMask({ keyFile: '/srv/gate/mask.key', policy }, context)
 * ```
 */
export async function prepareMask(options: Options, context: PluginContext) {
  const { keyFile, ...rest } = options
  const out: Options = { ...rest }
  if (keyFile !== undefined) {
    if (typeof keyFile !== 'string') throw new TypeError('"keyFile" must be a file path')
    if (rest.key !== undefined) throw new TypeError('give "key" or "keyFile", not both')
    out.key = (await readText(keyFile, 'keyFile')).trim()
  }
  if (context.stores && out.vault === undefined) out.vault = context.stores.vault
  return out
}

/**
 * `decrypt`: `keys` may be a JWKS file or a list of JWK files; the `jti` replay cache goes to the
 * shared store when the config has one.
 *
 * @example
 * ```ts
 * await prepareDecrypt({ keys: ['/srv/gate/gate.jwk.json'] }, context)
 * ```
 */
export async function prepareDecrypt(options: Options, context: PluginContext) {
  const out: Options = { ...options, keys: keyList(options.keys) }
  if (context.stores && out.replay !== false) {
    out.replay = { ...(isObject(out.replay) ? out.replay : {}), store: context.stores.replay }
  }
  return out
}

/**
 * `encrypt`: `clientKeys` may be a JWKS file or a list of JWK files.
 *
 * @example
 * ```ts
 * await prepareEncrypt({ clientKeys: { keys: [partnerJwk] } }, context)
 * ```
 */
export async function prepareEncrypt(options: Options, _context: PluginContext) {
  return options.clientKeys === undefined
    ? options
    : { ...options, clientKeys: keyList(options.clientKeys) }
}

/**
 * `explain`: `background` files (CSV, JSON rows, or `{ data, weights }`) are read; the
 * explanation cache goes to the shared store when the config has one.
 *
 * @example
 * ```ts
 * await prepareExplain({ defaults: { background: '/srv/gate/background.csv' } }, context)
 * ```
 */
export async function prepareExplain(options: Options, context: PluginContext) {
  const { parseRows } = await import('@modelgate/explain')
  const background = async (config: unknown, at: string) => {
    if (!isObject(config) || typeof config.background !== 'string') return config
    const file = config.background
    const text = await readText(file, `${at}.background`)
    if (text.trimStart().startsWith('{')) return { ...config, background: JSON.parse(text) }
    const { rows } = parseRows(text, file)
    return {
      ...config,
      background: { data: rows.map((r) => r.map((v) => (v === null ? NaN : v))) },
    }
  }
  const out: Options = { ...options }
  if (out.defaults !== undefined) out.defaults = await background(out.defaults, 'defaults')
  if (isObject(out.models)) {
    const models: Options = {}
    for (const [name, config] of Object.entries(out.models)) {
      models[name] = await background(config, `models.${name}`)
    }
    out.models = models
  }
  if (context.stores && out.cache === undefined) out.cache = context.stores.explanations
  return out
}

const AUDIT_KEYS = [
  'path',
  'sink',
  'fsync',
  'table',
  'checkpoint',
  'failClosed',
  'name',
  'maxQueue',
]
const CHECKPOINT_KEYS = ['key', 'alg', 'kid', 'every', 'intervalMs']

/**
 * `audit`: builds the audit trail from `{ path, sink?, fsync?, table?, checkpoint?, failClosed?,
 * name?, maxQueue? }`: a JSONL file (default) or a SQLite database (`sink: 'sqlite'`), with
 * checkpoints signed by `checkpoint.key` (a PEM or JWK file). The trail is flushed and closed
 * with the gate.
 *
 * @example
 * ```ts
 * await prepareAudit({ path: '/var/log/gate/audit.jsonl', checkpoint: { key: 'audit.pem', alg: 'EdDSA' } }, context)
 * ```
 */
export async function prepareAudit(options: Options, context: PluginContext) {
  for (const key of Object.keys(options)) {
    if (!AUDIT_KEYS.includes(key)) throw new TypeError(`unknown option "${key}"`)
  }
  const { path, sink = 'jsonl', fsync, table, checkpoint, failClosed, name, maxQueue } = options
  if (typeof path !== 'string') throw new TypeError('"path" (the audit log file) is required')
  const { createAuditTrail } = await import('@modelgate/audit')
  const { jsonlSink, sqliteSink } = await import('@modelgate/audit/node')
  let store
  if (sink === 'jsonl') {
    if (table !== undefined) throw new TypeError('"table" is for sink "sqlite"')
    store = jsonlSink({ path, ...(fsync !== undefined ? { fsync: fsync as 'always' } : {}) })
  } else if (sink === 'sqlite') {
    if (fsync !== undefined) throw new TypeError('"fsync" is for sink "jsonl"')
    store = sqliteSink({ path, ...(table !== undefined ? { table: table as string } : {}) })
  } else {
    throw new TypeError('"sink" must be "jsonl" or "sqlite"')
  }
  let signing
  if (checkpoint !== undefined) {
    if (!isObject(checkpoint)) throw new TypeError('"checkpoint" must be an object')
    for (const key of Object.keys(checkpoint)) {
      if (!CHECKPOINT_KEYS.includes(key)) throw new TypeError(`unknown option "checkpoint.${key}"`)
    }
    if (typeof checkpoint.key !== 'string') {
      throw new TypeError('"checkpoint.key" (a PEM or JWK private key file) is required')
    }
    const text = await readText(checkpoint.key, 'checkpoint.key')
    const { createPrivateKey } = await import('node:crypto')
    const key = text.trimStart().startsWith('{') ? JSON.parse(text) : createPrivateKey(text)
    signing = {
      ...checkpoint,
      key,
      ...(context.stores ? { store: context.stores.audit } : {}),
    }
  }
  const trail = createAuditTrail({
    sink: store,
    ...(signing ? { checkpoint: signing as never } : {}),
    ...(name !== undefined ? { name: name as string } : {}),
    ...(maxQueue !== undefined ? { maxQueue: maxQueue as number } : {}),
  })
  context.onClose(() => trail.close())
  return { trail, ...(failClosed !== undefined ? { failClosed } : {}) }
}

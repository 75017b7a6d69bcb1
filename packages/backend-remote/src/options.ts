import { checkOptionKeys, isDatatype, isPlainObject } from '@modelgate/core'
import type { ModelMetadata, OptionsShape, TensorMetadata } from '@modelgate/core'
import type { RemoteBackendOptions, RemoteProtocol } from './types.js'

const PROTOCOLS: readonly RemoteProtocol[] = ['v2', 'v1', 'tfserving']
/** The option keys of `createRemoteBackend`; `headers` and `metadata` are checked by shape below. */
const KNOWN: OptionsShape = {
  url: true,
  protocol: true,
  model: true,
  version: true,
  timeoutMs: true,
  retries: true,
  retryBaseDelayMs: true,
  retryMaxDelayMs: true,
  retryStatuses: true,
  retryTimeouts: true,
  headers: true,
  metadata: true,
  signatureName: true,
  readyCacheMs: true,
  maxResponseBytes: true,
  fetch: true,
}

export interface ResolvedOptions {
  protocol: RemoteProtocol
  /** Origin plus path prefix, without a trailing slash and without credentials. */
  base: string
  model: string
  version: string | undefined
  timeoutMs: number
  retries: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  retryStatuses: ReadonlySet<number>
  retryTimeouts: boolean
  headers: Headers
  metadata: ModelMetadata | undefined
  signatureName: string | undefined
  readyCacheMs: number
  maxResponseBytes: number
  fetch: typeof fetch
}

export function resolveOptions(options: RemoteBackendOptions): ResolvedOptions {
  if (!isPlainObject(options)) throw new TypeError('createRemoteBackend needs an options object')
  const o = options as RemoteBackendOptions
  checkOptionKeys('createRemoteBackend', o, KNOWN)
  if (!PROTOCOLS.includes(o.protocol)) {
    throw new TypeError(`protocol must be one of ${PROTOCOLS.map((p) => `"${p}"`).join(', ')}`)
  }
  const headers = headersOf(o.headers)
  const base = baseOf(o.url, headers)
  if (typeof o.model !== 'string' || o.model === '')
    throw new TypeError('model must be a non-empty string')
  if (o.version !== undefined && (typeof o.version !== 'string' || o.version === '')) {
    throw new TypeError('version must be a non-empty string')
  }
  if (o.version !== undefined && o.protocol === 'v1') {
    throw new TypeError('version is not part of the v1 protocol')
  }
  if (o.signatureName !== undefined) {
    if (o.protocol !== 'tfserving')
      throw new TypeError('signatureName applies to the tfserving protocol only')
    if (typeof o.signatureName !== 'string' || o.signatureName === '') {
      throw new TypeError('signatureName must be a non-empty string')
    }
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function')
    throw new TypeError('fetch must be a function')
  if (o.retryTimeouts !== undefined && typeof o.retryTimeouts !== 'boolean') {
    throw new TypeError('retryTimeouts must be a boolean')
  }
  const retryStatuses = o.retryStatuses ?? [502, 503, 504]
  if (
    !Array.isArray(retryStatuses) ||
    !retryStatuses.every((s) => Number.isInteger(s) && s >= 500 && s <= 599)
  ) {
    throw new TypeError('retryStatuses must be an array of 5xx statuses')
  }
  const metadata =
    o.metadata === undefined
      ? undefined
      : checkMetadata(o.metadata, (m) => new TypeError(`metadata: ${m}`))
  if (o.protocol === 'v1') {
    if (!metadata) throw new TypeError('metadata is required for the v1 protocol')
    if (metadata.inputs.length !== 1 || metadata.outputs.length !== 1) {
      throw new TypeError(
        'metadata for the v1 protocol must declare exactly one input and one output',
      )
    }
  }
  if (metadata && (metadata.inputs.length === 0 || metadata.outputs.length === 0)) {
    throw new TypeError('metadata must declare at least one input and one output')
  }
  const fetchImpl =
    o.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init))
  return {
    protocol: o.protocol,
    base,
    model: o.model,
    version: o.version,
    timeoutMs: numberOption('timeoutMs', o.timeoutMs, 10_000, 1, 2_147_483_647),
    retries: numberOption('retries', o.retries, 2, 0, 10, true),
    retryBaseDelayMs: numberOption('retryBaseDelayMs', o.retryBaseDelayMs, 100, 0, 60_000),
    retryMaxDelayMs: numberOption('retryMaxDelayMs', o.retryMaxDelayMs, 2_000, 0, 300_000),
    retryStatuses: new Set(retryStatuses),
    retryTimeouts: o.retryTimeouts ?? false,
    headers,
    metadata,
    signatureName: o.signatureName,
    readyCacheMs: numberOption('readyCacheMs', o.readyCacheMs, 1_000, 0, 3_600_000),
    maxResponseBytes: numberOption(
      'maxResponseBytes',
      o.maxResponseBytes,
      64 * 1024 * 1024,
      1,
      2 ** 32,
      true,
    ),
    fetch: fetchImpl as typeof fetch,
  }
}

function numberOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (value === undefined) return fallback
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new TypeError(
      `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    )
  }
  return value
}

function headersOf(value: Record<string, string> | undefined): Headers {
  if (value === undefined) return new Headers()
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new TypeError('headers must be an object of strings')
  }
  try {
    return new Headers(value)
  } catch {
    throw new TypeError('headers holds an invalid header name or value')
  }
}

/** Parses the base URL without ever echoing it; moves credentials into `authorization`. */
function baseOf(value: unknown, headers: Headers): string {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    throw new TypeError('url must be an absolute http(s) URL')
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError('url must be an absolute http(s) URL')
  }
  if (url.search !== '' || url.hash !== '')
    throw new TypeError('url must not have a query or a fragment')
  if (url.username !== '' || url.password !== '') {
    if (!headers.has('authorization')) {
      const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
      headers.set('authorization', `Basic ${base64(pair)}`)
    }
    url.username = ''
    url.password = ''
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

function base64(text: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** Checks the shape of model metadata, from options or from the wire; `fail` builds the error. */
export function checkMetadata(value: unknown, fail: (message: string) => Error): ModelMetadata {
  if (!isPlainObject(value)) throw fail('must be an object')
  const platform = value.platform ?? ''
  if (typeof platform !== 'string') throw fail('platform must be a string')
  const tensors = (list: unknown, where: string): TensorMetadata[] => {
    if (!Array.isArray(list)) throw fail(`${where} must be an array`)
    const seen = new Set<string>()
    return list.map((t, i) => {
      if (!isPlainObject(t) || typeof t.name !== 'string' || t.name === '') {
        throw fail(`${where}[${i}] needs a non-empty name`)
      }
      if (seen.has(t.name)) throw fail(`${where}[${i}]: duplicate name`)
      seen.add(t.name)
      if (!isDatatype(t.datatype)) throw fail(`${where}[${i}]: invalid datatype`)
      if (
        !Array.isArray(t.shape) ||
        !t.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= -1)
      ) {
        throw fail(`${where}[${i}]: shape must be an array of integers (-1 for variable)`)
      }
      const out: TensorMetadata = {
        name: t.name,
        datatype: t.datatype,
        shape: [...(t.shape as number[])],
      }
      if (isPlainObject(t.parameters))
        out.parameters = t.parameters as TensorMetadata['parameters'] & object
      return out
    })
  }
  const metadata: ModelMetadata = {
    platform,
    inputs: tensors(value.inputs, 'inputs'),
    outputs: tensors(value.outputs, 'outputs'),
  }
  if (isPlainObject(value.parameters))
    metadata.parameters = value.parameters as ModelMetadata['parameters'] & object
  return metadata
}

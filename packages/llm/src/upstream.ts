import {
  BadGatewayError,
  checkOptionKeys,
  GateError,
  GatewayTimeoutError,
  NotReadyError,
  type GateContext,
} from '@modelgate/core'
import type {
  LlmProtocol,
  LlmUpstream,
  UpstreamCall,
  UpstreamConfig,
  UpstreamResult,
} from './types.js'

const RETRY_STATUSES = new Set([408, 429, 502, 503, 504])
const CONFIG_KEYS = {
  type: true,
  url: true,
  model: true,
  apiKey: true,
  apiKeyEnv: true,
  apiKeyHeader: true,
  headers: true,
  timeoutMs: true,
  idleTimeoutMs: true,
  retries: true,
  retryBaseDelayMs: true,
  retryMaxDelayMs: true,
  fetch: true,
  anthropicVersion: true,
  streamUsage: true,
} as const
const FORWARDED_ANTHROPIC = ['anthropic-version', 'anthropic-beta']

/**
 * Thrown when the caller went away while the gate waited for the upstream: nothing is retried and
 * nobody reads the 499 it becomes.
 *
 * @example
 * ```ts
 * if (error instanceof ClientGoneError) return
 * ```
 */
export class ClientGoneError extends GateError {
  constructor() {
    super('client_closed', 499, 'client closed the request')
  }
}

function positive(value: unknown, name: string, fallback: number, zero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zero && value === 0))
    throw new TypeError(`${name} must be a ${zero ? 'non-negative' : 'positive'} number`)
  return value
}

/** The environment variable `name`, from the runtime's bindings (`ctx.env`) or the process. */
function envValue(env: unknown, name: string): string | undefined {
  const fromBindings = (env as Record<string, unknown> | undefined)?.[name]
  if (typeof fromBindings === 'string') return fromBindings
  const processEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } })
    .process?.env
  return processEnv?.[name]
}

/**
 * Creates a fetch-only upstream for an OpenAI-compatible server (OpenAI, Azure OpenAI, vLLM,
 * llama.cpp's server, Ollama) or Anthropic's Messages API. Requests get a timeout until the
 * answer's headers (`timeoutMs`), and are retried with jittered exponential backoff when the
 * upstream certainly did not run them: a connection that failed before any answer, or 408, 429,
 * 502, 503, 504 (`retry-after` honoured up to `retryMaxDelayMs`). The API key comes from
 * `apiKey` (a string, or a function such as a keyring lookup) or the environment variable
 * `apiKeyEnv` (the runtime's bindings at the edge, `process.env` in Node); a client's own
 * credentials are never forwarded.
 *
 * @example
 * ```ts
 * const upstream = createUpstream({ type: 'openai', url: 'http://127.0.0.1:8000/v1', model: 'llama-3.1-8b', apiKeyEnv: 'VLLM_API_KEY' }, 'chat')
 * const { response } = await upstream.send({ path: '/chat/completions', body, stream: false, signal })
 * ```
 */
export function createUpstream(config: UpstreamConfig, gateModel: string): LlmUpstream {
  if (!config || typeof config !== 'object') throw new TypeError('upstream must be an object')
  checkOptionKeys('upstream', config, CONFIG_KEYS)
  const protocol: LlmProtocol = config.type
  if (protocol !== 'openai' && protocol !== 'anthropic')
    throw new TypeError('upstream.type must be "openai" or "anthropic"')
  let base: URL
  try {
    base = new URL(config.url)
  } catch {
    throw new TypeError('upstream.url must be an http or https URL')
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new TypeError('upstream.url must be an http or https URL')
  // A query (Azure's `?api-version=…`) stays at the end of every call's URL.
  const query = base.search
  const root = `${base.origin}${base.pathname}`.replace(/\/+$/, '')
  // Anthropic's paths start at /v1; OpenAI-compatible base URLs include their version already.
  const prefix = protocol === 'anthropic' && !/\/v1$/.test(root) ? `${root}/v1` : root
  const model = config.model ?? gateModel
  if (typeof model !== 'string' || model === '')
    throw new TypeError('upstream.model must be a string')
  if (
    config.apiKey !== undefined &&
    typeof config.apiKey !== 'string' &&
    typeof config.apiKey !== 'function'
  )
    throw new TypeError('upstream.apiKey must be a string or a function')
  if (config.apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(config.apiKeyEnv))
    throw new TypeError('upstream.apiKeyEnv must be an environment variable name')
  const keyHeader =
    config.apiKeyHeader ?? (protocol === 'anthropic' ? 'x-api-key' : 'authorization')
  const timeoutMs = positive(config.timeoutMs, 'upstream.timeoutMs', 600_000)
  const idleTimeoutMs = positive(config.idleTimeoutMs, 'upstream.idleTimeoutMs', 120_000)
  const retries = positive(config.retries, 'upstream.retries', 2, true)
  if (!Number.isInteger(retries) || retries > 10)
    throw new TypeError('upstream.retries must be an integer from 0 to 10')
  const baseDelay = positive(config.retryBaseDelayMs, 'upstream.retryBaseDelayMs', 250, true)
  const maxDelay = positive(config.retryMaxDelayMs, 'upstream.retryMaxDelayMs', 8_000, true)
  if (config.streamUsage !== undefined && typeof config.streamUsage !== 'boolean')
    throw new TypeError('upstream.streamUsage must be a boolean')
  const doFetch = config.fetch ?? ((input: string, init: RequestInit) => fetch(input, init))
  const fixed = new Headers(config.headers ?? {})
  for (const name of ['authorization', 'x-api-key', 'api-key', keyHeader.toLowerCase()]) {
    if (fixed.has(name))
      throw new TypeError(`upstream.headers: give the key as apiKey or apiKeyEnv, not "${name}"`)
  }

  async function apiKey(ctx: GateContext | undefined, env: unknown): Promise<string | undefined> {
    if (typeof config.apiKey === 'string') return config.apiKey
    if (typeof config.apiKey === 'function') return (await config.apiKey(ctx)) ?? undefined
    if (config.apiKeyEnv) return envValue(env ?? ctx?.env, config.apiKeyEnv)
    return undefined
  }

  async function send(call: UpstreamCall): Promise<UpstreamResult> {
    const headers = new Headers(fixed)
    headers.set('content-type', 'application/json')
    headers.set('accept', call.stream ? 'text/event-stream' : 'application/json')
    const key = await apiKey(call.ctx, call.env)
    if (key)
      headers.set(keyHeader, keyHeader.toLowerCase() === 'authorization' ? `Bearer ${key}` : key)
    if (protocol === 'anthropic') {
      for (const name of FORWARDED_ANTHROPIC) {
        const value = call.ctx?.requestHeaders.get(name)
        if (value && !headers.has(name)) headers.set(name, value)
      }
      if (!headers.has('anthropic-version'))
        headers.set('anthropic-version', config.anthropicVersion ?? '2023-06-01')
    }
    const body = JSON.stringify({ ...call.body, model })
    const url = prefix + call.path + query
    for (let attempt = 0; ; attempt++) {
      if (call.signal.aborted) throw new ClientGoneError()
      const controller = new AbortController()
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        controller.abort(new Error('upstream timeout'))
      }, timeoutMs)
      const onAbort = () => controller.abort(call.signal.reason)
      call.signal.addEventListener('abort', onAbort, { once: true })
      const release = () => {
        clearTimeout(timer)
        call.signal.removeEventListener('abort', onAbort)
      }
      let response: Response
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers,
          body,
          signal: controller.signal,
          redirect: 'manual',
        })
      } catch {
        release()
        if (call.signal.aborted) throw new ClientGoneError()
        if (timedOut)
          throw new GatewayTimeoutError(
            `the model server did not answer within ${timeoutMs} ms`,
            'upstream_timeout',
          )
        if (attempt < retries) {
          await pause(delay(attempt, baseDelay, maxDelay, undefined), call.signal)
          continue
        }
        throw new NotReadyError('the model server is unreachable', 'upstream_unavailable', {
          'retry-after': '1',
        })
      }
      clearTimeout(timer)
      if (RETRY_STATUSES.has(response.status) && attempt < retries) {
        release()
        await response.body?.cancel().catch(() => undefined)
        await pause(delay(attempt, baseDelay, maxDelay, response.headers), call.signal)
        continue
      }
      if (response.status >= 300 && response.status < 400) {
        release()
        await response.body?.cancel().catch(() => undefined)
        throw new BadGatewayError('the model server answered with a redirect', 'bad_gateway')
      }
      return {
        response,
        attempts: attempt + 1,
        idleTimeoutMs,
        abort: (reason?: unknown) => {
          release()
          controller.abort(reason)
        },
        done: release,
      }
    }
  }

  return { protocol, model, streamUsage: config.streamUsage ?? true, send }
}

function delay(attempt: number, base: number, max: number, headers: Headers | undefined): number {
  const ms = Number(headers?.get('retry-after-ms'))
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, max)
  const seconds = Number(headers?.get('retry-after'))
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, max)
  const ceiling = Math.min(max, base * 2 ** attempt)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClientGoneError())
    const onAbort = () => {
      clearTimeout(timer)
      reject(new ClientGoneError())
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

import { createClient, ModelgateError } from '@modelgate/client'
import type { ModelgateClient } from '@modelgate/client'
import { checkOptionKeys } from '@modelgate/core'
import type { SealedFetchOptions } from '../types.js'

const OPTIONS = {
  gateKey: true,
  responseKey: true,
  signature: true,
  fetch: true,
  timeoutMs: true,
} as const

/** Headers the client sets itself; every other request header goes with the call. */
const OWN_HEADERS = new Set(['accept', 'content-type', 'content-length', 'x-request-id'])
const MAX_CLIENTS = 16

/**
 * A `fetch` for the edge → cloud hop that seals every request body as a compact JWE to the cloud
 * gate's public key and opens the JWE answer, with `@modelgate/client`: a fresh response key per
 * request, `jti`/`iat` for the cloud's replay checks, the answer's `rid`/`rjti` bound to the
 * request, optional response signatures checked over the bytes received. Give it to a hybrid
 * backend's `remote.fetch` and to `forwardExplain({ fetch })`; the cloud gate runs `decrypt` and
 * `encrypt` from `@modelgate/crypto`.
 *
 * The answer comes back as a plain JSON `Response` with the cloud's status. A cloud error (4xx,
 * 5xx, a redirect) keeps its status and `{ error, code }`; an answer that cannot be trusted (not
 * encrypted, not decryptable, bound to another request, a bad signature) rejects like a network
 * failure, so the edge counts it against the cloud and answers alone. Redirects are never
 * followed. Web APIs only: it runs in Node and in Workers; put the transport (an mTLS `fetch`)
 * into `fetch`.
 *
 * @example
 * ```ts
 * import { createHybridBackend, createSealedFetch } from '@modelgate/hybrid'
 * import { createMtlsFetch } from '@modelgate/hybrid/node'
 *
 * const sealed = createSealedFetch({
 *   gateKey: cloudPublicJwk, // { kty: 'EC', crv: 'P-256', x, y, kid: 'cloud-1', alg: 'ECDH-ES+A256KW' }
 *   fetch: createMtlsFetch({ cert: edge.certPem, key: edge.keyPem, ca: ca.certPem }),
 * })
 * const backend = createHybridBackend({
 *   local,
 *   remote: { url: 'https://cloud.internal:8443', protocol: 'v2', model: 'credit', fetch: sealed },
 * })
 * ```
 */
export function createSealedFetch(options: SealedFetchOptions): typeof fetch {
  if (!options || typeof options !== 'object')
    throw new TypeError('createSealedFetch needs options')
  checkOptionKeys('createSealedFetch', options, OPTIONS)
  if (!options.gateKey || typeof options.gateKey !== 'object') {
    throw new TypeError('"gateKey" must be the cloud gate\'s public JWK')
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new TypeError('"fetch" must be a function')
  }
  const transport = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const manual: typeof fetch = (input, init) => transport(input, { ...init, redirect: 'manual' })
  const make = (origin: string, headers: Record<string, string>) =>
    createClient({
      baseUrl: origin,
      headers,
      encryption: {
        gateKey: options.gateKey,
        ...(options.responseKey ? { responseKey: options.responseKey } : {}),
      },
      ...(options.signature ? { signature: options.signature } : {}),
      fetch: manual,
      timeoutMs: options.timeoutMs ?? 30_000,
    })
  // Fails at factory time on a bad key, not on the first escalation.
  make('https://cloud.invalid', {})
  const clients = new Map<string, ModelgateClient>()

  return async function sealedFetch(input, init) {
    const request = new Request(input, init)
    const url = new URL(request.url)
    const headers: Record<string, string> = {}
    request.headers.forEach((value, name) => {
      if (!OWN_HEADERS.has(name)) headers[name] = value
    })
    const key = `${url.origin} ${JSON.stringify(headers)}`
    let client = clients.get(key)
    if (!client) {
      client = make(url.origin, headers)
      if (clients.size < MAX_CLIENTS) clients.set(key, client)
    }
    const bytes =
      request.method === 'GET' || request.method === 'HEAD'
        ? undefined
        : new Uint8Array(await request.arrayBuffer())
    const requestId = request.headers.get('x-request-id')
    try {
      const result = await client.request(
        request.method,
        url.pathname + url.search,
        bytes && bytes.byteLength > 0 ? bytes : undefined,
        { signal: request.signal, ...(requestId ? { requestId } : {}) },
      )
      return new Response(result.body === undefined ? null : JSON.stringify(result.body), {
        status: result.status,
        headers: { 'content-type': 'application/json', 'x-request-id': result.requestId },
      })
    } catch (error) {
      if (error instanceof ModelgateError && !error.code.startsWith('client_')) {
        return new Response(JSON.stringify({ error: error.message, code: error.code }), {
          status: error.status,
          headers: { 'content-type': 'application/json', 'x-request-id': error.requestId ?? '' },
        })
      }
      throw error
    }
  }
}

import { Agent, request as httpsRequest } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { checkOptionKeys } from '@modelgate/core'
import type { MtlsFetch, MtlsFetchOptions } from '../types.js'

const OPTIONS = { cert: true, key: true, ca: true, servername: true, keepAlive: true } as const

const NULL_BODY = new Set([101, 204, 205, 304])

/**
 * A `fetch` for Node that connects over TLS with a client certificate (mTLS) through its own
 * `https.Agent`: the edge gate's certificate and key (from `modelgate ca issue --client`, or
 * `issueCertificate`), and the CA that signed the cloud gate's server certificate. Only `https:`
 * URLs; the server's certificate must chain to `ca` and name the host (an IP SAN for
 * `127.0.0.1`). Redirects are never followed (the 3xx answer is returned); the caller's signal
 * aborts the request. A failed handshake (an untrusted server, a client certificate the server
 * refuses) rejects like any network failure.
 *
 * Wrap it with {@link createSealedFetch} so that bodies are also encrypted end to end. In Workers,
 * use an `mtls_certificates` binding (or workerd's `tlsOptions.keypair`) instead.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { createMtlsFetch } from '@modelgate/hybrid/node'
 *
 * const mtls = createMtlsFetch({
 *   cert: await readFile('pki/edge-1/cert.pem', 'utf8'),
 *   key: await readFile('pki/edge-1/key.pem', 'utf8'),
 *   ca: await readFile('pki/ca/cert.pem', 'utf8'),
 * })
 * const res = await mtls('https://cloud.internal:8443/v2/health/ready')
 * mtls.close()
 * ```
 */
export function createMtlsFetch(options: MtlsFetchOptions): MtlsFetch {
  if (!options || typeof options !== 'object') throw new TypeError('createMtlsFetch needs options')
  checkOptionKeys('createMtlsFetch', options, OPTIONS)
  for (const name of ['cert', 'key', 'ca'] as const) {
    if (typeof options[name] !== 'string' || !options[name].includes('-----BEGIN')) {
      throw new TypeError(`"${name}" must be PEM text`)
    }
  }
  const agent = new Agent({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    keepAlive: options.keepAlive ?? true,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(options.servername ? { servername: options.servername } : {}),
  })

  const mtlsFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    if (url.protocol !== 'https:') throw new TypeError('createMtlsFetch: only https URLs')
    request.signal.throwIfAborted()
    const body =
      request.method === 'GET' || request.method === 'HEAD'
        ? undefined
        : Buffer.from(await request.arrayBuffer())
    const headers: Record<string, string> = {}
    request.headers.forEach((value, name) => (headers[name] = value))
    if (body) headers['content-length'] = String(body.byteLength)
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, {
        method: request.method,
        headers,
        agent,
        signal: request.signal,
      })
      req.once('error', reject)
      req.once('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 502
        const out = new Headers()
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
        }
        const empty = NULL_BODY.has(status) || request.method === 'HEAD'
        if (empty) res.resume()
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? '',
            headers: out,
          }),
        )
      })
      req.end(body)
    })
  }
  return Object.assign(mtlsFetch as typeof fetch, { close: () => agent.destroy() })
}
export type { MtlsFetch, MtlsFetchOptions } from '../types.js'

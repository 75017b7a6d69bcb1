import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { pushStream, type ByteSink } from '@modelgate/core'

/**
 * Options of {@link nodeFetch}.
 *
 * @example
 * ```ts
 * const options: NodeFetchOptions = { maxSockets: 512, keepAliveMs: 30_000 }
 * ```
 */
export interface NodeFetchOptions {
  /** Most connections open to one upstream host at once. Default 1024. */
  maxSockets?: number
  /** How long an idle kept-alive connection stays open. Default 15 s. */
  keepAliveMs?: number
}

/**
 * A `fetch` for upstream calls on Node, over `node:http`/`node:https` with kept-alive
 * connections, for the `fetch` option of an upstream. Its answer is a Web `Response` whose body
 * is a plain stream of the bytes as they arrive: relaying a token stream through it costs about
 * half the CPU of the global `fetch` (undici's), whose spec machinery runs on every chunk.
 * Only what upstream calls use: any method, headers, a string or byte body, an abort signal;
 * redirects are answered as they are (`redirect: 'manual'`).
 *
 * @example
 * ```ts
 * import { nodeFetch } from '@modelgate/llm/node'
 * const models = [{ name: 'chat', upstream: { type: 'openai', url: 'http://vllm:8000/v1', fetch: nodeFetch() } }]
 * ```
 */
export function nodeFetch(
  options: NodeFetchOptions = {},
): (input: string, init?: RequestInit) => Promise<Response> {
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: options.maxSockets ?? 1024,
    timeout: options.keepAliveMs ?? 15_000,
    scheduling: 'lifo' as const,
  }
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) }
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input)
      const secure = url.protocol === 'https:'
      if (!secure && url.protocol !== 'http:')
        return reject(new TypeError(`nodeFetch: unsupported protocol ${url.protocol}`))
      const signal = init.signal ?? undefined
      if (signal?.aborted) return reject(signal.reason)
      const headers: Record<string, string> = {}
      new Headers(init.headers).forEach((value, name) => (headers[name] = value))
      const body = bodyBytes(init.body)
      if (body) headers['content-length'] = String(body.byteLength)
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers,
        agent: secure ? agents.https : agents.http,
      })
      let settled = false
      let response: IncomingMessage | undefined
      const onAbort = () => {
        const reason = signal!.reason ?? new DOMException('aborted', 'AbortError')
        req.destroy(reason)
        response?.destroy(reason)
        if (!settled) {
          settled = true
          reject(reason)
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const detach = () => signal?.removeEventListener('abort', onAbort)
      req.on('error', (error) => {
        detach()
        if (!settled) {
          settled = true
          reject(new TypeError('fetch failed', { cause: error }))
        }
      })
      req.once('response', (res) => {
        response = res
        settled = true
        const status = res.statusCode ?? 502
        const empty = status === 204 || status === 304 || init.method === 'HEAD'
        try {
          const out = new Headers()
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
          resolve(
            new Response(empty ? null : streamOf(res, detach), {
              status,
              statusText: res.statusMessage ?? '',
              headers: out,
            }),
          )
        } catch (error) {
          // A header or status the Fetch standard refuses: the answer is unusable, as with fetch.
          res.destroy()
          detach()
          reject(new TypeError('fetch failed', { cause: error }))
          return
        }
        if (empty) {
          res.resume()
          detach()
        }
      })
      req.end(body)
    })
}

function bodyBytes(body: RequestInit['body']): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  throw new TypeError('nodeFetch: the body must be a string or bytes')
}

/**
 * The response's bytes as a Web stream that a relay on Node can also take as a push source
 * (`takePushSource`), pausing the socket while the reader is behind.
 */
function streamOf(res: IncomingMessage, done: () => void): ReadableStream<Uint8Array> {
  // Heard from the start: a connection that fails before anyone reads is not missed.
  let failure: unknown
  let sink: ByteSink | undefined
  const fail = (error: unknown) => {
    done()
    failure ??= error
    sink?.error(failure)
  }
  res.on('error', fail)
  res.once('close', () => {
    // A connection closed before the end is an error of the stream, not a short answer.
    if (!res.complete) fail(new TypeError('terminated'))
  })
  return pushStream((to) => {
    sink = to
    if (failure !== undefined) {
      // Told after `start` returns, as a socket event would be: a reader that cancels at once
      // (its client left too) is not told of a failure it caused.
      queueMicrotask(() => to.error(failure))
    } else {
      res.on('data', (chunk: Buffer) => {
        if (!to.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) res.pause()
      })
      res.once('end', () => {
        done()
        to.close()
      })
    }
    return {
      resume: () => res.resume(),
      cancel(reason) {
        done()
        res.destroy(reason instanceof Error ? reason : undefined)
      },
    }
  }, 16)
}

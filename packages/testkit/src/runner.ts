import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { conformanceCases } from './cases.js'
import type {
  CaseBody,
  CheckedResponse,
  ConformanceCase,
  ConformanceResult,
  ConformanceTarget,
  RunConformanceOptions,
} from './types.js'

const VOLATILE = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
])
const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface RawResponse {
  status: number
  headers: Array<[string, string]>
  body: Uint8Array
}

/**
 * Runs the conformance cases, one after the other, against a base URL (over `node:http`, with
 * one keep-alive connection reused across cases, so a connection left in a bad state shows) or
 * a fetch function. Every case yields a normalised {@link ConformanceResult}; `problems` lists
 * what was wrong (status, `check`, time bound, transport failure). Two conforming adapters give
 * deep-equal results.
 *
 * @example
 * ```ts
 * import { runConformance } from '@modelgate/testkit'
 *
 * const results = await runConformance('http://127.0.0.1:8080')
 * const failed = results.filter((r) => r.problems.length > 0)
 * ```
 */
export async function runConformance(
  target: ConformanceTarget,
  options: RunConformanceOptions = {},
): Promise<ConformanceResult[]> {
  const cases = options.cases ?? conformanceCases
  const timeoutMs = options.timeoutMs ?? 15_000
  const send = typeof target === 'function' ? viaFetch(target) : viaHttp(new URL(String(target)))
  const volatile = new Set([
    ...VOLATILE,
    ...(options.volatileHeaders ?? []).map((h) => h.toLowerCase()),
  ])
  const extra = options.headers ?? {}
  const results: ConformanceResult[] = []
  try {
    for (const c of cases) {
      const started = performance.now()
      let raw: RawResponse | undefined
      let failure: string | undefined
      try {
        raw = await withTimeout(
          send.run({ ...c, headers: { ...extra, ...c.headers } }),
          timeoutMs,
          c.name,
        )
      } catch (error) {
        failure = `request failed: ${(error as Error).message}`
      }
      const duration = performance.now() - started
      const result = normalise(c, raw, volatile)
      if (failure) result.problems.push(failure)
      else judge(c, result, duration)
      results.push(result)
      options.onCase?.(result, duration)
    }
  } finally {
    send.close()
  }
  return results
}

function judge(c: ConformanceCase, result: ConformanceResult, duration: number): void {
  if (result.status !== c.status)
    result.problems.push(`status ${result.status}, expected ${c.status}`)
  if (c.maxMs !== undefined && duration > c.maxMs) {
    result.problems.push(`answered in ${Math.round(duration)} ms, limit ${c.maxMs} ms`)
  }
  if (c.check) {
    try {
      c.check({
        status: result.status,
        contentType: result.contentType,
        headers: result.headers,
        body: result.body,
      })
    } catch (error) {
      result.problems.push((error as Error).message)
    }
  }
}

function normalise(
  c: ConformanceCase,
  raw: RawResponse | undefined,
  volatile: ReadonlySet<string>,
): ConformanceResult {
  if (!raw)
    return { name: c.name, status: 0, contentType: null, headers: {}, body: null, problems: [] }
  const headers: Record<string, string> = {}
  for (const [name, value] of raw.headers.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (volatile.has(name) && !(name === 'connection' && value.toLowerCase() === 'close')) continue
    const shown = name === 'x-request-id' ? '*' : value
    headers[name] =
      headers[name] === undefined
        ? shown
        : `${headers[name]}${name === 'set-cookie' ? '\n' : ', '}${shown}`
  }
  const text = decoder.decode(raw.body)
  let body: unknown = null
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return {
    name: c.name,
    status: raw.status,
    contentType: headers['content-type'] ?? null,
    headers,
    body,
    problems: [],
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to "${name}" within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

interface Sender {
  run(c: ConformanceCase): Promise<RawResponse>
  close(): void
}

function fixedBody(body: CaseBody | undefined): Uint8Array | undefined {
  if (body === undefined || typeof body === 'function') return undefined
  return typeof body === 'string' ? encoder.encode(body) : body
}

function viaFetch(fetch: (request: Request) => Promise<Response>): Sender {
  return {
    async run(c) {
      const headers = new Headers(c.headers)
      const fixed = fixedBody(c.body)
      const init: RequestInit & { duplex?: 'half' } = { method: c.method, headers }
      if (fixed) {
        if (!headers.has('content-length')) headers.set('content-length', String(fixed.byteLength))
        init.body = fixed as Uint8Array<ArrayBuffer>
      } else if (typeof c.body === 'function') {
        init.body = streamOf(c.body())
        init.duplex = 'half'
      }
      const response = await fetch(new Request(`http://localhost${c.path}`, init))
      return {
        status: response.status,
        headers: [...response.headers],
        body: new Uint8Array(await response.arrayBuffer()),
      }
    },
    close() {},
  }
}

function streamOf(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await it.next()
        if (done) controller.close()
        else controller.enqueue(value.slice())
      },
      async cancel() {
        await it.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}

function viaHttp(base: URL): Sender {
  if (base.protocol !== 'http:')
    throw new TypeError('runConformance speaks plain http to a base URL')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const prefix = base.pathname.replace(/\/$/, '')
  return {
    run: (c) =>
      new Promise<RawResponse>((resolve, reject) => {
        const fixed = fixedBody(c.body)
        const headers: Record<string, string> = { ...c.headers }
        if (fixed && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
          headers['content-length'] = String(fixed.byteLength)
        }
        let answered = false
        const req = httpRequest({
          host: base.hostname,
          port: base.port,
          method: c.method,
          path: prefix + c.path,
          headers,
          agent,
        })
        req.on('error', (error) => {
          if (!answered) reject(error)
        })
        req.on('response', (res) => {
          answered = true
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: headerPairs(res.headers),
              body: Buffer.concat(chunks),
            })
            if (!req.writableFinished) req.destroy()
          })
        })
        const lazy = c.body
        if (typeof lazy === 'function') {
          void (async () => {
            for await (const chunk of lazy()) {
              if (answered || req.destroyed) return
              if (!req.write(chunk)) {
                await new Promise<void>((resume) => {
                  const done = () => {
                    req.off('drain', done).off('close', done).off('response', done)
                    resume()
                  }
                  req.on('drain', done).on('close', done).on('response', done)
                })
              }
            }
            if (!answered && !req.destroyed) req.end()
          })().catch(reject)
        } else {
          req.end(fixed)
        }
      }),
    close: () => agent.destroy(),
  }
}

function headerPairs(headers: IncomingHttpHeaders): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, v])
  }
  return pairs
}

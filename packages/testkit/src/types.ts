/**
 * A request body: text, bytes, or a function giving chunks lazily (for bodies too large to hold).
 *
 * @example
 * ```ts
 * const huge: CaseBody = async function* () { for (let i = 0; i < 640; i++) yield new Uint8Array(65536) }
 * ```
 */
export type CaseBody = string | Uint8Array | (() => AsyncIterable<Uint8Array>)

/**
 * What a case's `check` receives: the response after normalisation.
 *
 * @example
 * ```ts
 * const check = (r: CheckedResponse) => { if (r.headers.allow !== 'POST') throw new Error('allow') }
 * ```
 */
export interface CheckedResponse {
  status: number
  contentType: string | null
  /** Lower-cased names; repeated values joined by `, ` (`set-cookie` by a newline). */
  headers: Record<string, string>
  /** The body parsed as JSON; `null` when empty; the text itself when it is not JSON. */
  body: unknown
}

/**
 * One protocol conformance case: a request and what a conforming gate answers.
 *
 * @example
 * ```ts
 * const live: ConformanceCase = {
 *   name: 'health live',
 *   method: 'GET',
 *   path: '/v2/health/live',
 *   status: 200,
 *   check: ({ body }) => { if ((body as any).live !== true) throw new Error('not live') },
 * }
 * ```
 */
export interface ConformanceCase {
  name: string
  method: string
  /** Path and query, starting with `/`. */
  path: string
  headers?: Record<string, string>
  body?: CaseBody
  /** Expected HTTP status. */
  status: number
  /** Throws when the response is wrong; the message becomes a problem of the result. */
  check?: (response: CheckedResponse) => void
  /** The answer must arrive within this many milliseconds. */
  maxMs?: number
}

/**
 * The normalised outcome of one case. Volatile headers are dropped (`date`, `connection`,
 * `keep-alive`, `content-length`, `transfer-encoding`) or blanked (`x-request-id` is `*`), so two
 * conforming adapters give deep-equal results.
 *
 * @example
 * ```ts
 * const r: ConformanceResult = { name: 'health live', status: 200, contentType: 'application/json', headers: {}, body: { live: true }, problems: [] }
 * ```
 */
export interface ConformanceResult extends CheckedResponse {
  name: string
  /** Empty when the case passed. */
  problems: string[]
}

/**
 * Where to run the suite: a base URL (`http://127.0.0.1:8080`, requests go over `node:http`), or
 * a fetch function (for example `(r) => gate.fetch(r)`).
 *
 * @example
 * ```ts
 * const target: ConformanceTarget = (request) => gate.fetch(request)
 * ```
 */
export type ConformanceTarget = string | URL | ((request: Request) => Promise<Response>)

/**
 * Options of {@link runConformance}.
 *
 * @example
 * ```ts
 * await runConformance(url, { cases: conformanceCases.filter((c) => c.status >= 400) })
 * ```
 */
export interface RunConformanceOptions {
  /** The cases to run, in order. Default {@link conformanceCases}. */
  cases?: readonly ConformanceCase[]
  /** Give up on a case after this long. Default 15,000 ms. */
  timeoutMs?: number
  /** Called after each case with its duration, for timing and memory probes. */
  onCase?: (result: ConformanceResult, durationMs: number) => void
  /** Headers sent with every case (credentials for a gate behind authentication). */
  headers?: Record<string, string>
  /**
   * Response headers left out of the normalised results because they differ on every answer
   * (a response signature, rate-limit state), besides `date`, `connection` and the like.
   */
  volatileHeaders?: readonly string[]
}

import type { FeatureSchemaDefinition } from '@modelgate/core'

/**
 * The console's static files by name (`index.html`, `console.css`, `app.js`, …), for runtimes
 * without a file system; {@link loadConsoleAssets} reads them from the installed package.
 *
 * @example
 * ```ts
 * const assets: ConsoleAssets = await loadConsoleAssets()
 * ```
 */
export type ConsoleAssets = Readonly<Record<string, string | Uint8Array>>

/**
 * A role offered in the console's role picker.
 *
 * @example
 * ```ts
 * const role: ConsoleRole = { id: 'underwriter', label: 'Underwriter', description: 'Decides loans' }
 * ```
 */
export interface ConsoleRole {
  /** Sent to the development token endpoint as `{"user": id}`. */
  id: string
  label?: string
  description?: string
}

/**
 * How a probability output becomes a label: below `approveBelow` approve, from
 * `declineAtOrAbove` decline, refer in between.
 *
 * @example
 * ```ts
 * const d: DecisionThresholds = { output: 'default_probability', approveBelow: 0.2, declineAtOrAbove: 0.5 }
 * ```
 */
export interface DecisionThresholds {
  /** Name of the V1 prediction field that holds the probability. */
  output: string
  approveBelow: number
  declineAtOrAbove: number
}

/**
 * Options of {@link consoleHandler} and {@link webConsole}.
 *
 * @example
 * ```ts
 * const options: ConsoleOptions = {
 *   model: 'credit',
 *   schema: creditSchema,
 *   sample: { income: 52000, purpose: 'car' },
 *   decision: { output: 'default_probability', approveBelow: 0.2, declineAtOrAbove: 0.5 },
 * }
 * ```
 */
export interface ConsoleOptions {
  /** Model the console sends records to. */
  model: string
  /** Its feature schema: the form has one control per feature. */
  schema: FeatureSchemaDefinition
  /** Record the form starts with. */
  sample?: Record<string, unknown>
  /** Turns the probability into approve / refer / decline. Without it only the value is shown. */
  decision?: DecisionThresholds
  /** Where the console is served. Default `/console`. */
  basePath?: string
  /** Path prefix of the gate's protocol routes on the same origin. Default `''`. */
  apiBase?: string
  /** Page heading. Default `modelgate console`. */
  title?: string
  /** Roles of the role picker. Default none: the page asks for a bearer token instead. */
  roles?: ConsoleRole[]
  /**
   * DEVELOPMENT ONLY. A same-origin endpoint answering `POST {"user": role}` with
   * `{"token": "…"}`. The page shows a development-only warning whenever it is set.
   */
  devTokenUrl?: string
  /**
   * DEVELOPMENT ONLY. A same-origin endpoint answering `GET {devAuditUrl}/{requestId}` with the
   * audit record of that request (no payloads), shown next to the result.
   */
  devAuditUrl?: string
  /** `parameters` of `:explain` requests (`explainer`, `nsamples`, …). Default `{}`. */
  explainParameters?: Record<string, string | number | boolean>
  /** Preloaded assets; default {@link loadConsoleAssets} on first request. */
  assets?: ConsoleAssets
}

/**
 * A request handler that answers the console's routes and `null` for any other path.
 *
 * @example
 * ```ts
 * const handle: ConsoleFetchHandler = consoleHandler(options)
 * export default { fetch: async (req: Request) => (await handle(req)) ?? gate.fetch(req) }
 * ```
 */
export type ConsoleFetchHandler = (request: Request) => Promise<Response | null>

/**
 * Options of {@link echoRecords}.
 *
 * @example
 * ```ts
 * const options: EchoRecordsOptions = { fields: ['applicant_id', 'name', 'email'] }
 * ```
 */
export interface EchoRecordsOptions {
  /** Record fields to echo. Default every field of the record. */
  fields?: string[]
}

import { checkOptionKeys, NotFoundError } from '@modelgate/core'
import type { FeatureSchemaDefinition, Plugin } from '@modelgate/core'
import { checkAssets, contentTypeOf, loadConsoleAssets } from './assets.js'
import type { ConsoleAssets, ConsoleFetchHandler, ConsoleOptions } from './types.js'

/**
 * Content-Security-Policy of every console response: scripts, styles and fetches from the same
 * origin only, no inline code, no plugins, no framing, no form posts elsewhere.
 *
 * @example
 * ```ts
 * res.headers.get('content-security-policy') === CONSOLE_CSP
 * ```
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
}

/** One answer of the console: status, headers (security headers included) and body. */
interface ConsoleAnswer {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array | null
  /** The error code of a refusal (`not_found`, `method_not_allowed`). */
  error?: string
}

/** The console's answers by method and path; `null` for paths outside `basePath`. */
function consoleServer(options: ConsoleOptions): {
  base: string
  answer: (method: string, path: string) => Promise<ConsoleAnswer | null>
} {
  const base = checkOptions(options)
  const config = JSON.stringify(consoleConfig(options))
  let assets: Promise<ConsoleAssets> | undefined = options.assets
    ? Promise.resolve(checkAssets(options.assets))
    : undefined
  const refusal = (status: number, error: string, message: string, extra = {}): ConsoleAnswer => ({
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json', ...extra },
    body: JSON.stringify({ error: message, code: error }),
    error,
  })

  async function answer(method: string, path: string): Promise<ConsoleAnswer | null> {
    if (path !== base && !path.startsWith(`${base}/`)) return null
    if (method !== 'GET' && method !== 'HEAD')
      return refusal(405, 'method_not_allowed', 'method not allowed', { allow: 'GET, HEAD' })
    if (path === base)
      return { status: 308, headers: { ...SECURITY_HEADERS, location: `${base}/` }, body: null }
    const name = path.slice(base.length + 1) || 'index.html'
    if (name === 'config.json') {
      return {
        status: 200,
        headers: {
          ...SECURITY_HEADERS,
          'content-type': 'application/json',
          'cache-control': 'no-store',
        },
        body: config,
      }
    }
    const notFound = () => refusal(404, 'not_found', 'no such console file')
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) return notFound()
    assets ??= loadConsoleAssets().catch((error: unknown) => {
      assets = undefined
      throw error
    })
    const files = await assets
    const body = Object.hasOwn(files, name) && !name.endsWith('.d.ts') ? files[name] : undefined
    if (body === undefined) return notFound()
    return {
      status: 200,
      headers: {
        ...SECURITY_HEADERS,
        'content-type': contentTypeOf(name),
        'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=300',
      },
      body,
    }
  }
  return { base, answer }
}

/**
 * The console as a plain Web fetch handler, for users who mount it themselves in front of a gate:
 * `GET {basePath}/` is the page, `{basePath}/config.json` its settings, `{basePath}/<file>` its
 * scripts and styles; every answer carries a strict Content-Security-Policy. Paths outside
 * `basePath` resolve to `null`. To serve the console from the gate itself, with the gate's
 * plugins around it, use {@link webConsole}.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { consoleHandler } from '@modelgate/console'
 *
 * const gate = createGate({ models: [{ name: 'credit', backend, schema }] })
 * const handle = consoleHandler({ model: 'credit', schema })
 * export default { fetch: async (req: Request) => (await handle(req)) ?? gate.fetch(req) }
 * ```
 */
export function consoleHandler(options: ConsoleOptions): ConsoleFetchHandler {
  const { answer } = consoleServer(options)
  return async function serveConsole(request: Request): Promise<Response | null> {
    const a = await answer(request.method, new URL(request.url).pathname)
    if (!a) return null
    const body = request.method === 'HEAD' || a.body === null ? null : a.body
    return new Response(typeof body === 'string' || body === null ? body : new Uint8Array(body), {
      status: a.status,
      headers: a.headers,
    })
  }
}

/**
 * The console served by the gate: a plugin that contributes the console's pages as a route
 * (`GET {basePath}` and everything below it, operation `console`), so every plugin runs around
 * them as around any route. Access plugins let the `console` operation through without
 * credentials by default (the page is public; every call it makes to the model carries the
 * chosen credentials), and audit and metrics see its requests. Unknown files answer 404
 * `not_found`, other methods 405.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { authenticate, authorize } from '@modelgate/access'
 * import { webConsole } from '@modelgate/console'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [authenticate(auth), authorize({ policy }), webConsole({ model: 'credit', schema })],
 * })
 * ```
 */
export const webConsole = (options: ConsoleOptions): Plugin => {
  const { base, answer } = consoleServer(options)
  const plugin: Plugin = async function webConsole(_ctx, next) {
    await next()
  }
  plugin.routes = [
    {
      name: 'console',
      methods: ['GET'],
      path: `${base}/*`,
      operation: 'console',
      async terminal(ctx) {
        const a = (await answer(ctx.method, ctx.url.pathname))!
        for (const [k, v] of Object.entries(a.headers)) ctx.headers.set(k, v)
        if (a.error === 'not_found') throw new NotFoundError('no such console file', 'not_found')
        ctx.status = a.status
        ctx.body = a.body ?? new Uint8Array(0)
      },
    },
  ]
  return plugin
}

const OPTIONS = {
  model: true,
  schema: true,
  sample: true,
  decision: { output: true, approveBelow: true, declineAtOrAbove: true },
  basePath: true,
  apiBase: true,
  title: true,
  roles: { id: true, label: true, description: true },
  devTokenUrl: true,
  devAuditUrl: true,
  explainParameters: true,
  assets: true,
} as const

function checkOptions(options: ConsoleOptions): string {
  if (!options || typeof options !== 'object') throw new TypeError('console: options are required')
  checkOptionKeys('console', options, OPTIONS)
  if (typeof options.model !== 'string' || options.model === '')
    throw new TypeError('console: "model" must be a model name')
  if (!options.schema || !Array.isArray(options.schema.features))
    throw new TypeError('console: "schema" must be a feature schema definition')
  const base = options.basePath ?? '/console'
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(base))
    throw new TypeError('console: "basePath" must look like /console (no trailing slash)')
  const d = options.decision
  if (d) {
    if (typeof d.output !== 'string') throw new TypeError('console: decision.output must be a name')
    if (!(d.approveBelow >= 0 && d.approveBelow <= d.declineAtOrAbove && d.declineAtOrAbove <= 1))
      throw new TypeError(
        'console: need 0 <= decision.approveBelow <= decision.declineAtOrAbove <= 1',
      )
  }
  for (const url of [options.devTokenUrl, options.devAuditUrl, options.apiBase]) {
    if (url !== undefined && url !== '' && !/^\/[^/\\]/.test(url))
      throw new TypeError('console: endpoint URLs must be same-origin paths starting with /')
  }
  for (const r of options.roles ?? []) {
    if (!r || typeof r.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(r.id))
      throw new TypeError('console: each role needs an id of letters, digits, _ or -')
  }
  return base
}

/** What the page reads from `config.json`. */
function consoleConfig(o: ConsoleOptions): Record<string, unknown> {
  const api = o.apiBase ?? ''
  const model = encodeURIComponent(o.model)
  return {
    title: o.title ?? 'modelgate console',
    apiBase: api,
    model: o.model,
    predictUrl: `${api}/v1/models/${model}:predict`,
    explainUrl: `${api}/v1/models/${model}:explain`,
    fields: fieldsOf(o.schema),
    sample: o.sample ?? {},
    decision: o.decision ?? null,
    roles: (o.roles ?? []).map((r) => ({
      id: r.id,
      label: r.label ?? r.id,
      description: r.description ?? '',
    })),
    devTokenUrl: o.devTokenUrl ?? null,
    devAuditUrl: o.devAuditUrl ?? null,
    explainParameters: o.explainParameters ?? {},
  }
}

function fieldsOf(schema: FeatureSchemaDefinition): Array<Record<string, unknown>> {
  return schema.features.map((f) => {
    const common = {
      name: f.name,
      description: f.description ?? '',
      ...labelOf(f.name, f.description),
      pii: f.pii ?? null,
    }
    if (f.type === 'numeric')
      return {
        ...common,
        kind: 'numeric',
        modelInput: true,
        required: f.missing === undefined,
        missing: f.missing ?? null,
        min: f.min ?? null,
        max: f.max ?? null,
      }
    if (f.type === 'categorical')
      return {
        ...common,
        kind: 'categorical',
        modelInput: true,
        required: f.missing === undefined,
        missing: f.missing ?? null,
        categories: f.categories,
      }
    return {
      ...common,
      kind: f.text ? 'text' : f.valueType === 'number' ? 'numeric' : 'string',
      modelInput: false,
      required: f.required ?? false,
      missing: null,
      text: f.text ?? false,
    }
  })
}

/**
 * A readable label and a hint from a feature's description: the label is its first clause (up to
 * the first `,`, `;`, `:` or `(`), the hint the rest ("Yearly gross income, USD" gives "Yearly
 * gross income" and "USD"). Without a usable clause the label is the name in words.
 */
function labelOf(name: string, description = ''): { label: string; hint: string } {
  const m = /^([^,;:(]{2,48}?)\s*(?:[,;:]\s*|(?=\())(.*)$/s.exec(description.trim())
  if (m) return { label: m[1]!, hint: capitalise(m[2]!.trim()) }
  if (description.trim().length > 1 && description.trim().length <= 48)
    return { label: description.trim(), hint: '' }
  return { label: capitalise(name.replaceAll('_', ' ')), hint: capitalise(description.trim()) }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

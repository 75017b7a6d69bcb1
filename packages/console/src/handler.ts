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

/**
 * The console as a Web fetch handler: `GET {basePath}/` is the page, `{basePath}/config.json`
 * its settings, `{basePath}/<file>` its scripts and styles; every answer carries a strict
 * Content-Security-Policy. Paths outside `basePath` resolve to `null`, so the handler can sit in
 * front of a gate on any runtime.
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
  const base = checkOptions(options)
  const config = JSON.stringify(consoleConfig(options))
  let assets: Promise<ConsoleAssets> | undefined = options.assets
    ? Promise.resolve(checkAssets(options.assets))
    : undefined

  return async function serveConsole(request: Request): Promise<Response | null> {
    const path = new URL(request.url).pathname
    if (path !== base && !path.startsWith(`${base}/`)) return null
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return json(
        405,
        { error: 'method not allowed', code: 'method_not_allowed' },
        { allow: 'GET, HEAD' },
      )
    }
    if (path === base) return reply(request, 308, null, { location: `${base}/` })
    const name = path.slice(base.length + 1) || 'index.html'
    if (name === 'config.json') {
      return reply(request, 200, config, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      })
    }
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) return notFound()
    assets ??= loadConsoleAssets().catch((error: unknown) => {
      assets = undefined
      throw error
    })
    const files = await assets
    const body = Object.hasOwn(files, name) && !name.endsWith('.d.ts') ? files[name] : undefined
    if (body === undefined) return notFound()
    return reply(request, 200, body, {
      'content-type': contentTypeOf(name),
      'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=300',
    })
  }
}

/**
 * The console as a gate plugin, for adapters that hand every request to the gate (Express
 * `createExpressApp`, the edge `toFetchModule`): it answers the console's paths before any other
 * plugin sees them and passes everything else on. Put it before authentication: the page itself
 * is public, every call it makes to the model carries the chosen credentials.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { authenticate, authorize } from '@modelgate/access'
 * import { webConsole } from '@modelgate/console'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [webConsole({ model: 'credit', schema }), authenticate(auth), authorize({ policy })],
 * })
 * ```
 */
export const webConsole = (options: ConsoleOptions): Plugin => {
  const handle = consoleHandler(options)
  return async function webConsole(ctx, next) {
    if (ctx.route.kind !== 'unknown') return next()
    const res = await handle(ctx.request)
    if (!res) return next()
    ctx.status = res.status
    for (const [k, v] of res.headers) ctx.headers.set(k, v)
    ctx.body = new Uint8Array(await res.arrayBuffer())
  }
}

function checkOptions(options: ConsoleOptions): string {
  if (!options || typeof options !== 'object') throw new TypeError('console: options are required')
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
      pii: f.pii ?? null,
    }
    if (f.type === 'numeric')
      return {
        ...common,
        kind: 'numeric',
        modelInput: true,
        required: f.missing === undefined,
        min: f.min ?? null,
        max: f.max ?? null,
      }
    if (f.type === 'categorical')
      return {
        ...common,
        kind: 'categorical',
        modelInput: true,
        required: f.missing === undefined,
        categories: f.categories,
      }
    return {
      ...common,
      kind: f.text ? 'text' : f.valueType === 'number' ? 'numeric' : 'string',
      modelInput: false,
      required: f.required ?? false,
      text: f.text ?? false,
    }
  })
}

function reply(
  request: Request,
  status: number,
  body: string | Uint8Array | null,
  headers: Record<string, string>,
): Response {
  const h = new Headers({ ...SECURITY_HEADERS, ...headers })
  const payload =
    request.method === 'HEAD' || body === null
      ? null
      : typeof body === 'string'
        ? body
        : new Uint8Array(body)
  return new Response(payload, { status, headers: h })
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json', ...headers },
  })
}

function notFound(): Response {
  return json(404, { error: 'no such console file', code: 'not_found' })
}

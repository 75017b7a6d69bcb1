import type { GateContext } from './context.js'
import type { Operation, Route, RouteDefinition, RouteKind } from './types.js'

/**
 * A route match: the route, the operation it performs, the methods it accepts and, for a
 * contributed route, its terminal.
 *
 * @example
 * ```ts
 * const m: RouteMatch = matchRoute('/v2/health/live')
 * m.operation // 'health'
 * ```
 */
export interface RouteMatch {
  route: Route
  operation: Operation
  methods: readonly string[]
  terminal?: (ctx: GateContext) => Promise<void>
}

const GET = ['GET', 'HEAD'] as const
const POST = ['POST'] as const

const OPERATION: Partial<Record<RouteKind, Operation>> = {
  'health-live': 'health',
  'health-ready': 'health',
  'server-metadata': 'metadata',
  'model-metadata': 'metadata',
  'model-ready': 'health',
  'v1-status': 'metadata',
  'v2-infer': 'predict',
  'v1-predict': 'predict',
  'v2-explain': 'explain',
  'v1-explain': 'explain',
  custom: 'custom',
  unknown: 'custom',
}

function match(
  kind: RouteKind,
  methods: readonly string[],
  model?: string,
  version?: string,
): RouteMatch {
  const route: Route = { kind }
  if (model !== undefined) route.model = model
  if (version !== undefined) route.version = version
  return { route, operation: OPERATION[kind] ?? 'custom', methods }
}

function segment(raw: string): string | undefined {
  try {
    const s = decodeURIComponent(raw)
    return s === '' || s.includes('/') ? undefined : s
  } catch {
    return undefined
  }
}

/**
 * Matches a URL path against the protocol routes of DESIGN §2 (OIP V2, its explain extension and
 * KServe V1). Unknown paths give the `unknown` route.
 *
 * @example
 * ```ts
 * matchRoute('/v2/models/credit/versions/2/infer').route // { kind: 'v2-infer', model: 'credit', version: '2' }
 * ```
 */
export function matchRoute(pathname: string): RouteMatch {
  const parts = pathname.split('/')
  // parts[0] is '' for the leading slash
  if (parts[0] !== '') return match('unknown', [])
  const p = parts.slice(1)
  if (p[0] === 'v2') {
    if (p.length === 1) return match('server-metadata', GET)
    if (p.length === 3 && p[1] === 'health' && p[2] === 'live') return match('health-live', GET)
    if (p.length === 3 && p[1] === 'health' && p[2] === 'ready') return match('health-ready', GET)
    if (p[1] === 'models' && p.length >= 3) {
      const model = segment(p[2]!)
      if (model === undefined) return match('unknown', [])
      let rest = p.slice(3)
      let version: string | undefined
      if (rest[0] === 'versions') {
        if (rest.length < 2) return match('unknown', [])
        version = segment(rest[1]!)
        if (version === undefined) return match('unknown', [])
        rest = rest.slice(2)
      }
      if (rest.length === 0) return match('model-metadata', GET, model, version)
      if (rest.length === 1) {
        if (rest[0] === 'ready') return match('model-ready', GET, model, version)
        if (rest[0] === 'infer') return match('v2-infer', POST, model, version)
        if (rest[0] === 'explain') return match('v2-explain', POST, model, version)
      }
    }
    return match('unknown', [])
  }
  if (p[0] === 'v1' && p[1] === 'models' && p.length === 3) {
    const last = p[2]!
    const colon = last.lastIndexOf(':')
    if (colon < 0) {
      const model = segment(last)
      return model === undefined ? match('unknown', []) : match('v1-status', GET, model)
    }
    const model = segment(last.slice(0, colon))
    const verb = last.slice(colon + 1)
    if (model !== undefined && verb === 'predict') return match('v1-predict', POST, model)
    if (model !== undefined && verb === 'explain') return match('v1-explain', POST, model)
  }
  return match('unknown', [])
}

interface CompiledRoute {
  definition: RouteDefinition
  segments: string[]
  prefix: boolean
}

const PLACEHOLDER = /^\{(model|version)\}$/

/**
 * Compiles contributed routes into a matcher that falls back to the protocol routes. Route paths
 * are checked once: they start with `/`, use `{model}` and `{version}` only as whole segments,
 * and no two routes claim the same method and path.
 *
 * @example
 * ```ts
 * const match = createRouter([{ name: 'ping', methods: ['GET'], path: '/ping', operation: 'health', terminal }])
 * match('/ping').route // { kind: 'custom', name: 'ping' }
 * ```
 */
export function createRouter(
  definitions: readonly RouteDefinition[],
): (path: string) => RouteMatch {
  const compiled: CompiledRoute[] = []
  const claimed = new Set<string>()
  for (const d of definitions) {
    if (!d || typeof d.terminal !== 'function' || typeof d.name !== 'string' || d.name === '')
      throw new TypeError('every route needs a name and a terminal function')
    if (typeof d.path !== 'string' || !d.path.startsWith('/'))
      throw new TypeError(`route "${d.name}": path must start with "/"`)
    if (!Array.isArray(d.methods) || d.methods.length === 0)
      throw new TypeError(`route "${d.name}": methods must be a non-empty array`)
    const prefix = d.path.endsWith('/*')
    const path = prefix ? d.path.slice(0, -2) : d.path
    const segments = path.split('/').slice(1)
    for (const s of segments) {
      if (s.includes('{') && !PLACEHOLDER.test(s))
        throw new TypeError(`route "${d.name}": only {model} and {version} may be placeholders`)
    }
    for (const m of d.methods) {
      const key = `${m} ${d.path}`
      if (claimed.has(key)) throw new TypeError(`two routes claim ${key}`)
      claimed.add(key)
    }
    compiled.push({ definition: d, segments, prefix })
  }
  return (pathname) => {
    const parts = pathname.split('/').slice(1)
    for (const c of compiled) {
      const bound = bind(c, parts)
      if (!bound) continue
      const d = c.definition
      const route: Route = { kind: d.kind ?? 'custom', name: d.name, ...bound }
      if (d.body) route.body = d.body
      const methods =
        d.methods.includes('GET') && !d.methods.includes('HEAD')
          ? [...d.methods, 'HEAD']
          : d.methods
      return { route, operation: d.operation, methods, terminal: d.terminal }
    }
    return matchRoute(pathname)
  }
}

function bind(c: CompiledRoute, parts: string[]): { model?: string; version?: string } | undefined {
  // A prefix route (`/console/*`) also matches the prefix itself (`/console`).
  if (c.prefix ? parts.length < c.segments.length : parts.length !== c.segments.length)
    return undefined
  const bound: { model?: string; version?: string } = {}
  for (let i = 0; i < c.segments.length; i++) {
    const want = c.segments[i]!
    const got = parts[i]
    if (got === undefined) return undefined
    const placeholder = PLACEHOLDER.exec(want)
    if (placeholder) {
      const value = segment(got)
      // `model:verb` is KServe V1's (`/v1/models/m:predict`): never a model or version name.
      if (value === undefined || value.includes(':')) return undefined
      bound[placeholder[1] as 'model' | 'version'] = value
    } else if (want !== got) return undefined
  }
  return bound
}

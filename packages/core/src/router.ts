import type { Operation, Route, RouteKind } from './types.js'

/** A route match: the route, the operation it performs and the methods it accepts. */
export interface RouteMatch {
  route: Route
  operation: Operation
  methods: readonly string[]
}

const GET = ['GET', 'HEAD'] as const
const POST = ['POST'] as const

const OPERATION: Record<RouteKind, Operation> = {
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
  return { route, operation: OPERATION[kind], methods }
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

import type { PolicyEngine, PolicyRequest } from '../types.js'

/**
 * The part of `@cedar-policy/cedar-wasm` (v4, `nodejs` or `esm` build) the adapter calls. Pass the
 * module itself; this package does not import it, so it stays an optional peer.
 *
 * @example
 * ```ts
 * const cedar: CedarModule = await import('@cedar-policy/cedar-wasm/nodejs')
 * ```
 */
export interface CedarModule {
  preparsePolicySet(
    id: string,
    policies: { staticPolicies: string },
  ): { type: string; errors?: { message: string }[] }
  statefulIsAuthorized(call: {
    principal: CedarUid
    action: CedarUid
    resource: CedarUid
    context: Record<string, CedarJson>
    preparsedPolicySetId: string
    entities: CedarEntity[]
  }):
    | {
        type: 'success'
        response: {
          decision: 'allow' | 'deny'
          diagnostics: { reason: string[]; errors: unknown[] }
        }
      }
    | { type: 'failure'; errors: { message: string }[] }
}

// Narrow enough that the module's own declarations (@cedar-policy/cedar-wasm) satisfy them.
type CedarJson = string | number | boolean | null | CedarJson[] | { [key: string]: CedarJson }
interface CedarUid {
  type: string
  id: string
}
interface CedarEntity {
  uid: CedarUid
  attrs: Record<string, CedarJson>
  parents: CedarUid[]
}

let sets = 0

/**
 * Runs authorization on Cedar policies, for teams that already write Cedar. The request maps to
 * Cedar entities as follows: principal `User::"<id>"` with attributes `kind`, `tenant`, `roles`,
 * `scopes`, `claims` and parents `Role::"<role>"`; action `Action::"predict"` (also `explain`,
 * `metadata`, `metrics`, `admin`, and `unmask:<field>` per field in `unmaskFields`); resource
 * `Model::"<name>"` with `version` and `labels` (and `tenant` from the `tenant` label); the
 * request `context` as Cedar context. Reasons are `cedar:<policy id>`.
 *
 * @example
 * ```ts
 * import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
 *
 * const engine = createCedarEngine(cedar, `
 *   permit(principal in Role::"underwriter", action == Action::"predict", resource == Model::"credit-risk")
 *   when { principal.tenant == resource.tenant };
 * `)
 * authorize({ policy: engine })
 * ```
 */
export function createCedarEngine(cedar: CedarModule, policies: string): PolicyEngine {
  if (
    !cedar ||
    typeof cedar.statefulIsAuthorized !== 'function' ||
    typeof cedar.preparsePolicySet !== 'function'
  ) {
    throw new TypeError('createCedarEngine needs the @cedar-policy/cedar-wasm module (v4)')
  }
  if (typeof policies !== 'string' || policies.trim() === '')
    throw new TypeError('createCedarEngine needs Cedar policy text')
  const id = `modelgate-${++sets}`
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: policies })
  if (parsed.type !== 'success') {
    throw new TypeError(
      `Cedar policies do not parse: ${(parsed.errors ?? []).map((e) => e.message).join('; ')}`,
    )
  }

  const ask = (req: PolicyRequest, action: string, entities: CedarEntity[]) => {
    const answer = cedar.statefulIsAuthorized({
      principal: { type: 'User', id: req.principal.id },
      action: { type: 'Action', id: action },
      resource: { type: 'Model', id: req.resource.model ?? '' },
      context: (req.context ?? {}) as Record<string, CedarJson>,
      preparsedPolicySetId: id,
      entities,
    })
    if (answer.type !== 'success') return { allow: false, reasons: ['cedar:error'] }
    const { decision, diagnostics } = answer.response
    const reasons = diagnostics.reason.map((r) => `cedar:${r}`)
    return { allow: decision === 'allow', reasons: reasons.length > 0 ? reasons : ['default-deny'] }
  }

  return {
    decide(req) {
      const p = req.principal
      const labels = req.resource.labels ?? {}
      const entities: CedarEntity[] = [
        {
          uid: { type: 'User', id: p.id },
          attrs: {
            kind: p.kind,
            roles: p.roles,
            scopes: p.scopes,
            ...(p.tenant !== undefined ? { tenant: p.tenant } : {}),
            ...(p.claims ? { claims: jsonSafe(p.claims) } : {}),
          },
          parents: p.roles.map((r) => ({ type: 'Role', id: r })),
        },
        ...p.roles.map((r) => ({ uid: { type: 'Role', id: r }, attrs: {}, parents: [] })),
        {
          uid: { type: 'Model', id: req.resource.model ?? '' },
          attrs: {
            labels,
            ...(req.resource.version !== undefined ? { version: req.resource.version } : {}),
            ...(labels.tenant !== undefined ? { tenant: labels.tenant } : {}),
          },
          parents: [],
        },
      ]
      const main = ask(req, req.action, entities)
      if (!main.allow) return { ...main, unmask: [] }
      const unmask = (req.unmaskFields ?? []).filter((f) => ask(req, `unmask:${f}`, entities).allow)
      return { ...main, unmask }
    },
  }
}

function jsonSafe(value: Record<string, unknown>): Record<string, CedarJson> {
  const out: Record<string, CedarJson> = {}
  for (const [k, v] of Object.entries(value)) {
    if (
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isSafeInteger(v))
    )
      out[k] = v
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v
  }
  return out
}

import {
  checkOptionKeys,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  type GateContext,
  type Plugin,
} from '@modelgate/core'
import { publicRequests } from '../public.js'
import type { AuthorizeOptions, PolicyEngine, PolicyRequest } from '../types.js'
import { compilePolicy } from './policy.js'

const DEFAULT_ACTION: Record<string, PolicyRequest['action']> = {
  predict: 'predict',
  explain: 'explain',
  chat: 'chat',
  embed: 'embed',
  metadata: 'metadata',
  metrics: 'metrics',
}
const OPTIONS = {
  policy: true,
  publicOperations: true,
  action: true,
  context: true,
  clock: true,
  realm: true,
} as const

/** The operation as a policy action: model readiness is metadata, unknown operations admin. */
function defaultAction(ctx: GateContext): PolicyRequest['action'] {
  if (ctx.operation === 'health' && ctx.route.model !== undefined) return 'metadata'
  return DEFAULT_ACTION[ctx.operation] ?? 'admin'
}

const fieldNames = new WeakMap<object, string[]>()

function unmaskFieldsOf(ctx: GateContext): string[] | undefined {
  const features = ctx.model?.schema?.definition.features
  if (!features) return undefined
  let names = fieldNames.get(features)
  if (names === undefined) {
    names = Object.freeze(features.map((f) => f.name)) as string[]
    fieldNames.set(features, names)
  }
  return names
}

/**
 * Authorization plugin. Decides each request with a policy (a {@link PolicyDocument} compiled
 * once, or any {@link PolicyEngine} such as the Cedar adapter) on principal × action × resource ×
 * conditions, with deny overriding allow. Sets `ctx.decision` (`allow`, `reasons`, and `unmask`:
 * the fields the masking plugin may leave in clear) and the fact `decision`. Refusals are
 * 403 `insufficient_scope` (RFC 6750); a request without a principal is 401; a request for a
 * model or route that does not exist is 404 (`model_not_found`, `not_found`), not 403, once the
 * caller is authenticated. Operations in `publicOperations` (`health` and `console` by default)
 * are not decided.
 *
 * @example
 * ```ts
 * const gate = createGate({
 *   models: [{ name: 'credit-risk', backend, labels: { tenant: 'acme' } }],
 *   plugins: [
 *     authenticate({ jwt }),
 *     authorize({
 *       policy: {
 *         version: 1,
 *         rules: [
 *           {
 *             id: 'underwriters',
 *             effect: 'allow',
 *             principal: { roles: ['underwriter'] },
 *             actions: ['predict', 'explain', 'unmask:income'],
 *             conditions: [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }],
 *           },
 *         ],
 *       },
 *     }),
 *   ],
 * })
 * ```
 */
export const authorize = (options: AuthorizeOptions): Plugin => {
  if (!options || typeof options !== 'object' || !options.policy)
    throw new TypeError('authorize needs a policy')
  checkOptionKeys('authorize', options, OPTIONS)
  const engine: PolicyEngine =
    typeof (options.policy as PolicyEngine).decide === 'function'
      ? (options.policy as PolicyEngine)
      : compilePolicy(options.policy as never)
  const isPublic = publicRequests(options.publicOperations, 'authorize')
  const actionOf = options.action ?? defaultAction
  const clock = options.clock ?? Date.now
  const realm = options.realm ?? 'modelgate'
  if (options.action !== undefined && typeof options.action !== 'function')
    throw new TypeError('authorize: action must be a function')
  if (options.context !== undefined && typeof options.context !== 'function')
    throw new TypeError('authorize: context must be a function')

  function decide(ctx: GateContext): void {
    const principal = ctx.principal
    if (!principal) {
      throw new UnauthorizedError('authentication required', {
        'www-authenticate': `Bearer realm="${realm}"`,
      })
    }
    // What does not exist is not forbidden: the caller may know it is missing.
    if (ctx.route.kind === 'unknown') throw new NotFoundError('no such route')
    if (ctx.route.model !== undefined) ctx.requireModel()
    const model = ctx.model
    const labels = model?.entry.labels
    const version = model?.version ?? ctx.route.version
    const name = model?.name ?? ctx.route.model
    const fields = unmaskFieldsOf(ctx)
    const resource: PolicyRequest['resource'] = {}
    if (name !== undefined) resource.model = name
    if (version !== undefined) resource.version = version
    if (labels) resource.labels = labels
    const request: PolicyRequest = { principal, action: actionOf(ctx), resource, now: clock() }
    if (options.context) request.context = options.context(ctx)
    if (fields) request.unmaskFields = fields
    const decision = engine.decide(request)
    ctx.decision = decision
    ctx.facts.decision = {
      allow: decision.allow,
      action: request.action,
      reasons: decision.reasons,
    }
    if (!decision.allow) {
      throw new ForbiddenError(
        'insufficient scope',
        {
          'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", error_description="not allowed"`,
        },
        'insufficient_scope',
      )
    }
  }

  return async function authorize(ctx, next) {
    if (isPublic(ctx)) return next()
    // Decide now when authentication already ran, so a refused request costs nothing more;
    // otherwise (authenticate or decrypt's nested JWT later in the chain) once every plugin has
    // run its way in, right before the model: the decision holds in any plugin order.
    if (ctx.principal) decide(ctx)
    else ctx.addCheck(async () => decide(ctx))
    await next()
  }
}

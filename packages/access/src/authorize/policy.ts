import type { Principal } from '@modelgate/core'
import type {
  PolicyCondition,
  PolicyDocument,
  PolicyEngine,
  PolicyRequest,
  PolicyRule,
  Weekday,
} from '../types.js'

const BASE_ACTIONS = [
  'predict',
  'explain',
  'chat',
  'embed',
  'metadata',
  'metrics',
  'admin',
] as const
type BaseAction = (typeof BASE_ACTIONS)[number]
const WEEKDAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const RULE_KEYS = new Set([
  'id',
  'effect',
  'description',
  'principal',
  'actions',
  'resource',
  'conditions',
])
const PRINCIPAL_KEYS = new Set(['ids', 'kinds', 'roles', 'scopes', 'tenants'])
const RESOURCE_KEYS = new Set(['models', 'versions'])
const CONDITION_OPS = [
  'equals',
  'notEquals',
  'in',
  'contains',
  'exists',
  'equalsAttribute',
  'greaterOrEqual',
  'lessOrEqual',
] as const
const ATTRIBUTE =
  /^(principal\.(id|kind|tenant|roles|scopes)|principal\.claims(\.[A-Za-z0-9_:-]+)+|resource\.(model|version)|resource\.labels\.[A-Za-z0-9_.:-]+|context(\.[A-Za-z0-9_:-]+)+)$/
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/
const FIELD = /^[A-Za-z0-9_.:-]{1,128}$/

/**
 * A policy document that failed validation; `message` names the rule and the field.
 *
 * @example
 * ```ts
 * try {
 *   compilePolicy(JSON.parse(text))
 * } catch (e) {
 *   if (e instanceof PolicyError) console.error(e.message) // rules[3] ("auditors"): unknown action "delete"
 * }
 * ```
 */
export class PolicyError extends TypeError {
  constructor(message: string) {
    super(message)
    this.name = 'PolicyError'
  }
}

type Req = PolicyRequest
type Test = (req: Req) => boolean

const DEFAULT_DENY = Object.freeze(['default-deny']) as unknown as string[]

interface Compiled {
  allowReason: string
  allowReasons: string[]
  denyReasons: string[]
  match: Test
  unmaskAll: boolean
  unmask: string[]
}

/**
 * Checks a policy document (in code or parsed from JSON) and throws {@link PolicyError} on
 * anything unknown: fields, actions, attributes, operators, malformed time windows, duplicate ids.
 *
 * @example
 * ```ts
 * const policy = validatePolicy(JSON.parse(await readFile('policy.json', 'utf8')))
 * ```
 */
export function validatePolicy(doc: unknown): PolicyDocument {
  if (!isObject(doc)) throw new PolicyError('policy must be an object')
  for (const k of Object.keys(doc))
    if (k !== 'version' && k !== 'rules') throw new PolicyError(`policy: unknown field "${k}"`)
  if (doc.version !== 1) throw new PolicyError('policy: "version" must be 1')
  if (!Array.isArray(doc.rules)) throw new PolicyError('policy: "rules" must be an array')
  const ids = new Set<string>()
  doc.rules.forEach((rule: unknown, i: number) => {
    const where = `rules[${i}]`
    if (!isObject(rule)) throw new PolicyError(`${where}: must be an object`)
    const at = typeof rule.id === 'string' ? `${where} ("${rule.id}")` : where
    for (const k of Object.keys(rule))
      if (!RULE_KEYS.has(k)) throw new PolicyError(`${at}: unknown field "${k}"`)
    if (typeof rule.id !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(rule.id)) {
      throw new PolicyError(`${where}: "id" must be 1-128 characters of A-Z a-z 0-9 _ . : -`)
    }
    if (ids.has(rule.id)) throw new PolicyError(`${at}: duplicate rule id`)
    ids.add(rule.id)
    if (rule.effect !== 'allow' && rule.effect !== 'deny')
      throw new PolicyError(`${at}: "effect" must be "allow" or "deny"`)
    if (rule.description !== undefined && typeof rule.description !== 'string')
      throw new PolicyError(`${at}: "description" must be a string`)
    if (!Array.isArray(rule.actions) || rule.actions.length === 0)
      throw new PolicyError(`${at}: "actions" must be a non-empty array`)
    for (const a of rule.actions) {
      const ok =
        a === '*' ||
        (BASE_ACTIONS as readonly unknown[]).includes(a) ||
        (typeof a === 'string' &&
          a.startsWith('unmask:') &&
          (a === 'unmask:*' || FIELD.test(a.slice(7))))
      if (!ok) throw new PolicyError(`${at}: unknown action ${JSON.stringify(a)}`)
    }
    checkMatcher(rule.principal, PRINCIPAL_KEYS, `${at}.principal`)
    checkMatcher(rule.resource, RESOURCE_KEYS, `${at}.resource`)
    if (rule.conditions !== undefined) {
      if (!Array.isArray(rule.conditions))
        throw new PolicyError(`${at}: "conditions" must be an array`)
      rule.conditions.forEach((c: unknown, j: number) =>
        checkCondition(c, `${at}.conditions[${j}]`),
      )
    }
  })
  return doc as unknown as PolicyDocument
}

function checkMatcher(value: unknown, keys: Set<string>, at: string): void {
  if (value === undefined) return
  if (!isObject(value)) throw new PolicyError(`${at}: must be an object`)
  for (const [k, v] of Object.entries(value)) {
    if (!keys.has(k)) throw new PolicyError(`${at}: unknown field "${k}"`)
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s === '')) {
      throw new PolicyError(`${at}.${k}: must be a non-empty array of strings`)
    }
  }
}

function checkCondition(c: unknown, at: string): void {
  if (!isObject(c)) throw new PolicyError(`${at}: must be an object`)
  if ('timeWindow' in c) {
    if (Object.keys(c).length !== 1) throw new PolicyError(`${at}: timeWindow stands alone`)
    const w = c.timeWindow
    if (!isObject(w)) throw new PolicyError(`${at}.timeWindow: must be an object`)
    for (const k of Object.keys(w))
      if (!['start', 'end', 'days'].includes(k))
        throw new PolicyError(`${at}.timeWindow: unknown field "${k}"`)
    if (typeof w.start !== 'string' || !HHMM.test(w.start))
      throw new PolicyError(`${at}.timeWindow.start: expected "HH:MM" (UTC)`)
    if (typeof w.end !== 'string' || !HHMM.test(w.end))
      throw new PolicyError(`${at}.timeWindow.end: expected "HH:MM" (UTC)`)
    if (
      w.days !== undefined &&
      (!Array.isArray(w.days) || w.days.some((d) => !WEEKDAYS.includes(d as Weekday)))
    ) {
      throw new PolicyError(`${at}.timeWindow.days: expected ${WEEKDAYS.join(', ')}`)
    }
    return
  }
  const keys = Object.keys(c)
  if (typeof c.attribute !== 'string' || !ATTRIBUTE.test(c.attribute)) {
    throw new PolicyError(`${at}: unknown attribute ${JSON.stringify(c.attribute)}`)
  }
  const ops = keys.filter((k) => k !== 'attribute')
  if (ops.length !== 1 || !(CONDITION_OPS as readonly string[]).includes(ops[0]!)) {
    throw new PolicyError(
      `${at}: needs exactly one of ${CONDITION_OPS.join(', ')} (got ${ops.join(', ') || 'none'})`,
    )
  }
  const op = ops[0]!
  const v = c[op]
  const scalar = (x: unknown) =>
    typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'
  if ((op === 'equals' || op === 'notEquals' || op === 'contains') && !scalar(v))
    throw new PolicyError(`${at}.${op}: must be a string, number or boolean`)
  if (op === 'in' && (!Array.isArray(v) || !v.every(scalar)))
    throw new PolicyError(`${at}.in: must be an array of scalars`)
  if (op === 'exists' && typeof v !== 'boolean')
    throw new PolicyError(`${at}.exists: must be a boolean`)
  if (op === 'equalsAttribute' && (typeof v !== 'string' || !ATTRIBUTE.test(v)))
    throw new PolicyError(`${at}: unknown attribute ${JSON.stringify(v)}`)
  if (
    (op === 'greaterOrEqual' || op === 'lessOrEqual') &&
    (typeof v !== 'number' || !Number.isFinite(v))
  ) {
    throw new PolicyError(`${at}.${op}: must be a finite number`)
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function getter(path: string): (req: Req) => unknown {
  const parts = path.split('.')
  const [root, second] = parts
  if (root === 'principal') {
    if (second === 'claims') {
      const rest = parts.slice(2)
      return (req) => dig(req.principal.claims, rest)
    }
    const key = second as keyof Principal
    return (req) => req.principal[key]
  }
  if (root === 'resource') {
    if (second === 'labels') {
      const label = parts.slice(2).join('.')
      return (req) => req.resource.labels?.[label]
    }
    const key = second as 'model' | 'version'
    return (req) => req.resource[key]
  }
  const rest = parts.slice(1)
  return (req) => dig(req.context, rest)
}

function dig(value: unknown, path: string[]): unknown {
  let v = value
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return v
}

function compileCondition(c: PolicyCondition): Test {
  if ('timeWindow' in c) {
    const [sh, sm] = c.timeWindow.start.split(':').map(Number) as [number, number]
    const [eh, em] = c.timeWindow.end.split(':').map(Number) as [number, number]
    const start = sh * 60 + sm
    const end = eh * 60 + em
    const days = c.timeWindow.days
      ? new Set(c.timeWindow.days.map((d) => WEEKDAYS.indexOf(d)))
      : undefined
    return (req) => {
      const d = new Date(req.now ?? Date.now())
      if (days && !days.has(d.getUTCDay())) return false
      const m = d.getUTCHours() * 60 + d.getUTCMinutes()
      return start <= end ? m >= start && m < end : m >= start || m < end
    }
  }
  const get = getter(c.attribute)
  const anyOf = (v: unknown, f: (x: unknown) => boolean) => (Array.isArray(v) ? v.some(f) : f(v))
  if ('equals' in c) {
    const want = c.equals
    return (req) => anyOf(get(req), (x) => x === want)
  }
  if ('notEquals' in c) {
    const want = c.notEquals
    return (req) => {
      const v = get(req)
      return v !== undefined && !anyOf(v, (x) => x === want)
    }
  }
  if ('in' in c) {
    const set = new Set<unknown>(c.in)
    return (req) => anyOf(get(req), (x) => set.has(x))
  }
  if ('contains' in c) {
    const want = c.contains
    return (req) => {
      const v = get(req)
      return Array.isArray(v)
        ? v.includes(want)
        : typeof v === 'string' && typeof want === 'string' && v.includes(want)
    }
  }
  if ('exists' in c) {
    const want = c.exists
    return (req) => (get(req) !== undefined && get(req) !== null) === want
  }
  if ('equalsAttribute' in c) {
    const other = getter(c.equalsAttribute)
    return (req) => {
      const a = get(req)
      return a !== undefined && a !== null && typeof a !== 'object' && a === other(req)
    }
  }
  if ('greaterOrEqual' in c) {
    const n = c.greaterOrEqual
    return (req) => {
      const v = get(req)
      return typeof v === 'number' && v >= n
    }
  }
  const n = (c as { lessOrEqual: number }).lessOrEqual
  return (req) => {
    const v = get(req)
    return typeof v === 'number' && v <= n
  }
}

function nameMatcher(
  patterns: string[] | undefined,
  get: (req: Req) => string | undefined,
): Test | undefined {
  if (!patterns || patterns.includes('*')) return undefined
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')))
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1))
  return (req) => {
    const v = get(req)
    if (v === undefined) return false
    if (exact.has(v)) return true
    for (const p of prefixes) if (v.startsWith(p)) return true
    return false
  }
}

function setMatcher(
  list: string[] | undefined,
  get: (p: Principal) => string | string[] | undefined,
): Test | undefined {
  if (!list) return undefined
  const set = new Set(list)
  return (req) => {
    const v = get(req.principal)
    if (v === undefined) return false
    if (typeof v === 'string') return set.has(v)
    for (const x of v) if (set.has(x)) return true
    return false
  }
}

function compileRule(rule: PolicyRule, modelIndexed: boolean): Compiled {
  const tests: Test[] = []
  const p = rule.principal
  for (const t of [
    setMatcher(p?.ids, (x) => x.id),
    setMatcher(p?.kinds, (x) => x.kind),
    setMatcher(p?.roles, (x) => x.roles),
    setMatcher(p?.scopes, (x) => x.scopes),
    setMatcher(p?.tenants, (x) => x.tenant),
    modelIndexed ? undefined : nameMatcher(rule.resource?.models, (r) => r.resource.model),
    nameMatcher(rule.resource?.versions, (r) => r.resource.version),
    ...(rule.conditions ?? []).map(compileCondition),
  ]) {
    if (t) tests.push(t)
  }
  const match: Test =
    tests.length === 0
      ? () => true
      : tests.length === 1
        ? tests[0]!
        : (req) => {
            for (let i = 0; i < tests.length; i++) if (!tests[i]!(req)) return false
            return true
          }
  const unmaskAll = rule.actions.includes('*') || rule.actions.includes('unmask:*')
  const unmask = rule.actions
    .filter((a) => a.startsWith('unmask:') && a !== 'unmask:*')
    .map((a) => a.slice(7))
  const freeze = (s: string) => Object.freeze([s]) as unknown as string[]
  return {
    allowReason: `allow:${rule.id}`,
    allowReasons: freeze(`allow:${rule.id}`),
    denyReasons: freeze(`deny:${rule.id}`),
    match,
    unmaskAll,
    unmask,
  }
}

/**
 * Validates and compiles a policy document into a {@link PolicyEngine}: rules are indexed by
 * action, matchers become closures over sets, and `deny` overrides `allow`. Every decision lists
 * the rules that made it (`allow:<id>`, `deny:<id>`, or `default-deny`) and the fields this
 * principal may see unmasked.
 *
 * @example
 * ```ts
 * const engine = compilePolicy({
 *   version: 1,
 *   rules: [
 *     { id: 'underwriters', effect: 'allow', principal: { roles: ['underwriter'] }, actions: ['predict', 'unmask:income'] },
 *     { id: 'no-night-work', effect: 'deny', actions: ['*'], conditions: [{ timeWindow: { start: '22:00', end: '06:00' } }] },
 *   ],
 * })
 * engine.decide({ principal, action: 'predict', resource: { model: 'credit-risk' } })
 * // { allow: true, reasons: ['allow:underwriters'], unmask: ['income'] }
 * ```
 */
export function compilePolicy(policy: PolicyDocument): PolicyEngine {
  validatePolicy(policy)
  type Entry = { c: Compiled; effect: 'allow' | 'deny'; models: string[] | undefined }
  const entries = new Map<string, Entry[]>(BASE_ACTIONS.map((a) => [a, []]))
  const unmaskAllow: Compiled[] = []
  const unmaskDeny: Compiled[] = []
  for (const rule of policy.rules) {
    const models = rule.resource?.models
    const indexed = models !== undefined && models.every((m) => !m.endsWith('*'))
    const c = compileRule(rule, indexed)
    const actions = rule.actions.includes('*')
      ? BASE_ACTIONS
      : rule.actions.filter((a): a is BaseAction => entries.has(a))
    for (const a of new Set(actions))
      entries.get(a)!.push({ c, effect: rule.effect, models: indexed ? models : undefined })
    if (c.unmaskAll || c.unmask.length > 0) {
      ;(rule.effect === 'allow' ? unmaskAllow : unmaskDeny).push(
        indexed ? compileRule(rule, false) : c,
      )
    }
  }
  type Lists = { allow: Compiled[]; deny: Compiled[] }
  const lists = (es: Entry[]): Lists => ({
    allow: es.filter((e) => e.effect === 'allow').map((e) => e.c),
    deny: es.filter((e) => e.effect === 'deny').map((e) => e.c),
  })
  const byAction = new Map<string, { any: Lists; byModel: Map<string, Lists> }>()
  for (const [action, es] of entries) {
    const names = new Set(es.flatMap((e) => e.models ?? []))
    const byModel = new Map<string, Lists>()
    for (const m of names)
      byModel.set(m, lists(es.filter((e) => e.models === undefined || e.models.includes(m))))
    byAction.set(action, { any: lists(es.filter((e) => e.models === undefined)), byModel })
  }
  const noUnmask = Object.freeze([]) as unknown as string[]

  // Which unmask rules match is a bitmask; the fields it grants depend only on that mask and on
  // the field list (when frozen, as the authorize plugin passes it), so results are shared.
  const memoable = unmaskAllow.length + unmaskDeny.length <= 30
  const memoByFields = new WeakMap<string[], Map<number, string[]>>()
  const memoNoFields = new Map<number, string[]>()
  const MEMO_LIMIT = 1024

  function unmaskFor(req: Req): string[] {
    if (unmaskAllow.length === 0) return noUnmask
    const fields = req.unmaskFields
    if (!memoable || (fields !== undefined && !Object.isFrozen(fields)))
      return unmaskOf(req, undefined)
    const allowCount = unmaskAllow.length
    let mask = 0
    for (let i = 0; i < allowCount; i++) if (unmaskAllow[i]!.match(req)) mask |= 1 << i
    if (mask === 0) return noUnmask
    for (let j = 0; j < unmaskDeny.length; j++)
      if (unmaskDeny[j]!.match(req)) mask |= 1 << (allowCount + j)
    let memo = fields === undefined ? memoNoFields : memoByFields.get(fields)
    if (memo === undefined) {
      memo = new Map()
      memoByFields.set(fields!, memo)
    }
    let out = memo.get(mask)
    if (out === undefined) {
      out = Object.freeze(unmaskOf(req, mask)) as string[]
      if (memo.size < MEMO_LIMIT) memo.set(mask, out)
    }
    return out
  }

  /** The fields to unmask, from the rules that match `req` (or the ones set in `mask`). */
  function unmaskOf(req: Req, mask: number | undefined): string[] {
    const allowCount = unmaskAllow.length
    const hits = (i: number, r: Compiled) =>
      mask === undefined ? r.match(req) : (mask & (1 << i)) !== 0
    let all = false
    let granted: Set<string> | undefined
    for (let i = 0; i < allowCount; i++) {
      const r = unmaskAllow[i]!
      if (!hits(i, r)) continue
      if (r.unmaskAll) all = true
      else for (const f of r.unmask) (granted ??= new Set()).add(f)
    }
    if (!all && !granted) return noUnmask
    let denied: Set<string> | undefined
    for (let j = 0; j < unmaskDeny.length; j++) {
      const r = unmaskDeny[j]!
      if (!hits(allowCount + j, r)) continue
      if (r.unmaskAll) return noUnmask
      for (const f of r.unmask) (denied ??= new Set()).add(f)
    }
    if (all) {
      if (!denied) return ['*']
      const fields = req.unmaskFields ?? [...(granted ?? [])]
      return fields.filter((f) => !denied!.has(f))
    }
    const known = req.unmaskFields
    const fields = known ? known.filter((f) => granted!.has(f)) : [...granted!]
    return denied ? fields.filter((f) => !denied!.has(f)) : fields
  }

  return {
    decide(req) {
      const index = byAction.get(req.action)
      if (!index) return { allow: false, reasons: DEFAULT_DENY, unmask: noUnmask }
      const model = req.resource.model
      const rules = (model !== undefined && index.byModel.get(model)) || index.any
      const deny = rules.deny
      for (let i = 0; i < deny.length; i++) {
        if (deny[i]!.match(req))
          return { allow: false, reasons: deny[i]!.denyReasons, unmask: noUnmask }
      }
      const allow = rules.allow
      let first: Compiled | undefined
      let more: string[] | undefined
      for (let i = 0; i < allow.length; i++) {
        const r = allow[i]!
        if (!r.match(req)) continue
        if (!first) first = r
        else (more ??= [first.allowReason]).push(r.allowReason)
      }
      if (!first) return { allow: false, reasons: DEFAULT_DENY, unmask: noUnmask }
      return { allow: true, reasons: more ?? first.allowReasons, unmask: unmaskFor(req) }
    },
  }
}

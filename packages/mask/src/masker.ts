import { BudgetMeter, DEFAULT_BUDGET } from './budget.js'
import { createDetector } from './detector.js'
import { FF1 } from './ff1.js'
import {
  b64url,
  decodeKey,
  deriveKeys,
  fromB64url,
  hmac,
  open,
  seal,
  toHex,
  type KeyRing,
} from './keys.js'
import type {
  DetectHints,
  Detector,
  FieldRule,
  MaskCounts,
  MaskerOptions,
  MaskPolicy,
  MaskScope,
  OperatorConfig,
  Span,
} from './types.js'
import { TOKEN_PATTERN, TokenVault } from './vault.js'

const KEYED = new Set(['hash', 'pseudonymize', 'encrypt', 'fpe', 'dateShift'])
const OPS = new Set([
  'redact',
  'replace',
  'mask',
  'hash',
  'pseudonymize',
  'encrypt',
  'fpe',
  'generalize',
  'dateShift',
  'noise',
  'scan',
  'keep',
])
const NUMERIC_OPS = new Set(['redact', 'generalize', 'noise', 'keep'])
const DIGITS = '0123456789'
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ENC_PREFIX = 'enc:v1:'
const ENC_PATTERN = /enc:v1:[A-Za-z0-9_-]{38,}/g
const DIGIT_TYPES = new Set(['CREDIT_CARD', 'US_SSN', 'PHONE_NUMBER'])

/**
 * Result of masking free text.
 *
 * @example
 * ```ts
 * const { text, spans, counts } = await masker.maskText('mail ana@example.org')
 * ```
 */
export interface MaskTextResult {
  text: string
  spans: Span[]
  counts: MaskCounts
}

/**
 * Extra structure for {@link Masker.applyPolicy}: per-call field rules (from a feature schema)
 * and record fields that must be left alone (model features such as categories).
 *
 * @example
 * ```ts
 * await masker.applyPolicy(body, { tenant: 'acme', fields: { email: { op: 'hash', type: 'EMAIL_ADDRESS' } }, skip: ['purpose'] })
 * ```
 */
export interface ApplyOptions extends MaskScope {
  fields?: Record<string, FieldRule>
  skip?: string[]
  /** Counts to add to (entity type → number of masked values). */
  counts?: MaskCounts
  /** A meter to charge instead of a new one per call (one budget for request and response). */
  budget?: BudgetMeter
}

/**
 * Masks values, free text and JSON documents under one policy and key; reverses what is
 * reversible. Created by {@link createMasker}.
 *
 * @example
 * ```ts
 * const masked = await masker.applyPolicy({ instances: [{ email: 'ana@example.org' }] }, { tenant: 'acme' })
 * ```
 */
export interface Masker {
  readonly detector: Detector
  readonly policy: MaskPolicy
  readonly vault: TokenVault | undefined
  /** `hints.fieldName` (the JSON key or form label of the text) raises the prior of its type. */
  maskText(text: string, scope?: MaskScope, hints?: DetectHints): Promise<MaskTextResult>
  maskValue(value: unknown, rule: FieldRule, scope?: MaskScope): Promise<unknown>
  unmaskValue(value: unknown, rule: FieldRule, scope?: MaskScope): Promise<unknown>
  unmaskText(text: string, scope?: MaskScope): Promise<string>
  applyPolicy(
    body: unknown,
    options?: ApplyOptions,
  ): Promise<{ value: unknown; counts: MaskCounts }>
  /** Rule for an entity type found in free text. */
  entityRule(type: string): FieldRule
}

/** Checks one operator config; throws a TypeError naming `where`. */
export function validateRule(rule: unknown, where: string, hasKey: boolean): void {
  const r = rule as Record<string, unknown>
  if (!r || typeof r !== 'object' || typeof r.op !== 'string' || !OPS.has(r.op)) {
    throw new TypeError(`${where}: op must be one of ${[...OPS].join(', ')}`)
  }
  if (KEYED.has(r.op) && !hasKey) throw new TypeError(`${where}: the ${r.op} operator needs a key`)
  const int = (k: string, lo: number, hi: number) => {
    if (
      r[k] !== undefined &&
      (!Number.isInteger(r[k]) || (r[k] as number) < lo || (r[k] as number) > hi)
    ) {
      throw new TypeError(`${where}.${k} must be an integer in [${lo}, ${hi}]`)
    }
  }
  int('keepFirst', 0, 64)
  int('keepLast', 0, 64)
  int('length', 16, 64)
  int('size', 1, 1e9)
  int('digits', 0, 10)
  int('maxDays', 1, 3650)
  if (
    r.op === 'mask' &&
    r.char !== undefined &&
    (typeof r.char !== 'string' || [...r.char].length !== 1)
  ) {
    throw new TypeError(`${where}.char must be one character`)
  }
  if (r.op === 'noise') {
    if (typeof r.epsilon !== 'number' || !(r.epsilon > 0) || !Number.isFinite(r.epsilon)) {
      throw new TypeError(`${where}.epsilon must be a positive number`)
    }
    if (
      r.sensitivity !== undefined &&
      (typeof r.sensitivity !== 'number' || !(r.sensitivity > 0))
    ) {
      throw new TypeError(`${where}.sensitivity must be a positive number`)
    }
  }
  if (
    r.op === 'fpe' &&
    r.alphabet !== undefined &&
    r.alphabet !== 'digits' &&
    r.alphabet !== 'alnum'
  ) {
    throw new TypeError(`${where}.alphabet must be "digits" or "alnum"`)
  }
  if (
    r.op === 'generalize' &&
    r.kind !== undefined &&
    !['age', 'zip', 'date', 'number'].includes(r.kind as string)
  ) {
    throw new TypeError(`${where}.kind must be age, zip, date or number`)
  }
  if (
    r.type !== undefined &&
    (typeof r.type !== 'string' || !/^[A-Z][A-Z0-9_]{0,40}$/.test(r.type))
  ) {
    throw new TypeError(`${where}.type must be an upper-case entity name`)
  }
}

/** Checks a whole policy; throws a TypeError naming the bad rule. */
export function validatePolicy(policy: MaskPolicy, hasKey: boolean): void {
  if (!policy || typeof policy !== 'object') throw new TypeError('policy must be an object')
  for (const section of ['entities', 'fields', 'paths', 'outputs'] as const) {
    const rules = policy[section]
    if (rules === undefined) continue
    if (typeof rules !== 'object' || Array.isArray(rules))
      throw new TypeError(`policy.${section} must be an object`)
    for (const [name, rule] of Object.entries(rules)) {
      validateRule(rule, `policy.${section}.${name}`, hasKey)
      if (section === 'entities' && (rule.op === 'scan' || rule.op === 'noise')) {
        throw new TypeError(`policy.entities.${name}: ${rule.op} does not apply to entities`)
      }
      if (section === 'paths' && !/^\$(?:\.[A-Za-z0-9_-]+|\[\*\])*$/.test(name)) {
        throw new TypeError(`policy.paths: "${name}" must look like $.a.b[*].c`)
      }
    }
  }
  if (policy.scanStrings !== undefined && typeof policy.scanStrings !== 'boolean') {
    throw new TypeError('policy.scanStrings must be a boolean')
  }
}

function laplace(scale: number): number {
  const r = crypto.getRandomValues(new Uint32Array(2))
  const u = (r[0]! * 2 ** 21 + (r[1]! >>> 11)) / 2 ** 53 - 0.5
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u))
}

const DATE_FORMS = [
  {
    re: /^(\d{4})-(\d{2})-(\d{2})(.*)$/,
    y: 1,
    m: 2,
    d: 3,
    fmt: (y: string, m: string, d: string) => `${y}-${m}-${d}`,
  },
  {
    re: /^(\d{2})\/(\d{2})\/(\d{4})(.*)$/,
    y: 3,
    m: 1,
    d: 2,
    fmt: (y: string, m: string, d: string) => `${m}/${d}/${y}`,
  },
]

function shiftDate(value: string, days: number): string | undefined {
  for (const f of DATE_FORMS) {
    const m = f.re.exec(value)
    if (!m) continue
    const t = Date.UTC(+m[f.y]!, +m[f.m]! - 1, +m[f.d]!)
    if (Number.isNaN(t)) return undefined
    const d = new Date(t + days * 86_400_000)
    const p = (n: number, w = 2) => String(n).padStart(w, '0')
    return f.fmt(p(d.getUTCFullYear(), 4), p(d.getUTCMonth() + 1), p(d.getUTCDate())) + m[4]
  }
  return undefined
}

function maskChars(value: string, char: string, keepFirst: number, keepLast: number): string {
  const chars = [...value]
  const alnum = chars.map((c) => /[\p{L}\p{N}]/u.test(c))
  const total = alnum.filter(Boolean).length
  if (total <= keepFirst + keepLast) return chars.map((c, i) => (alnum[i] ? char : c)).join('')
  let seen = 0
  return chars
    .map((c, i) => {
      if (!alnum[i]) return c
      seen++
      return seen <= keepFirst || seen > total - keepLast ? c : char
    })
    .join('')
}

function normalise(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]')
}

/**
 * Builds a masker: validates the policy once (TypeError on a bad rule or a keyed operator
 * without a key) and derives operator subkeys from `key` with HKDF-SHA-256 on first use.
 *
 * @example
 * ```ts
 * const masker = createMasker({
 *   key: crypto.getRandomValues(new Uint8Array(32)),
 *   policy: { entities: { CREDIT_CARD: { op: 'fpe' }, '*': { op: 'replace' } }, fields: { email: { op: 'hash' } } },
 * })
 * const { text } = await masker.maskText('card 4111 1111 1111 1111, mail ana@example.org')
 * // 'card 8302 5521 0937 6614, mail <EMAIL_ADDRESS>'
 * ```
 */
export function createMasker(options: MaskerOptions = {}): Masker {
  const raw = options.key === undefined ? undefined : decodeKey(options.key)
  const policy: MaskPolicy = options.policy ?? {}
  validatePolicy(policy, raw !== undefined)
  const budget = options.budget === false ? undefined : { ...DEFAULT_BUDGET, ...options.budget }
  if (budget) new BudgetMeter(budget) // validates the limits at construction
  const meterFor = (hints?: DetectHints): BudgetMeter | undefined =>
    hints?.budget ?? (budget ? new BudgetMeter(budget) : undefined)
  const detector: Detector =
    options.detector && typeof (options.detector as Detector).detect === 'function'
      ? (options.detector as Detector)
      : createDetector(options.detector as Parameters<typeof createDetector>[0])
  const keys: Promise<KeyRing> | undefined = raw ? deriveKeys(raw) : undefined
  keys?.catch(() => undefined)
  const vault =
    raw && options.vault !== false
      ? new TokenVault({
          key: raw,
          ...(options.vault ? { store: options.vault } : {}),
          ...(options.vaultTtlMs ? { ttlMs: options.vaultTtlMs } : {}),
        })
      : undefined
  const bareVault = raw && !vault ? new TokenVault({ key: raw }) : undefined
  const ff1Cache = new Map<string, Promise<FF1>>()
  const entities = policy.entities ?? {}
  const needKeys = async (): Promise<KeyRing> => {
    if (!keys) throw new TypeError('masking key missing')
    return keys
  }
  const ff1 = async (alphabet: string): Promise<FF1> => {
    let f = ff1Cache.get(alphabet)
    if (!f) {
      f = needKeys().then((k) => FF1.create(k.ff1, alphabet))
      ff1Cache.set(alphabet, f)
    }
    return f
  }

  function entityRule(type: string): FieldRule {
    return entities[type] ?? entities['*'] ?? { op: 'replace' }
  }

  async function shiftDays(
    rule: Extract<OperatorConfig, { op: 'dateShift' }>,
    scope: MaskScope,
  ): Promise<number> {
    const k = await needKeys()
    const max = rule.maxDays ?? 365
    const mac = await hmac(k.shift, scope.tenant ?? 'default', scope.subject ?? '')
    const n = new DataView(mac.buffer).getUint32(0) % (2 * max)
    return n < max ? n - max : n - max + 1
  }

  async function fpe(
    value: string,
    rule: FieldRule & { op: 'fpe' },
    scope: MaskScope,
    decrypt: boolean,
  ): Promise<string> {
    const type = rule.type ?? scope.type ?? ''
    const alphabet =
      (rule.alphabet ?? (DIGIT_TYPES.has(type) ? 'digits' : 'alnum')) === 'digits' ? DIGITS : ALNUM
    const chars = [...value]
    const positions: number[] = []
    chars.forEach((c, i) => alphabet.includes(c) && positions.push(i))
    const cipher = await ff1(alphabet)
    const tweak = new TextEncoder().encode(
      `${scope.tenant ?? 'default'}\u0000${scope.field ?? type}`,
    )
    const symbols = positions.map((i) => chars[i]).join('')
    if (symbols.length < cipher.minLength) {
      if (decrypt) return value
      return chars.map((c, i) => (positions.includes(i) ? '*' : c)).join('')
    }
    const out = decrypt
      ? await cipher.decrypt(symbols, tweak)
      : await cipher.encrypt(symbols, tweak)
    positions.forEach((p, j) => (chars[p] = out[j]!))
    return chars.join('')
  }

  async function maskString(value: string, rule: FieldRule, scope: MaskScope): Promise<string> {
    const type = rule.type ?? scope.type ?? 'FIELD'
    switch (rule.op) {
      case 'keep':
      case 'noise':
        return value
      case 'redact':
        return ''
      case 'replace':
        return rule.with ?? `<${type}>`
      case 'mask':
        return maskChars(value, rule.char ?? '*', rule.keepFirst ?? 0, rule.keepLast ?? 4)
      case 'hash': {
        const mac = await hmac((await needKeys()).hash, scope.tenant ?? 'default', type, value)
        return toHex(mac).slice(0, rule.length ?? 32)
      }
      case 'pseudonymize': {
        const v = vault ?? bareVault!
        const opts = {
          type,
          tenant: scope.tenant ?? 'default',
          ...(rule.prefix ? { prefix: rule.prefix } : {}),
        }
        return vault ? v.tokenize(value, opts) : v.token(value, opts)
      }
      case 'encrypt': {
        const sealed = await seal((await needKeys()).gcm, value, scope.tenant ?? 'default')
        return ENC_PREFIX + b64url(sealed)
      }
      case 'fpe':
        return fpe(value, rule, scope, false)
      case 'generalize': {
        const kind =
          rule.kind ??
          (type === 'DATE_OF_BIRTH' || /^\d{4}-\d{2}-\d{2}|^\d{2}\/\d{2}\/\d{4}/.test(value)
            ? 'date'
            : /^\d{5}(?:-\d{4})?$/.test(value)
              ? 'zip'
              : /^\d+(?:\.\d+)?$/.test(value)
                ? 'age'
                : undefined)
        if (kind === 'date') return /(\d{4})/.exec(value)?.[1] ?? `<${type}>`
        if (kind === 'zip') {
          const keep = rule.digits ?? 3
          return value.replace(/\d/g, (d, i: number) => (i < keep ? d : '*'))
        }
        if (kind === 'age' || kind === 'number') {
          const n = Number(value)
          if (!Number.isFinite(n)) return `<${type}>`
          const size = rule.size ?? 10
          const lo = Math.floor(n / size) * size
          return `${lo}-${lo + size - 1}`
        }
        return `<${type}>`
      }
      case 'dateShift': {
        const shifted = shiftDate(value, await shiftDays(rule, scope))
        return shifted ?? `<${type}>`
      }
      case 'scan':
        return (await maskText(value, scope)).text
    }
  }

  async function maskValue(
    value: unknown,
    rule: FieldRule,
    scope: MaskScope = {},
  ): Promise<unknown> {
    if (typeof value === 'string') return maskString(value, rule, scope)
    if (typeof value === 'number') {
      if (rule.op === 'noise') return value + laplace((rule.sensitivity ?? 1) / rule.epsilon)
      if (rule.op === 'generalize') {
        const size = rule.size ?? 10
        return Math.floor(value / size) * size
      }
      if (rule.op === 'keep') return value
      return NUMERIC_OPS.has(rule.op) || rule.op !== 'scan' ? 0 : value
    }
    if (typeof value === 'boolean') return rule.op === 'keep' || rule.op === 'scan' ? value : false
    if (Array.isArray(value)) return Promise.all(value.map((v) => maskValue(v, rule, scope)))
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = await maskValue(v, rule, scope)
      return out
    }
    return value
  }

  async function unmaskValue(
    value: unknown,
    rule: FieldRule,
    scope: MaskScope = {},
  ): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => unmaskValue(v, rule, scope)))
    if (typeof value !== 'string') return value
    const type = rule.type ?? scope.type ?? 'FIELD'
    switch (rule.op) {
      case 'encrypt':
      case 'pseudonymize':
      case 'scan':
        return unmaskText(value, scope)
      case 'fpe':
        return fpe(value, rule, scope, true)
      case 'dateShift':
        return shiftDate(value, -(await shiftDays(rule, scope))) ?? value
      default:
        void type
        return value
    }
  }

  async function unmaskText(text: string, scope: MaskScope = {}): Promise<string> {
    const tenant = scope.tenant ?? 'default'
    const parts: Array<{ start: number; end: number; value: Promise<string | undefined> }> = []
    if (text.includes(ENC_PREFIX) && keys) {
      for (const m of text.matchAll(ENC_PATTERN)) {
        const value = needKeys().then((k) =>
          open(k.gcm, fromB64url(m[0].slice(ENC_PREFIX.length)), tenant),
        )
        parts.push({ start: m.index, end: m.index + m[0].length, value })
      }
    }
    if (vault) {
      for (const m of text.matchAll(TOKEN_PATTERN)) {
        if (parts.some((p) => m.index < p.end && p.start < m.index + m[0].length)) continue
        parts.push({
          start: m.index,
          end: m.index + m[0].length,
          value: vault.detokenize(m[0], { tenant }),
        })
      }
    }
    if (parts.length === 0) return text
    parts.sort((a, b) => a.start - b.start)
    let out = ''
    let at = 0
    for (const p of parts) {
      const v = await p.value
      out += text.slice(at, p.start) + (v ?? text.slice(p.start, p.end))
      at = p.end
    }
    return out + text.slice(at)
  }

  async function maskText(
    text: string,
    scope: MaskScope = {},
    hints?: DetectHints,
  ): Promise<MaskTextResult> {
    const meter = meterFor(hints)
    const spans = detector.detect(text, meter ? { ...hints, budget: meter } : hints)
    const counts: MaskCounts = {}
    if (spans.length === 0) return { text, spans, counts }
    let out = ''
    let at = 0
    for (const s of spans) {
      counts[s.type] = (counts[s.type] ?? 0) + 1
      const rule = entityRule(s.type)
      const masked = await maskString(text.slice(s.start, s.end), rule, { ...scope, type: s.type })
      out += text.slice(at, s.start) + masked
      at = s.end
    }
    return { text: out + text.slice(at), spans, counts }
  }

  async function applyPolicy(
    body: unknown,
    opts: ApplyOptions = {},
  ): Promise<{ value: unknown; counts: MaskCounts }> {
    const counts: MaskCounts = opts.counts ?? {}
    const fieldRules: Record<string, FieldRule> = { ...opts.fields, ...policy.fields }
    const pathRules = policy.paths ?? {}
    const skip = new Set(opts.skip ?? [])
    const scanAll = policy.scanStrings ?? true
    const bump = (type: string, n = 1) => (counts[type] = (counts[type] ?? 0) + n)

    const visit = async (
      node: unknown,
      rootPath: string,
      recPath: string | undefined,
      scope: MaskScope,
      inherited?: FieldRule,
    ): Promise<unknown> => {
      const rule =
        pathRules[normalise(rootPath)] ??
        (recPath !== undefined ? fieldRules[normalise(recPath)] : undefined) ??
        inherited
      if (rule && rule !== inherited && rule.op !== 'scan' && rule.op !== 'keep') {
        const leaves = countLeaves(node)
        if (leaves > 0) bump(rule.type ?? 'FIELD', leaves)
        return maskValue(node, rule, {
          ...scope,
          ...(recPath ? { field: normalise(recPath) } : {}),
          ...(rule.type ? { type: rule.type } : {}),
        })
      }
      if (rule?.op === 'keep') return node
      if (typeof node === 'string') {
        if (recPath !== undefined && skip.has(recPath)) return node
        if (rule?.op !== 'scan' && !scanAll) return node
        const key = /([^.[\]]+)(?:\[\d+\])*$/.exec(recPath ?? rootPath)?.[1]
        const r = await maskText(node, scope, {
          ...(key ? { fieldName: key } : {}),
          ...(meter ? { budget: meter } : {}),
        })
        for (const [t, n] of Object.entries(r.counts)) bump(t, n)
        return r.text
      }
      if (Array.isArray(node)) {
        const out = []
        for (let i = 0; i < node.length; i++) {
          out.push(
            await visit(
              node[i],
              `${rootPath}[${i}]`,
              recPath === undefined ? undefined : `${recPath}[${i}]`,
              scope,
              rule,
            ),
          )
        }
        return out
      }
      if (node && typeof node === 'object') {
        const out: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(node)) {
          out[k] = await visit(
            v,
            `${rootPath}.${k}`,
            recPath === undefined ? undefined : recPath ? `${recPath}.${k}` : k,
            scope,
            rule,
          )
        }
        return out
      }
      return node
    }

    const scope: MaskScope = {
      tenant: opts.tenant ?? 'default',
      ...(opts.subject ? { subject: opts.subject } : {}),
    }
    // One budget for every string of the body.
    const meter = meterFor(opts.budget ? { budget: opts.budget } : undefined)
    const record = async (r: unknown, path: string) => {
      const subjectField = Object.values(fieldRules).find(
        (x) => x.op === 'dateShift' && x.subjectField,
      )
      const subj =
        subjectField && subjectField.op === 'dateShift' && r && typeof r === 'object'
          ? String((r as Record<string, unknown>)[subjectField.subjectField!] ?? '')
          : scope.subject
      return visit(r, path, '', { ...scope, ...(subj ? { subject: subj } : {}) })
    }
    let value: unknown
    if (Array.isArray(body)) {
      value = []
      for (let i = 0; i < body.length; i++)
        (value as unknown[]).push(await record(body[i], `$[${i}]`))
    } else if (
      body &&
      typeof body === 'object' &&
      Array.isArray((body as Record<string, unknown>).instances)
    ) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(body)) {
        if (k === 'instances') {
          const rows: unknown[] = []
          for (let i = 0; i < (v as unknown[]).length; i++)
            rows.push(await record((v as unknown[])[i], `$.instances[${i}]`))
          out[k] = rows
        } else out[k] = await visit(v, `$.${k}`, undefined, scope)
      }
      value = out
    } else value = await record(body, '$')
    return { value, counts }
  }

  return {
    detector,
    policy,
    vault,
    maskText,
    maskValue,
    unmaskValue,
    unmaskText,
    applyPolicy,
    entityRule,
  }
}

function countLeaves(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, v) => n + countLeaves(v), 0)
  if (node && typeof node === 'object')
    return Object.values(node).reduce((n: number, v) => n + countLeaves(v), 0)
  return node === null || node === undefined ? 0 : 1
}

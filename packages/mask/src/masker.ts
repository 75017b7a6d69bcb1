import { checkOptionKeys, isPlainObject, type OptionsShape, type Tensor } from '@modelgate/core'
import { DEFAULT_BUDGET, ScanBudget } from './budget.js'
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
import { ENC_PATTERN, ENC_PREFIX } from './ledger.js'
import { PathTrie, step, valueAt } from './paths.js'
import type {
  DetectHints,
  Detector,
  FieldRule,
  MaskCounts,
  MaskerOptions,
  MaskPolicy,
  MaskScope,
  OperatorConfig,
  OperatorName,
  Span,
  TokenOrigin,
} from './types.js'
import { TOKEN_PATTERN, TokenVault } from './vault.js'

const KEYED = new Set(['hash', 'pseudonymize', 'encrypt', 'fpe', 'dateShift'])
/** The options each operator takes, besides `op` and `type`. */
const RULE_KEYS: Record<OperatorName, readonly string[]> = {
  redact: [],
  replace: ['with'],
  mask: ['char', 'keepFirst', 'keepLast'],
  hash: ['length'],
  pseudonymize: ['prefix'],
  encrypt: [],
  fpe: ['alphabet'],
  generalize: ['kind', 'size', 'digits'],
  dateShift: ['maxDays', 'subjectField'],
  noise: ['epsilon', 'sensitivity', 'range'],
  scan: [],
  keep: [],
}
const OPS = Object.keys(RULE_KEYS)
const DIGITS = '0123456789'
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const DIGIT_TYPES = new Set(['CREDIT_CARD', 'US_SSN', 'PHONE_NUMBER'])
const ENTITY_NAME = /^[A-Z][A-Z0-9_]{0,40}$/
const INTEGER_TYPES = new Set([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'BOOL',
])
/**
 * Long texts are scanned in windows sized to take about `WINDOW_MS` each (from the speed of the
 * previous window; growing at most twofold per window, shrinking at once), with `OVERLAP`
 * characters of context on each side, so the event loop gets a turn between windows even on
 * text that is slow to scan.
 */
const WINDOW_MS = 10
const MIN_WINDOW = 1 << 12
const MAX_WINDOW = 1 << 20
const OVERLAP = 1 << 9

/** The keys of the detector options, for strict option checks. */
export const DETECTOR_SHAPE: OptionsShape = {
  entities: true,
  threshold: true,
  contextBoost: true,
  contextWindow: true,
  defaultRegion: true,
  phoneRegions: true,
  countries: true,
  languages: true,
  ner: true,
  budget: { maxBytes: true, maxCpuMs: true },
  recognizers: { type: true, pattern: true, score: true, context: true, validate: true },
  allowList: true,
  denyList: { type: true, values: true },
  context: true,
}

/** The keys of a masking policy, for strict option checks. */
export const POLICY_SHAPE: OptionsShape = {
  entities: true,
  fields: true,
  paths: true,
  outputs: true,
  scanStrings: true,
}

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
 * Extra structure for {@link Masker.applyPolicy}: where records are, per-call field and path
 * rules (from a feature schema or a route's body declaration), record fields that must be left
 * alone (model features such as categories) and which strings to scan.
 *
 * @example
 * ```ts
 * await masker.applyPolicy(body, { tenant: 'acme', fields: { email: { op: 'hash', type: 'EMAIL_ADDRESS' } }, skip: ['purpose'] })
 * ```
 */
export interface ApplyOptions extends MaskScope {
  /** Rules per record field, besides `policy.fields` (which win). */
  fields?: Record<string, FieldRule>
  /** Rules per path from the body root, besides `policy.paths` (which win). */
  paths?: Record<string, FieldRule>
  /**
   * Where the records are (`instances[]`, `applicants[]`, `''` for the body itself); default
   * `instances[]` for a V1 body, each element of an array, else the body itself; `false` for
   * none (field rules then apply nowhere).
   */
  records?: string | false
  /** Record fields whose strings are not scanned. */
  skip?: string[]
  /** Scan strings inside records that no rule covers; default `policy.scanStrings ?? true`. */
  scanRecords?: boolean
  /** Scan strings outside records that no rule covers; default `policy.scanStrings ?? true`. */
  scanOther?: boolean
  /** Counts to add to (entity type → number of masked values). */
  counts?: MaskCounts
}

/**
 * Masks values, free text, JSON documents and tensors under one policy and key, and reverses
 * tokens for the origin they were made for. Created by {@link createMasker}.
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
  /**
   * Masks a tensor element by element: `ruleAt(column)` gives the rule of each column of the
   * last dimensions (none: `BYTES` elements are scanned, numbers kept) and `fieldAt(column)` the
   * field name tokens are bound to.
   */
  maskTensor(
    tensor: Tensor,
    ruleAt: (column: number) => FieldRule | undefined,
    fieldAt: (column: number) => string,
    scope?: MaskScope & { counts?: MaskCounts; scan?: boolean },
  ): Promise<Tensor>
  /** Reverses a token made for the origin `scope` describes (tenant, type, field, text, scope). */
  unmaskValue(value: unknown, rule: FieldRule, scope?: MaskScope): Promise<unknown>
  /**
   * Reverses, in free text, the tokens made for the origin `scope` describes: `encrypt` tokens of
   * exactly that origin (type `FIELD` when none is given), pseudonyms recorded in the vault under
   * `scope.scope` whose origin matches the given type and field (either may be left out).
   */
  unmaskText(text: string, scope?: MaskScope): Promise<string>
  applyPolicy(
    body: unknown,
    options?: ApplyOptions,
  ): Promise<{ value: unknown; counts: MaskCounts }>
  /** Rule for an entity type found in free text. */
  entityRule(type: string): FieldRule
}

/**
 * Checks one operator config, strictly: an unknown key (or a key of another operator) is an
 * error naming it and the nearest key this operator takes. Throws a TypeError naming `where`.
 *
 * @example
 * ```ts
 * validateRule({ op: 'noise', epsilon: 1, range: 'probability' }, 'policy.outputs.score', false)
 * ```
 */
export function validateRule(rule: unknown, where: string, hasKey: boolean): void {
  const r = rule as Record<string, unknown>
  if (!r || typeof r !== 'object' || typeof r.op !== 'string' || !OPS.includes(r.op)) {
    throw new TypeError(`${where}: op must be one of ${OPS.join(', ')}`)
  }
  const op = r.op as OperatorName
  const shape: Record<string, true> = { op: true, type: true }
  for (const k of RULE_KEYS[op]) shape[k] = true
  checkOptionKeys(where, r, shape)
  if (KEYED.has(op) && !hasKey) throw new TypeError(`${where}: the ${op} operator needs a key`)
  const int = (k: string, lo: number, hi: number) => {
    const v = r[k]
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)) {
      throw new TypeError(`${where}.${k} must be an integer in [${lo}, ${hi}]`)
    }
  }
  int('keepFirst', 0, 64)
  int('keepLast', 0, 64)
  int('length', 16, 64)
  int('size', 1, 1e9)
  int('digits', 0, 10)
  int('maxDays', 1, 3650)
  const str = (k: string, test: (v: string) => boolean, what: string) => {
    if (r[k] !== undefined && (typeof r[k] !== 'string' || !test(r[k] as string)))
      throw new TypeError(`${where}.${k} must be ${what}`)
  }
  str('char', (v) => [...v].length === 1, 'one character')
  str('with', () => true, 'a string')
  str('prefix', (v) => ENTITY_NAME.test(v), 'upper-case letters, digits and _')
  str('subjectField', (v) => v.length > 0, 'a field name')
  str('alphabet', (v) => v === 'digits' || v === 'alnum', '"digits" or "alnum"')
  str('kind', (v) => ['age', 'zip', 'date', 'number'].includes(v), 'age, zip, date or number')
  str('type', (v) => ENTITY_NAME.test(v), 'an upper-case entity name')
  if (op === 'noise') {
    if (typeof r.epsilon !== 'number' || !(r.epsilon > 0) || !Number.isFinite(r.epsilon)) {
      throw new TypeError(`${where}.epsilon must be a positive number`)
    }
    const s = r.sensitivity
    if (s !== undefined && (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s))) {
      throw new TypeError(`${where}.sensitivity must be a positive number`)
    }
    const range = r.range
    if (
      range !== undefined &&
      range !== 'probability' &&
      !(
        Array.isArray(range) &&
        range.length === 2 &&
        range.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
        range[0] < range[1]
      )
    ) {
      throw new TypeError(`${where}.range must be "probability" or [min, max] with min < max`)
    }
  }
}

/**
 * Checks a whole policy, strictly (unknown keys are errors naming the nearest valid key);
 * throws a TypeError naming the bad rule.
 *
 * @example
 * ```ts
 * validatePolicy({ entities: { '*': { op: 'replace' } } }, false)
 * ```
 */
export function validatePolicy(policy: MaskPolicy, hasKey: boolean): void {
  if (!policy || typeof policy !== 'object' || Array.isArray(policy))
    throw new TypeError('policy must be an object')
  checkOptionKeys('policy', policy, POLICY_SHAPE)
  for (const section of ['entities', 'fields', 'paths', 'outputs'] as const) {
    const rules = policy[section]
    if (rules === undefined) continue
    if (typeof rules !== 'object' || rules === null || Array.isArray(rules))
      throw new TypeError(`policy.${section} must be an object`)
    for (const [name, rule] of Object.entries(rules)) {
      const where = `policy.${section}.${name}`
      validateRule(rule, where, hasKey)
      if (section === 'entities') {
        if (rule.op === 'scan' || rule.op === 'noise')
          throw new TypeError(`${where}: ${rule.op} does not apply to entities`)
        if (name !== '*' && !ENTITY_NAME.test(name))
          throw new TypeError(`${where}: entity types are upper-case names (or "*")`)
      }
      if (section === 'paths') {
        if (!name.startsWith('$'))
          throw new TypeError(`${where}: paths start at the root, $.a.b[*].c`)
        new PathTrie().add(name, rule)
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

/** A number under a rule: noise (clamped to its range), buckets, or 0 for string operators. */
function maskNumber(value: number, rule: FieldRule, integer = false): number {
  switch (rule.op) {
    case 'keep':
    case 'scan':
      return value
    case 'generalize': {
      const size = rule.size ?? 10
      return Math.floor(value / size) * size
    }
    case 'noise': {
      let v = value + laplace((rule.sensitivity ?? 1) / rule.epsilon)
      if (integer) v = Math.round(v)
      const range = rule.range === 'probability' ? [0, 1] : rule.range
      if (range) v = Math.min(range[1], Math.max(range[0], v))
      return v
    }
    default:
      return 0
  }
}

function originOf(scope: MaskScope, type: string): TokenOrigin {
  return {
    tenant: scope.tenant ?? 'default',
    type,
    ...(scope.field !== undefined ? { field: scope.field } : {}),
    ...(scope.text ? { text: true } : {}),
    scope: scope.scope ?? 'global',
  }
}

/** The bytes an `encrypt` token authenticates and an `fpe` tweak digests: the whole origin. */
function originBytes(o: TokenOrigin): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify(['modelgate-mask/v2', o.tenant, o.type, o.field ?? null, !!o.text, o.scope]),
  )
}

function countLeaves(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, v) => n + countLeaves(v), 0)
  if (isPlainObject(node))
    return Object.values(node).reduce((n: number, v) => n + countLeaves(v), 0)
  return node === null || node === undefined ? 0 : 1
}

interface Walk {
  paths: PathTrie<FieldRule>
  fields: PathTrie<FieldRule>
  records: PathTrie<true>
  skip: Set<string>
  scanRecords: boolean
  scanOther: boolean
  subjectField: string | undefined
  counts: MaskCounts
}

interface At {
  root: PathTrie<FieldRule>[]
  /** Positions in the record field rules; undefined outside records. */
  record: PathTrie<FieldRule>[] | undefined
  marks: PathTrie<true>[]
  /** The node is a record because its parent array was marked as holding records. */
  isRecord: boolean
  /** Canonical path from the root, or the top-level field inside a record. */
  path: string
  inherited: { rule: FieldRule; field: string } | undefined
  scope: MaskScope
}

/**
 * Builds a masker: validates the policy once (TypeError on a bad rule, an unknown key or a keyed
 * operator without a key) and derives operator subkeys from `key` with HKDF-SHA-256.
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
  if (!options || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError('masker options must be an object')
  checkOptionKeys('masker', options, {
    key: true,
    policy: true,
    detector: true,
    vault: true,
    vaultTtlMs: true,
    budget: { maxBytes: true, maxCpuMs: true },
  })
  const raw = options.key === undefined ? undefined : decodeKey(options.key)
  const policy: MaskPolicy = options.policy ?? {}
  validatePolicy(policy, raw !== undefined)
  const given = options.detector
  if (given !== undefined && typeof (given as Detector).detect !== 'function')
    checkOptionKeys('detector', given, DETECTOR_SHAPE)
  const budget = options.budget === false ? undefined : { ...DEFAULT_BUDGET, ...options.budget }
  if (budget && !(budget.maxBytes > 0 && budget.maxCpuMs > 0))
    throw new TypeError('budget: maxBytes and maxCpuMs must be positive numbers (or Infinity)')
  /** The budget of one call: the caller's (one per request), else a fresh one per call. */
  const budgetFor = (scope: MaskScope): ScanBudget | undefined =>
    scope.budget ??
    (budget
      ? new ScanBudget({ maxScanBytes: budget.maxBytes, maxScanMs: budget.maxCpuMs })
      : undefined)
  const detector: Detector =
    given && typeof (given as Detector).detect === 'function'
      ? (given as Detector)
      : createDetector(given as Parameters<typeof createDetector>[0])
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
  const scanDefault = policy.scanStrings ?? true
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
    origin: TokenOrigin,
    decrypt: boolean,
  ): Promise<string | undefined> {
    const alphabet =
      (rule.alphabet ?? (DIGIT_TYPES.has(origin.type) ? 'digits' : 'alnum')) === 'digits'
        ? DIGITS
        : ALNUM
    const chars = [...value]
    const positions: number[] = []
    chars.forEach((c, i) => alphabet.includes(c) && positions.push(i))
    const cipher = await ff1(alphabet)
    const tweak = new Uint8Array(
      await crypto.subtle.digest('SHA-256', originBytes(origin) as Uint8Array<ArrayBuffer>),
    )
    const symbols = positions.map((i) => chars[i]).join('')
    if (symbols.length < cipher.minLength) return undefined
    const out = decrypt
      ? await cipher.decrypt(symbols, tweak)
      : await cipher.encrypt(symbols, tweak)
    positions.forEach((p, j) => (chars[p] = out[j]!))
    return chars.join('')
  }

  async function maskString(value: string, rule: FieldRule, scope: MaskScope): Promise<string> {
    if (rule.op === 'scan') return (await maskText(value, { ...scope, text: true })).text
    if (rule.op === 'keep' || rule.op === 'noise') return value
    const ledger = scope.ledger
    // A value this request already made is masked: never mask it twice.
    if (ledger?.has(value)) return value
    const type = rule.type ?? scope.type ?? 'FIELD'
    const origin = originOf(scope, type)
    let out: string
    let reversible = false
    switch (rule.op) {
      case 'redact':
        out = ''
        break
      case 'replace':
        out = rule.with ?? `<${type}>`
        break
      case 'mask':
        out = maskChars(value, rule.char ?? '*', rule.keepFirst ?? 0, rule.keepLast ?? 4)
        break
      case 'hash': {
        const mac = await hmac((await needKeys()).hash, origin.tenant, type, value)
        out = toHex(mac).slice(0, rule.length ?? 32)
        break
      }
      case 'pseudonymize': {
        const opts = {
          type,
          tenant: origin.tenant,
          ...(rule.prefix ? { prefix: rule.prefix } : {}),
          ...(origin.field !== undefined ? { field: origin.field } : {}),
          ...(origin.text ? { text: true } : {}),
          ...(scope.scope !== undefined ? { scope: scope.scope } : {}),
        }
        out = vault ? await vault.tokenize(value, opts) : await bareVault!.token(value, opts)
        reversible = true
        break
      }
      case 'encrypt': {
        const sealed = await seal((await needKeys()).gcm, value, originBytes(origin))
        out = ENC_PREFIX + b64url(sealed)
        reversible = true
        break
      }
      case 'fpe': {
        const encrypted = await fpe(value, rule, origin, false)
        // Too few symbols for FF1's domain: the value is starred instead, irreversibly.
        out = encrypted ?? value.replace(/[0-9A-Za-z]/g, '*')
        reversible = encrypted !== undefined
        break
      }
      case 'generalize':
        out = generalize(value, rule, type)
        break
      case 'dateShift': {
        const shifted = shiftDate(value, await shiftDays(rule, scope))
        out = shifted ?? `<${type}>`
        reversible = shifted !== undefined
        break
      }
    }
    if (ledger) {
      if (reversible) ledger.record(out, value, origin)
      else ledger.record(out)
    }
    return out
  }

  async function maskValue(
    value: unknown,
    rule: FieldRule,
    scope: MaskScope = {},
  ): Promise<unknown> {
    if (typeof value === 'string') return maskString(value, rule, scope)
    if (typeof value === 'number') return maskNumber(value, rule)
    if (typeof value === 'boolean') return rule.op === 'keep' || rule.op === 'scan' ? value : false
    if (Array.isArray(value)) {
      const out = []
      for (const v of value) out.push(await maskValue(v, rule, scope))
      return out
    }
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = await maskValue(v, rule, scope)
      return out
    }
    return value
  }

  async function maskTensor(
    tensor: Tensor,
    ruleAt: (column: number) => FieldRule | undefined,
    fieldAt: (column: number) => string,
    scope: MaskScope & { counts?: MaskCounts; scan?: boolean } = {},
  ): Promise<Tensor> {
    const width = tensor.shape.slice(1).reduce((a, b) => a * b, 1) || 1
    const data = tensor.data
    const { counts, scan = scanDefault, ...call } = scope
    const rules = Array.from({ length: width }, (_, c) => ruleAt(c))
    const fields = Array.from({ length: width }, (_, c) => fieldAt(c))
    if (Array.isArray(data)) {
      const out: string[] = new Array(data.length)
      for (let i = 0; i < data.length; i++) {
        const rule = rules[i % width]
        const at = { ...call, field: fields[i % width]! }
        const s = data[i]!
        if (rule && rule.op !== 'scan') {
          out[i] =
            rule.op === 'noise'
              ? s
              : await maskString(s, rule, { ...at, ...(rule.type ? { type: rule.type } : {}) })
          if (counts && rule.op !== 'keep' && rule.op !== 'noise')
            bump(counts, rule.type ?? 'FIELD')
        } else if (rule?.op === 'scan' || scan) {
          const r = await maskText(s, { ...at, text: true })
          if (counts) for (const [t, n] of Object.entries(r.counts)) bump(counts, t, n)
          out[i] = r.text
        } else out[i] = s
      }
      return { ...tensor, data: out }
    }
    const numeric = rules.map((r) => (r && r.op !== 'keep' && r.op !== 'scan' ? r : undefined))
    if (!numeric.some(Boolean)) return tensor
    const integer = INTEGER_TYPES.has(tensor.datatype)
    const big = data instanceof BigInt64Array || data instanceof BigUint64Array
    const copy = data.slice() as unknown as Array<number | bigint>
    for (let i = 0; i < data.length; i++) {
      const rule = numeric[i % width]
      if (!rule) continue
      const v = maskNumber(Number(data[i]!), rule, integer)
      copy[i] = big ? BigInt(Math.round(v)) : v
    }
    return { ...tensor, data: copy as unknown as typeof data }
  }

  async function unmaskValue(
    value: unknown,
    rule: FieldRule,
    scope: MaskScope = {},
  ): Promise<unknown> {
    if (Array.isArray(value)) {
      const out = []
      for (const v of value) out.push(await unmaskValue(v, rule, scope))
      return out
    }
    if (typeof value !== 'string') return value
    const origin = originOf(scope, rule.type ?? scope.type ?? 'FIELD')
    switch (rule.op) {
      case 'encrypt':
        return (await openToken(value, origin)) ?? value
      case 'pseudonymize':
      case 'scan':
        return unmaskText(value, { ...scope, type: origin.type })
      case 'fpe':
        return (await fpe(value, rule, origin, true)) ?? value
      case 'dateShift':
        return shiftDate(value, -(await shiftDays(rule, scope))) ?? value
      default:
        return value
    }
  }

  async function openToken(token: string, origin: TokenOrigin): Promise<string | undefined> {
    if (!token.startsWith(ENC_PREFIX) || !keys) return undefined
    return open((await keys).gcm, fromB64url(token.slice(ENC_PREFIX.length)), originBytes(origin))
  }

  async function unmaskText(text: string, scope: MaskScope = {}): Promise<string> {
    const origin = originOf(scope, scope.type ?? 'FIELD')
    const parts: Array<{ start: number; end: number; value: string | undefined }> = []
    if (text.includes(ENC_PREFIX) && keys) {
      for (const m of text.matchAll(ENC_PATTERN)) {
        const value = await openToken(m[0], origin)
        parts.push({ start: m.index, end: m.index + m[0].length, value })
      }
    }
    if (vault) {
      for (const m of text.matchAll(TOKEN_PATTERN)) {
        if (parts.some((p) => m.index < p.end && p.start < m.index + m[0].length)) continue
        const record = await vault.lookup(m[0], {
          tenant: origin.tenant,
          ...(scope.scope !== undefined ? { scope: scope.scope } : {}),
        })
        const fits = record?.origins.some(
          (o) =>
            (scope.type === undefined || o.type === origin.type) &&
            (scope.field === undefined || (o.field === origin.field && !!o.text === !!origin.text)),
        )
        parts.push({
          start: m.index,
          end: m.index + m[0].length,
          value: fits ? record!.value : undefined,
        })
      }
    }
    if (parts.length === 0) return text
    parts.sort((a, b) => a.start - b.start)
    let out = ''
    let at = 0
    for (const p of parts) {
      out += text.slice(at, p.start) + (p.value ?? text.slice(p.start, p.end))
      at = p.end
    }
    return out + text.slice(at)
  }

  /** Detects entities; long texts in windows with context on both sides, yielding in between. */
  async function detect(
    text: string,
    budget: ScanBudget | undefined,
    hints: DetectHints | undefined,
  ): Promise<Span[]> {
    const run = (t: string) =>
      budget ? budget.time(() => detector.detect(t, hints)) : detector.detect(t, hints)
    if (text.length <= MIN_WINDOW + 2 * OVERLAP) return run(text)
    const spans: Span[] = []
    let last = 0
    let size = MIN_WINDOW
    for (let s = 0; s < text.length;) {
      const e = Math.min(text.length, s + size)
      const a = Math.max(0, s - OVERLAP)
      const b = Math.min(text.length, e + OVERLAP)
      const started = performance.now()
      for (const span of run(text.slice(a, b))) {
        const start = span.start + a
        if (start < s || start >= e || start < last) continue
        last = span.end + a
        spans.push({ ...span, start, end: last })
      }
      const perMs = (b - a) / Math.max(performance.now() - started, 0.05)
      size = Math.min(MAX_WINDOW, 2 * size, Math.max(MIN_WINDOW, Math.floor(perMs * WINDOW_MS)))
      s = e
      await budget?.pause()
    }
    return spans
  }

  async function maskText(
    text: string,
    given: MaskScope = {},
    hints?: DetectHints,
  ): Promise<MaskTextResult> {
    const scope = given.budget || !budget ? given : { ...given, budget: budgetFor(given) }
    scope.budget?.charge(text)
    let spans = await detect(text, scope.budget, hints)
    const counts: MaskCounts = {}
    if (spans.length === 0) return { text, spans, counts }
    // Tokens this request made stay as they are (they are masked, and may be revealed later).
    const made = scope.ledger?.find(text) ?? []
    if (made.length > 0)
      spans = spans.filter((s) => !made.some((m) => s.start < m.end && m.start < s.end))
    let out = ''
    let at = 0
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!
      if (i % 256 === 255) await scope.budget?.pause()
      counts[s.type] = (counts[s.type] ?? 0) + 1
      const masked = await maskString(text.slice(s.start, s.end), entityRule(s.type), {
        ...scope,
        type: s.type,
        text: true,
      })
      out += text.slice(at, s.start) + masked
      at = s.end
    }
    return { text: out + text.slice(at), spans, counts }
  }

  async function applyPolicy(
    body: unknown,
    opts: ApplyOptions = {},
  ): Promise<{ value: unknown; counts: MaskCounts }> {
    const {
      fields = {},
      paths = {},
      records,
      skip = [],
      scanRecords,
      scanOther,
      counts = {},
      ...given
    } = opts
    // One budget for every string of the body.
    const scope: MaskScope =
      given.budget || !budget ? given : { ...given, budget: budgetFor(given) }
    const walk: Walk = {
      paths: new PathTrie(),
      fields: new PathTrie(),
      records: new PathTrie(),
      skip: new Set(skip),
      scanRecords: scanRecords ?? scanDefault,
      scanOther: scanOther ?? scanDefault,
      subjectField: undefined,
      counts,
    }
    for (const [p, rule] of Object.entries({ ...paths, ...policy.paths })) walk.paths.add(p, rule)
    const fieldRules = { ...fields, ...policy.fields }
    for (const [f, rule] of Object.entries(fieldRules)) {
      walk.fields.add(f, rule)
      if (rule.op === 'dateShift' && rule.subjectField) walk.subjectField = rule.subjectField
    }
    const where =
      records ??
      (Array.isArray(body)
        ? '[]'
        : isPlainObject(body) && Array.isArray(body.instances)
          ? 'instances[]'
          : '')
    if (where !== false) walk.records.add(where, true)
    const value = await visit(walk, body, {
      root: [walk.paths],
      record: undefined,
      marks: [walk.records],
      isRecord: false,
      path: '',
      inherited: undefined,
      scope,
    })
    return { value, counts }
  }

  async function visit(w: Walk, node: unknown, at: At): Promise<unknown> {
    let scope = at.scope
    let record = at.record
    let path = at.path
    const marked = valueAt(at.marks) !== undefined
    if ((marked || at.isRecord) && isPlainObject(node)) {
      record = [w.fields]
      path = ''
      await scope.budget?.pause()
      if (w.subjectField !== undefined) {
        const subject = node[w.subjectField]
        if (subject !== undefined && subject !== null)
          scope = { ...scope, subject: String(subject) }
      }
    }
    const hit = valueAt(at.root) ?? (record ? valueAt(record) : undefined)
    const rule = hit?.value ?? at.inherited?.rule
    // Text no rule covers belongs to its record field (or, outside records, to its path).
    const field = hit?.name ?? at.inherited?.field ?? (record ? path.split(/[.[]/, 1)[0]! : path)
    if (hit && rule && rule.op !== 'scan' && rule.op !== 'keep') {
      const leaves = countLeaves(node)
      if (leaves > 0) bump(w.counts, rule.type ?? 'FIELD', leaves)
      return maskValue(node, rule, { ...scope, field, ...(rule.type ? { type: rule.type } : {}) })
    }
    if (rule?.op === 'keep') return node
    if (typeof node === 'string') {
      const scan =
        rule?.op === 'scan' || (record ? w.scanRecords && !w.skip.has(field) : w.scanOther)
      if (!scan) return node
      // The key the text sits under (`name`, `address`) raises the prior of its entity type.
      const key = /([^.[\]]+)(?:\[\])*$/.exec(path)?.[1]
      const r = await maskText(node, { ...scope, field }, key ? { fieldName: key } : undefined)
      for (const [t, n] of Object.entries(r.counts)) bump(w.counts, t, n)
      return r.text
    }
    const inherited = rule?.op === 'scan' ? { rule, field } : at.inherited
    if (Array.isArray(node)) {
      const out = []
      const child: At = {
        root: step(at.root, undefined),
        record: record && step(record, undefined),
        marks: step(at.marks, undefined),
        isRecord: marked,
        path: `${path}[]`,
        inherited,
        scope,
      }
      for (const v of node) out.push(await visit(w, v, child))
      return out
    }
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(node)) {
        out[k] = await visit(w, v, {
          root: step(at.root, k),
          record: record && step(record, k),
          marks: step(at.marks, k),
          isRecord: false,
          path: path ? `${path}.${k}` : k,
          inherited,
          scope,
        })
      }
      return out
    }
    return node
  }

  return {
    detector,
    policy,
    vault,
    maskText,
    maskValue,
    maskTensor,
    unmaskValue,
    unmaskText,
    applyPolicy,
    entityRule,
  }
}

function generalize(value: string, rule: FieldRule & { op: 'generalize' }, type: string): string {
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

/** Adds `n` masked values of `type` to `counts`. */
export function bump(counts: MaskCounts, type: string, n = 1): void {
  counts[type] = (counts[type] ?? 0) + n
}

import type { GateContext, KeyValueStore } from '@modelgate/core'
import type { BudgetMeter, DetectionBudget } from './budget.js'
import type { TokenLedger } from './ledger.js'

/**
 * Entity types the built-in recognizers find, named as in Microsoft Presidio. Custom recognizers
 * and deny lists may add any other upper-case name.
 *
 * @example
 * ```ts
 * const types: EntityType[] = ['EMAIL_ADDRESS', 'CREDIT_CARD']
 * ```
 */
export type EntityType =
  | 'EMAIL_ADDRESS'
  | 'PHONE_NUMBER'
  | 'CREDIT_CARD'
  | 'IBAN_CODE'
  | 'US_SSN'
  | 'IP_ADDRESS'
  | 'URL'
  | 'DATE_OF_BIRTH'
  | 'PERSON'
  | 'CRYPTO'
  | 'MAC_ADDRESS'
  | 'US_BANK_NUMBER'
  | 'US_DRIVER_LICENSE'
  | 'US_PASSPORT'
  | 'US_ITIN'
  | 'ABA_ROUTING_NUMBER'
  | 'MEDICAL_LICENSE'
  | 'UK_NHS'
  | 'UK_NINO'
  | 'AU_ABN'
  | 'AU_ACN'
  | 'AU_TFN'
  | 'AU_MEDICARE'
  | 'CA_SIN'
  | 'DE_TAX_ID'
  | 'ES_NIF'
  | 'ES_NIE'
  | 'FI_PERSONAL_IDENTITY_CODE'
  | 'IT_FISCAL_CODE'
  | 'IT_VAT_CODE'
  | 'IT_DRIVER_LICENSE'
  | 'IT_PASSPORT'
  | 'IT_IDENTITY_CARD'
  | 'IN_AADHAAR'
  | 'IN_PAN'
  | 'KR_RRN'
  | 'SG_NRIC_FIN'
  | 'TH_TNIN'
  | 'PH_TIN'
  | 'NG_NIN'
  | 'ZA_ID_NUMBER'
  | 'PL_PESEL'
  | 'SE_PERSONNUMMER'
  | 'TR_NATIONAL_ID'
  | 'CN_RESIDENT_ID'
  | 'CN_PHONE_NUMBER'
  | 'DATE_TIME'
  | 'LOCATION'
  | 'ORGANIZATION'
  | 'STREET_ADDRESS'

/**
 * One detected entity. `start`/`end` are JavaScript string indices (UTF-16 code units), so
 * `text.slice(start, end)` is the entity, also after non-ASCII text.
 *
 * @example
 * ```ts
 * const s: Span = { start: 8, end: 25, type: 'EMAIL_ADDRESS', score: 1 }
 * ```
 */
export interface Span {
  start: number
  end: number
  type: string
  score: number
}

/**
 * A user-supplied recognizer. The pattern should not backtrack catastrophically: use bounded
 * quantifiers (`{1,64}`), never nested unbounded ones.
 *
 * @example
 * ```ts
 * const employeeId: CustomRecognizer = {
 *   type: 'EMPLOYEE_ID',
 *   pattern: /\bEMP-\d{6}\b/g,
 *   score: 0.6,
 *   context: ['employee', 'staff'],
 * }
 * ```
 */
export interface CustomRecognizer {
  type: string
  pattern: RegExp
  /** Base score of a match before validation and context; default 0.6. */
  score?: number
  /** Words that raise the score by `contextBoost` when they appear near the match. */
  context?: string[]
  /** `false` drops the match, `true` raises it to 1.0, a number sets the score. */
  validate?: (match: string) => boolean | number
}

/**
 * Options of {@link createDetector}.
 *
 * @example
 * ```ts
 * const detector = createDetector({ threshold: 0.5, allowList: ['support@acme.test'] })
 * ```
 */
export interface DetectorOptions {
  /** Entity types to report; default all built-in ones plus custom and deny-list types. */
  entities?: string[]
  /** Minimum score of a reported span. Default 0.5. */
  threshold?: number
  /** Score added when a context word is near a candidate. Default 0.35. */
  contextBoost?: number
  /** Characters before a candidate searched for context words. Default 48. */
  contextWindow?: number
  /** Region for phone numbers written without a country code (ISO 3166 alpha-2). Default `US`. */
  defaultRegion?: string
  /**
   * Regions whose numbering plans a number without a country code is read in (ISO 3166
   * alpha-2), in order; a country named just before a number (`Israeli`, `Japan`, `CN`) adds its
   * own. Default `[defaultRegion]`.
   */
  phoneRegions?: string[]
  /**
   * Work allowed per `detect` call: `maxBytes` of text (UTF-8, default 8 MiB) and `maxCpuMs` of
   * detection (default 2,000 ms). Past either the call throws `MaskingBudgetError` (413 or 422,
   * code `masking_budget_exceeded`). `false` removes the limits.
   */
  budget?: DetectionBudget | false
  /** Extra recognizers, run after the built-in ones. */
  recognizers?: CustomRecognizer[]
  /** Exact values never reported (case-sensitive), for example a public support address. */
  allowList?: string[]
  /** Exact values always reported with score 1.0, per type. */
  denyList?: Array<{ type: string; values: string[] }>
  /** Extra context words per entity type. */
  context?: Record<string, string[]>
  /**
   * Countries (ISO 3166 alpha-2; `UK` means `GB`) whose identifier recognizers are added to the
   * reported types, as Presidio's country recognizers are enabled: `['AU']` adds `AU_ABN`,
   * `AU_ACN`, `AU_TFN` and `AU_MEDICARE`.
   */
  countries?: string[]
  /**
   * Languages (ISO 639-1) whose recognizers are added, as Presidio registers them: `es` adds
   * `ES_NIF` and `ES_NIE`, `it` the Italian ones, `pl` `PL_PESEL`, `de` `DE_TAX_ID`, …
   */
  languages?: string[]
  /**
   * The statistical layer: PERSON, LOCATION, ORGANIZATION and STREET_ADDRESS from the shipped
   * tagger, DATE_TIME from date patterns. Default true. With false, PERSON is found by
   * dictionaries, titles and context only, and the four other types are not reported.
   */
  ner?: boolean
}

/**
 * What is known about where a text comes from. A field name or form label such as `name`,
 * `full_name`, `address`, `city` or `employer` raises the prior of the entity type its values
 * usually hold.
 *
 * @example
 * ```ts
 * detector.detect('Ana Pereira', { fieldName: 'customer_name' })
 * ```
 */
export interface DetectHints {
  /** The JSON key or form label of the value (its last path segment is used). */
  fieldName?: string
  /**
   * A meter shared by several calls (all the strings of one request), replacing the detector's
   * per-call budget; it throws `MaskingBudgetError` when the bytes or time run out.
   */
  budget?: BudgetMeter
  /**
   * Report the spans of every type, overlapping ones included, as Presidio's `AnalyzerEngine`
   * does: within one type spans never overlap (the higher score, then the longer span wins, as
   * always), but a span of one type no longer hides an overlapping span of another (a nine-digit
   * number that is a candidate passport, bank account and driver licence number is reported as
   * each). Default false: the spans do not overlap, the highest-scoring type wins, which is what
   * masking needs. Useful to see every reading of a value, or to let a policy choose among them.
   */
  overlapping?: boolean
}

/**
 * A compiled detector. `detect` is synchronous and runs in time linear in the text length.
 *
 * @example
 * ```ts
 * const spans = createDetector().detect('mail me: ana@example.org')
 * ```
 */
export interface Detector {
  detect(text: string, hints?: DetectHints): Span[]
  readonly entities: readonly string[]
}

/**
 * How one value or entity is masked.
 *
 * | op | result | reversible |
 * | --- | --- | --- |
 * | `redact` | removed (`''`, `0` for numbers) | no |
 * | `replace` | `<TYPE>` or `with` | no |
 * | `mask` | `****-****-****-1234` | no |
 * | `hash` | keyed HMAC-SHA-256, hex | no |
 * | `pseudonymize` | `TYPE_9f86d081884c7d65`, deterministic per tenant | through the vault, for its origin |
 * | `encrypt` | `enc:v2:…` AES-256-GCM, origin in the AAD | for its origin |
 * | `fpe` | NIST SP 800-38G FF1, same length and alphabet, origin in the tweak | for its origin |
 * | `generalize` | age band, ZIP prefix, year, numeric bucket | no |
 * | `dateShift` | date moved by a keyed per-subject offset | with the subject |
 * | `noise` | value + Laplace(sensitivity / epsilon), clamped to `range` | no |
 * | `scan` | free text: each detected entity masked by its entity rule | per entity |
 * | `keep` | unchanged | – |
 *
 * @example
 * ```ts
 * const rule: OperatorConfig = { op: 'mask', keepLast: 4 }
 * ```
 */
export type OperatorConfig =
  | { op: 'redact' }
  | { op: 'replace'; with?: string }
  | { op: 'mask'; char?: string; keepFirst?: number; keepLast?: number }
  | { op: 'hash'; length?: number }
  | { op: 'pseudonymize'; prefix?: string }
  | { op: 'encrypt' }
  | { op: 'fpe'; alphabet?: 'digits' | 'alnum' }
  | { op: 'generalize'; kind?: 'age' | 'zip' | 'date' | 'number'; size?: number; digits?: number }
  | { op: 'dateShift'; maxDays?: number; subjectField?: string }
  | {
      op: 'noise'
      epsilon: number
      sensitivity?: number
      /**
       * The output's declared range: noised values are clamped into it (clamping is
       * post-processing, so the privacy guarantee holds). `'probability'` is `[0, 1]`.
       */
      range?: [number, number] | 'probability'
    }
  | { op: 'scan' }
  | { op: 'keep' }

/**
 * A rule for a field or path: an operator plus, optionally, the entity type the field holds
 * (used for audit counts, token prefixes, token origins and the FF1 alphabet).
 *
 * @example
 * ```ts
 * const rule: FieldRule = { op: 'fpe', type: 'CREDIT_CARD' }
 * ```
 */
export type FieldRule = OperatorConfig & { type?: string }

/** Operator names. */
export type OperatorName = OperatorConfig['op']

/**
 * What to mask and how. Field paths are relative to one record (`address.zip`, `items[*].sku`);
 * `paths` are JSON paths from the body root (`$.parameters.note`, `$.instances[*].history[*]`).
 * Nothing is found by key names elsewhere: a rule applies where its path or field is, and only
 * strings are scanned for entities.
 *
 * @example
 * ```ts
 * const policy: MaskPolicy = {
 *   entities: { CREDIT_CARD: { op: 'fpe' }, '*': { op: 'replace' } },
 *   fields: { email: { op: 'pseudonymize' }, notes: { op: 'scan' }, age: { op: 'generalize', kind: 'age' } },
 *   outputs: { score: { op: 'noise', epsilon: 1, sensitivity: 0.01, range: 'probability' } },
 * }
 * ```
 */
export interface MaskPolicy {
  /** Operator per entity type found in free text; `*` is the default. Default `replace`. */
  entities?: Record<string, OperatorConfig>
  /** Operator per record field (V1 instances, declared records) or V2 input name. */
  fields?: Record<string, FieldRule>
  /** Operator per JSON path from the body root. */
  paths?: Record<string, FieldRule>
  /** Operator per output: tensor name, or a column name of the schema's `outputNames`. */
  outputs?: Record<string, FieldRule>
  /** Scan every string no rule covers (other than categorical features). Default true. */
  scanStrings?: boolean
}

/**
 * Key material: 32 random bytes, raw or base64. Subkeys for each operator are derived with
 * HKDF-SHA-256, so one key serves all operators. Keys are never logged or echoed.
 *
 * @example
 * ```ts
 * const key: KeyInput = process.env.MASK_KEY! // base64 of 32 bytes
 * ```
 */
export type KeyInput = Uint8Array | string

/**
 * Options of {@link createMasker}.
 *
 * @example
 * ```ts
 * const masker = createMasker({ key: crypto.getRandomValues(new Uint8Array(32)), policy })
 * ```
 */
export interface MaskerOptions {
  /** Needed by hash, pseudonymize, encrypt, fpe and dateShift. */
  key?: KeyInput
  policy?: MaskPolicy
  detector?: Detector | DetectorOptions
  /**
   * Where pseudonyms are recorded for later reversal; `false` keeps none (tokens are still
   * made, and a gate still reverses those of the current request). Default: an in-memory store
   * for `createMasker`, none for the `mask` plugin.
   */
  vault?: KeyValueStore | false
  /** Lifetime of vault entries in milliseconds; default forever. */
  vaultTtlMs?: number
  /**
   * Scanning work allowed per `maskText` or `applyPolicy` call (all strings of one body
   * together) when the call brings no budget of its own (`scope.budget`, as the mask plugin
   * gives one per request): default 8 MiB and 2,000 ms; past either the call rejects with
   * `MaskingBudgetError` (413 or 422, code `masking_budget_exceeded`). `false` removes the limits.
   */
  budget?: DetectionBudget | false
}

/**
 * How much masking work one request may cause. Past `maxScanBytes` of text to scan the request
 * is refused with 413, past `maxScanMs` of scanning with 422, both with the code
 * `masking_budget_exceeded`: a large or costly body ends in a clear error, never in a stall.
 *
 * @example
 * ```ts
 * const budget: MaskBudget = { maxScanBytes: 4 << 20, maxScanMs: 2000 }
 * ```
 */
export interface MaskBudget {
  /** UTF-8 bytes of text scanned for entities per request (request and answer). Default 1 MiB. */
  maxScanBytes?: number
  /** Milliseconds spent scanning per request. Default 2,000. */
  maxScanMs?: number
}

/**
 * Options of the {@link mask} plugin.
 *
 * @example
 * ```ts
 * mask({ key, policy: { fields: { email: { op: 'hash' } } }, tenant: (ctx) => ctx.principal?.tenant ?? 'public' })
 * ```
 */
export interface MaskOptions extends Omit<MaskerOptions, 'budget'> {
  /** Tenant whose tokens are used; default `ctx.principal?.tenant ?? 'default'`. */
  tenant?: (ctx: GateContext) => string
  /**
   * The scope bound into every reversible token this request makes (with tenant, entity type
   * and field). Default `request:<the gate's request id>`; a conversation id makes tokens of one
   * conversation share a scope in the vault. The plugin itself only ever reverses tokens it made
   * in the current request.
   */
  tokenScope?: (ctx: GateContext) => string
  /** Phases to mask; all default to true. */
  scope?: { request?: boolean; response?: boolean; explanations?: boolean; errors?: boolean }
  /** Per-request limits on scanning work. */
  budget?: MaskBudget
}

/**
 * Entity counts by type, as recorded in `ctx.facts.masking`. Never holds values.
 *
 * @example
 * ```ts
 * const counts: MaskCounts = { EMAIL_ADDRESS: 2, CREDIT_CARD: 1 }
 * ```
 */
export type MaskCounts = Record<string, number>

/**
 * Where a reversible token comes from. It is bound into the token (the AAD of `encrypt`, the
 * tweak of `fpe`, the vault record of `pseudonymize`), so a token can only be reversed for the
 * origin it was made for, and a gate reverses it only for a caller granted `unmask:` on that
 * origin: the field, the entity type, or `*`.
 *
 * @example
 * ```ts
 * const origin: TokenOrigin = { tenant: 'acme', type: 'US_SSN', field: 'ssn', scope: 'request:4f1c…' }
 * const inNote: TokenOrigin = { tenant: 'acme', type: 'EMAIL_ADDRESS', field: 'note', text: true, scope: 'request:4f1c…' }
 * ```
 */
export interface TokenOrigin {
  tenant: string
  /** Entity type, or `FIELD` when the field's rule names none. */
  type: string
  /** Field, input or path the value was in. */
  field?: string
  /** True when the value was found in the free text of `field`, not the whole field. */
  text?: boolean
  /** The request or conversation the token was made in. */
  scope: string
}

/**
 * Per-call facts for masking one value: tenant, the field or entity type it belongs to, the
 * token scope, the subject for date shifting, and the ledger that records the tokens made.
 *
 * @example
 * ```ts
 * await masker.maskValue('ana@example.org', { op: 'pseudonymize' }, { tenant: 'acme', type: 'EMAIL_ADDRESS', field: 'email' })
 * ```
 */
export interface MaskScope {
  tenant?: string
  /** Entity type (or `FIELD` when unknown). */
  type?: string
  /** Field, input or path name; part of every reversible token's origin. */
  field?: string
  /** The value is free text of `field`. */
  text?: boolean
  /** Request or conversation scope of the tokens; default `global`. */
  scope?: string
  /** Who a date belongs to, for consistent date shifts. */
  subject?: string
  /** Records every token made, for reversal in this request and to never mask a token twice. */
  ledger?: TokenLedger
  /** Counts and limits scanning work. */
  budget?: import('./budget.js').ScanBudget
}

declare module '@modelgate/core' {
  interface GateFacts {
    /** Masked values by entity type (`FIELD` for fields whose rule names no type); never values. */
    masking?: MaskCounts
  }
}

import type { AccessDecision, GateContext, GateOutcome } from '@modelgate/core'
import type { AuditFields, AuditValue } from '../types.js'

/** Characters a string keeps in a record (after masking). */
const MAX_TEXT = 256
/** Characters of URL text (a model name no registered model has) kept in a record. */
const MAX_URL_TEXT = 64
const MAX_KEY = 64
/** Items of an array and keys of an object kept, at every level. */
const MAX_ITEMS = 32
/** Levels of objects and arrays below `facts`. */
const MAX_DEPTH = 4
/** Characters of strings and keys all facts of one record may hold together. */
const MAX_FACT_CHARS = 4096
/**
 * C0 and C1 controls, and invisible formatting characters that can reorder or hide text in a
 * viewer: bidirectional embeddings, overrides and isolates (Trojan Source), marks, zero-width
 * characters and the byte-order mark. Replaced by U+FFFD (tab and line breaks by a space), so
 * the words around them stay apart for masking and the record shows that something was there.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g
const replaceUnsafe = (c: string) => (c === '\t' || c === '\n' || c === '\r' ? ' ' : '\ufffd')
const HAS_UNSAFE = new RegExp(UNSAFE.source)

/** `text` without unsafe characters, cut to `max` characters (an ellipsis marks the cut). */
function clean(text: string, max: number): string {
  const safe = HAS_UNSAFE.test(text) ? text.replace(UNSAFE, replaceUnsafe) : text
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe
}
const TRUNCATED = '_truncated'

/** The record of one answered request, from the context and how it ended. */
export function recordFields(ctx: GateContext, outcome: GateOutcome): AuditFields {
  const { principal, model, route } = ctx
  const facts = ctx.facts as Record<string, unknown>
  const redact = safeRedactor(ctx)
  return {
    time: isoTime(ctx.receivedAt),
    requestId: ctx.requestId,
    clientRequestId: plain(facts.clientRequestId),
    principal: plain(principal?.id ?? facts.principal),
    tenant: plain(principal?.tenant ?? facts.tenant),
    // A model name the URL gave that no registered model has is client text: masked and capped.
    model: model ? model.name : urlText(route.model, redact),
    modelVersion: model ? (model.version ?? null) : urlText(route.version, redact),
    action: ctx.operation,
    route: route.kind,
    routeName: plain(route.name),
    decision: decisionOf(ctx.decision, facts.decision),
    status: outcome.status,
    error: outcome.error ?? null,
    latencyMs: Math.round(outcome.latencyMs * 1000) / 1000,
    facts: sanitiseFacts(facts, redact),
  }
}

/**
 * Facts the record holds in its own fields (from the typed context, or from these facts when
 * the context lacks them), so `facts` does not repeat them.
 */
const OWN_FIELDS = new Set(['clientRequestId', 'principal', 'tenant', 'decision'])

function decisionOf(typed: AccessDecision | undefined, fact: unknown): AuditFields['decision'] {
  const f = fact !== null && typeof fact === 'object' ? (fact as Record<string, unknown>) : {}
  const allow = typed ? typed.allow : f.allow
  if (typeof allow !== 'boolean') return null
  const action = plain(f.action)
  return { allow, reasons: list(typed ? typed.reasons : f.reasons), ...(action ? { action } : {}) }
}

type Redact = (text: string) => string

/** `ctx.redactText`, made total: a masking function that fails yields a placeholder, never the text. */
function safeRedactor(ctx: GateContext): Redact {
  return (text) => {
    try {
      const out = ctx.redactText(text)
      return typeof out === 'string' ? out : '[redaction failed]'
    } catch {
      return '[redaction failed]'
    }
  }
}

/** Identifiers the gate established (principal, route name): kept, but capped and made safe. */
function plain(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? clean(value, MAX_TEXT) : null
}

/**
 * Text that may hold personal data: cleaned, masked, cut. It is cut once before masking (at four
 * times the limit, to bound the masking work) and again after, so a value cut in two by the first
 * cut cannot survive the second.
 */
function masked(text: string, max: number, redact: Redact): string {
  const bounded = text.length > max * 4 ? text.slice(0, max * 4) : text
  const out = redact(clean(bounded, max * 4))
  return out.length > max ? `${out.slice(0, max - 1)}…` : out
}

function urlText(value: string | undefined, redact: Redact): string | null {
  return value === undefined || value === '' ? null : masked(value, MAX_URL_TEXT, redact)
}

function list(value: unknown): string[] {
  if (!Array.isArray(value)) return []
  return value.slice(0, MAX_ITEMS).flatMap((v) => {
    const s = plain(v)
    return s === null ? [] : [s]
  })
}

/**
 * Every fact but those the record holds in its own fields, as JSON: strings cleaned of control
 * and bidi characters, masked by `redact` and capped; non-finite numbers, functions, symbols
 * and class instances dropped (a `Date` becomes its ISO text, a bigint its digits); depth,
 * items and total size bounded. A fact cut by a bound leaves `_truncated: true`.
 */
export function sanitiseFacts(
  facts: Record<string, unknown>,
  redact: Redact,
): Record<string, AuditValue> {
  const budget = { chars: MAX_FACT_CHARS, truncated: false }
  const out: Record<string, AuditValue> = {}
  let keys = 0
  for (const key in facts) {
    if (OWN_FIELDS.has(key) || !Object.hasOwn(facts, key)) continue
    if (keys++ >= MAX_ITEMS) {
      budget.truncated = true
      break
    }
    const value = sanitise(facts[key], redact, 0, budget)
    if (value !== undefined) out[safeKey(key, budget)] = value
  }
  if (budget.truncated) out[TRUNCATED] = true
  return out
}

function safeKey(key: string, budget: { chars: number }): string {
  const k = clean(key, MAX_KEY)
  budget.chars -= k.length
  return k
}

function sanitise(
  value: unknown,
  redact: Redact,
  depth: number,
  budget: { chars: number; truncated: boolean },
): AuditValue | undefined {
  if (budget.chars <= 0) {
    budget.truncated = true
    return undefined
  }
  switch (typeof value) {
    case 'string': {
      const text = masked(value, MAX_TEXT, redact)
      budget.chars -= text.length
      return text
    }
    case 'number':
      budget.chars -= 8
      return Number.isFinite(value) ? value : null
    case 'boolean':
      return value
    case 'bigint':
      return sanitise(value.toString(), redact, depth, budget)
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) return null
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (depth >= MAX_DEPTH) {
    budget.truncated = true
    return undefined
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_ITEMS) budget.truncated = true
    const out: AuditValue[] = []
    for (const item of value.slice(0, MAX_ITEMS)) {
      const v = sanitise(item, redact, depth + 1, budget)
      out.push(v === undefined ? null : v)
    }
    return out
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return undefined
  const object = value as Record<string, unknown>
  const out: Record<string, AuditValue> = {}
  let n = 0
  for (const k in object) {
    if (!Object.hasOwn(object, k)) continue
    if (n++ >= MAX_ITEMS) {
      budget.truncated = true
      break
    }
    const s = sanitise(object[k], redact, depth + 1, budget)
    if (s !== undefined) out[safeKey(k, budget)] = s
  }
  return out
}

let isoSecond = NaN
let isoPrefix = ''

/** `new Date(ms).toISOString()`, with the part up to the second formatted once per second. */
function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== isoSecond) {
    const iso = new Date(ms).toISOString()
    if (iso.length !== 24) return iso
    isoSecond = second
    isoPrefix = iso.slice(0, 20)
  }
  const milli = ms - second * 1000
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}

import type { GateContext, KeyValueStore } from '@modelgate/core'
import { ScanBudget } from './budget.js'
import { decodeKey } from './keys.js'
import type { Masker } from './masker.js'
import type { KeyInput, MaskCounts, OperatorConfig, Span } from './types.js'

/**
 * What the `mask` plugin offers a route that masks free text itself, such as the LLM routes of
 * `@modelgate/llm`, which replace entities by placeholders they restore in the answer. The route
 * reads it with {@link textMaskingOf}; without the plugin there is none and nothing is masked.
 *
 * @example
 * ```ts
 * const masking = textMaskingOf(ctx)
 * for (const span of masking?.detect(prompt) ?? []) console.log(span.type)
 * ```
 */
export interface TextMasking {
  /** The tenant whose values these are. */
  readonly tenant: string
  /**
   * Entities in a text, by the plugin's detector (entity types, allow and deny lists,
   * recognizers), charged to the request's scanning budget (413 or 422 past it).
   */
  detect(text: string): Promise<Span[]>
  /**
   * The rule the plugin's policy names for an entity type (`entities[type]`, else
   * `entities['*']`), or `undefined` when it names none and the route's own default applies.
   */
  rule(type: string): OperatorConfig | undefined
  /** Masks one value found in free text by a rule of the policy. */
  maskValue(value: string, rule: OperatorConfig, type: string): Promise<string>
  /** Adds masked values to the request's entity counts (the `masking` fact). */
  count(type: string, n?: number): void
  /** The plugin's vault store, where a route may keep reversible placeholders; none without one. */
  readonly store: KeyValueStore | undefined
  /** A 32-byte key for `purpose`, derived from the plugin's key (HKDF-SHA-256); none without a key. */
  deriveKey(purpose: string): Promise<Uint8Array | undefined>
}

const TEXT_MASKING = Symbol.for('modelgate.mask.textMasking')
const enc = new TextEncoder()

/**
 * The text masking the `mask` plugin left on this request's context, if it runs on this gate.
 *
 * @example
 * ```ts
 * const masking = textMaskingOf(ctx)
 * if (!masking) return forwardAsIs()
 * ```
 */
export function textMaskingOf(ctx: GateContext): TextMasking | undefined {
  return ctx.state.get(TEXT_MASKING) as TextMasking | undefined
}

/**
 * Builds what {@link textMaskingOf} returns, from a masker and its key: the `mask` plugin calls it
 * once and leaves a per-request view on each context with {@link provideTextMasking}, charging
 * the request's scanning budget (a fresh default one when none is given).
 *
 * @example
 * ```ts
 * const forRequest = textMaskingFor(masker, options.key, options.vault || undefined)
 * provideTextMasking(ctx, forRequest(tenant, counts, budget))
 * ```
 */
export function textMaskingFor(
  masker: Masker,
  key: KeyInput | undefined,
  store: KeyValueStore | undefined,
): (tenant: string, counts: MaskCounts, budget?: ScanBudget) => TextMasking {
  const master =
    key === undefined
      ? undefined
      : crypto.subtle.importKey('raw', decodeKey(key) as Uint8Array<ArrayBuffer>, 'HKDF', false, [
          'deriveBits',
        ])
  master?.catch(() => undefined)
  const derived = new Map<string, Promise<Uint8Array>>()
  const deriveKey = async (purpose: string): Promise<Uint8Array | undefined> => {
    if (!master) return undefined
    let bits = derived.get(purpose)
    if (!bits) {
      bits = master.then(async (k) => {
        const info = enc.encode(`text:${purpose}`)
        const salt = enc.encode('modelgate-mask/v1')
        const params = { name: 'HKDF', hash: 'SHA-256', salt, info }
        return new Uint8Array(await crypto.subtle.deriveBits(params, k, 256))
      })
      derived.set(purpose, bits)
    }
    return bits
  }
  const entities = masker.policy.entities ?? {}
  const rule = (type: string): OperatorConfig | undefined => entities[type] ?? entities['*']
  return (tenant, counts, budget = new ScanBudget()) => ({
    tenant,
    async detect(text) {
      budget.charge(text)
      const spans = budget.time(() => masker.detector.detect(text))
      await budget.pause()
      return spans
    },
    rule,
    maskValue: async (value, r, type) =>
      String(await masker.maskValue(value, { ...r, type }, { tenant, type })),
    count(type, n = 1) {
      counts[type] = (counts[type] ?? 0) + n
    },
    store,
    deriveKey,
  })
}

/**
 * Leaves text masking on a request's context for the routes that mask free text themselves.
 *
 * @example
 * ```ts
 * provideTextMasking(ctx, forRequest(tenant, counts))
 * ```
 */
export function provideTextMasking(ctx: GateContext, masking: TextMasking): void {
  ctx.state.set(TEXT_MASKING, masking)
}

import { HINTS } from './features.js'
import { PACKED } from './model.js'
import { decodeModel, type NerModel, type NerSpan, tag } from './tagger.js'

export { dateTimes } from './dates.js'
export type { NerSpan } from './tagger.js'

/** Entity types of the statistical layer (DATE_TIME comes from `dateTimes`). */
export const NER_TYPES = ['PERSON', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS'] as const

let model: NerModel | undefined

/** The shipped model, decoded on first use (about 10 ms) and shared by every detector. */
function shipped(): NerModel {
  model ??= decodeModel(PACKED)
  return model
}

// Field names (last path segment, or a form label) and what their values usually hold.
const FIELD_HINTS: Array<[RegExp, number]> = [
  [
    /(?:^|_)(?:street|addr(?:ess)?(?:_?line)?\d?|(?:billing|shipping|home|postal|mailing)_?addr(?:ess)?)$/,
    HINTS.address,
  ],
  [
    /(?:^|_)(?:city|town|country|state|province|region|county|place|location|birth_?place|municipality|hometown)$/,
    HINTS.location,
  ],
  [
    /(?:^|_)(?:employer|company|organi[sz]ation|org|institution|school|university|bank|insurer|business|firm|agency|hospital)(?:_?name)?$/,
    HINTS.organization,
  ],
  [
    /(?:^|_)(?:name|full_?name|first_?name|last_?name|given_?name|family_?name|surname|middle_?name|maiden_?name|nickname|customer|applicant|borrower|patient|contact|owner|holder|recipient|sender|author|signer|spouse|beneficiary|guardian|emergency_?contact)(?:_?name)?$/,
    HINTS.person,
  ],
]

/**
 * Maps a field name or form label (`full_name`, `billingAddress`, `City`, `employer`) to the
 * hint category the tagger was trained with; 0 when it says nothing.
 *
 * @example
 * ```ts
 * hintOf('shippingAddress') // HINTS.address
 * ```
 */
export function hintOf(field: string | undefined): number {
  if (!field) return 0
  const key = field
    .replace(/\[\d*\]$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[\s.-]+/g, '_')
    .toLowerCase()
  const last = key.slice(key.lastIndexOf('.') + 1)
  for (const [re, hint] of FIELD_HINTS) if (re.test(last)) return hint
  return 0
}

/**
 * Runs the shipped tagger on a text. A field hint raises the prior of its type: the model was
 * trained with hint features, and a short value under a hint that the model leaves untagged is
 * still reported as that type with score 0.55 when it looks like a name (capitalised words).
 *
 * @example
 * ```ts
 * recognize('Ana Pereira', hintOf('name')) // [{ start: 0, end: 11, type: 'PERSON', score: … }]
 * ```
 */
export function recognize(text: string, hint = 0): NerSpan[] {
  const spans = tag(shipped(), text, hint)
  if (hint === 0 || spans.length > 0) return spans
  const h = hinted(text, hint)
  return h ? [h] : spans
}

/**
 * The field-hint rule alone: a short value of capitalised words under a hinted field is reported
 * as the hinted type with score 0.55.
 *
 * @example
 * ```ts
 * hinted('Ana Pereira', HINTS.person) // { start: 0, end: 11, type: 'PERSON', score: 0.55 }
 * ```
 */
export function hinted(text: string, hint: number): NerSpan | undefined {
  if (text.length > 80) return undefined
  const value = /^\s*(\p{Lu}[\p{L}\p{M}'’.-]*(?:[ ,]+[\p{L}\p{M}\d'’.-]+){0,5})\s*$/u.exec(text)
  if (!value) return undefined
  const start = text.indexOf(value[1]!)
  const type =
    hint === HINTS.person
      ? 'PERSON'
      : hint === HINTS.location
        ? 'LOCATION'
        : hint === HINTS.address
          ? 'STREET_ADDRESS'
          : 'ORGANIZATION'
  return { start, end: start + value[1]!.length, type, score: 0.55 }
}

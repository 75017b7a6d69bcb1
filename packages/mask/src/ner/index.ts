import { GAZ, gazBits, type Gazetteer, HINTS } from './features.js'
import { PACKED } from './model.js'
import { decodeModel, type NerModel, type NerSpan, tag } from './tagger.js'
import { letterClass, lowerHash } from './tokens.js'

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
  const m = shipped()
  const spans = dropCodes(text, joinAddresses(text, tag(m, text, hint)), m.gazetteer)
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

/**
 * Drops tagged street addresses that are reference codes: upper-case letter groups and numbers
 * only (`INV 2024 0031`, `ZX 12 9981`, `AB 12`), with no street or unit word (`ST`, `RD`, `APO`,
 * `PSC`, `BOX`) and no state or region code before a postcode of four or more digits (`IL 62704`).
 *
 * @example
 * ```ts
 * dropCodes('Tracking ZX 12 9981', spans, gazetteer) // without the span of `ZX 12 9981`
 * ```
 */
export function dropCodes(text: string, spans: NerSpan[], g: Gazetteer): NerSpan[] {
  let k = 0
  for (const s of spans)
    if (s.type !== 'STREET_ADDRESS' || !codeLike(text, s.start, s.end, g)) spans[k++] = s
  spans.length = k
  return spans
}

function codeLike(text: string, s: number, e: number, g: Gazetteer): boolean {
  let words = 0
  for (let i = s; i < e;) {
    if (letterClass(text.charCodeAt(i)) === 0) {
      i++
      continue
    }
    let j = i
    for (; j < e; j++) {
      const c = text.charCodeAt(j)
      const lc = letterClass(c)
      if (lc === 1) return false
      if (lc === 0 && !(c >= 48 && c <= 57)) break
    }
    const bits = gazBits(g, lowerHash(text, i, j))
    if ((bits & (GAZ.STREET | GAZ.UNIT)) !== 0) return false
    if ((bits & GAZ.STATE) !== 0 && /^[ ,]+\d{4}/.test(text.slice(j, Math.min(e, j + 8))))
      return false
    words++
    i = j
  }
  return words > 0
}

const isLineSpace = (c: number): boolean => c === 32 || c === 9 || c === 62 || c === 124

/**
 * The tagger labels an address by parts (street, unit and postcode as STREET_ADDRESS, city, region
 * and country as LOCATION). An address written inside a line of text (`send it to 12 Main St,
 * Springfield, IL 62704`) is reported as one STREET_ADDRESS span over the parts that follow it,
 * separated only by spaces, commas and line breaks; an address block laid out line by line from
 * the start of a line keeps its parts.
 *
 * @example
 * ```ts
 * joinAddresses(text, spans)
 * ```
 */
export function joinAddresses(text: string, spans: NerSpan[]): NerSpan[] {
  const out: NerSpan[] = []
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!
    out.push(s)
    if (s.type !== 'STREET_ADDRESS') continue
    let p = s.start - 1
    while (p >= 0 && isLineSpace(text.charCodeAt(p))) p--
    if (p < 0 || text.charCodeAt(p) === 10) continue
    // The parts that follow: a street followed by a city alone stays a street in a city.
    let j = i
    while (j + 1 < spans.length) {
      const next = spans[j + 1]!
      if (next.type !== 'STREET_ADDRESS' && next.type !== 'LOCATION') break
      if (!/^[\s,>|]*$/.test(text.slice(spans[j]!.end, next.start))) break
      j++
    }
    if (j - i < 2 && (j === i || spans[j]!.type !== 'STREET_ADDRESS')) continue
    for (let k = i + 1; k <= j; k++) s.score = Math.max(s.score, spans[k]!.score)
    s.end = spans[j]!.end
    i = j
  }
  return out
}

import {
  ACTIVE,
  CAP,
  CLOSED,
  DIGIT_GROUP,
  letterClass,
  lowerHash,
  mix,
  NL_BEFORE,
  NUM,
  PUNCT,
  SENT_START,
  wordAndShape,
  lastShape,
  SPACE_BEFORE,
  UPPER,
  WORD,
  type Tokens,
  wordHash,
} from './tokens.js'

/** Tags: outside, then begin/inside for PERSON, LOCATION, ORGANIZATION, STREET_ADDRESS. */
export const TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-ADDR', 'I-ADDR']
export const NTAGS = TAGS.length
export const TAG_TYPES = ['PERSON', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS']

/** Gazetteer bits (a word may carry several). */
export const GAZ = {
  GIVEN: 1,
  SURNAME: 2,
  CITY: 4,
  COUNTRY: 8,
  STATE: 16, // states, regions, counties and their postal abbreviations
  STREET: 32, // street kinds (Street, Rd, Rue, Via, ul., -straße words, …)
  UNIT: 64, // Apt, Suite, Unit, Floor, Box, PO, PSC, APO, …
  ORG: 128, // organisation words (Inc, Ltd, Bank, University, Group, …)
  TIME: 256, // months, weekdays
  COMMON: 512, // capitalised function words and UI/log words that are rarely names
  DICT: 1024, // frequent English words (SCOWL sizes 10 and 20)
  DICT2: 2048, // less frequent English words (SCOWL sizes 35 to 50)
  TITLE: 4096, // Mr, Mrs, Dr, Prof, Sir, …
} as const

/** Field-name hint categories (see `hintOf`). */
export const HINTS = { none: 0, person: 1, location: 2, address: 3, organization: 4 } as const

/** Word lookup: an open-addressing table of hashes with their gazetteer bits. */
export interface Gazetteer {
  keys: Uint32Array
  bits: Uint16Array
  mask: number
}

/**
 * Builds a gazetteer table from `[hash, bits]` pairs. Internal to the NER layer.
 *
 * @example
 * ```ts
 * const g = buildGazetteer([[wordHash('Lyon'), GAZ.CITY]])
 * ```
 */
export function buildGazetteer(entries: Iterable<[number, number]>): Gazetteer {
  const list = [...entries]
  let size = 1024
  while (size < list.length * 2) size *= 2
  const keys = new Uint32Array(size)
  const bits = new Uint16Array(size)
  const mask = size - 1
  for (const [h, b] of list) {
    const key = h === 0 ? 1 : h
    let slot = key & mask
    while (keys[slot] !== 0 && keys[slot] !== key) slot = (slot + 1) & mask
    keys[slot] = key
    bits[slot]! |= b
  }
  return { keys, bits, mask }
}

/** Gazetteer bits of a word hash (0 when absent). */
export function gazBits(g: Gazetteer, h: number): number {
  const key = h === 0 ? 1 : h
  for (let slot = key & g.mask; ; slot = (slot + 1) & g.mask) {
    const k = g.keys[slot]!
    if (k === key) return g.bits[slot]!
    if (k === 0) return 0
  }
}

// Gazetteer bits of names, places, streets and organisations.
const NAMED_BITS =
  GAZ.GIVEN |
  GAZ.SURNAME |
  GAZ.CITY |
  GAZ.COUNTRY |
  GAZ.STATE |
  GAZ.STREET |
  GAZ.UNIT |
  GAZ.ORG |
  GAZ.TITLE
/** Gazetteer bits of plain words (frequent English, UI and log words, months and weekdays). */
export const PLAIN_BITS = GAZ.COMMON | GAZ.DICT | GAZ.DICT2 | GAZ.TIME
const CONNECTORS = new Set(
  `of and the de la le les du des del della di da do dos das van von der den ten ter y e i el al
bin ibn et och und en upon sur am im an auf au aux na nad pod on`
    .split(/\s+/)
    .map(wordHash),
)

/**
 * Whether `text.slice(s, e)` (a run without spaces) is a blob: at least 10 characters holding
 * letters and digits, as identifiers, tokens and keys are, rather than words.
 *
 * @example
 * ```ts
 * isBlob('enc:v1:Xk3Lm9Qa', 0, 16) // true
 * ```
 */
export function isBlob(text: string, s: number, e: number): boolean {
  if (e - s < 10) return false
  let digits = 0
  let letters = 0
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
    else if (letterClass(c) > 0) letters++
  }
  return digits > 0 && letters > 0
}

/**
 * Whether `text.slice(s, e)` (a run without spaces) holds a reference code: letters joined to
 * digits by a hyphen or an underscore (`C-1`, `A-77`, `INC-20231`, `PO-4471`, `SKU_88`,
 * `CVE-2024-3094`), the way case, ticket, order and stock numbers are written. Such a run is
 * neither a name nor a house number, so its tokens are outside every entity.
 *
 * @example
 * ```ts
 * isCode('case C-1', 5, 8) // true
 * ```
 */
export function isCode(text: string, s: number, e: number): boolean {
  for (let i = s + 1; i + 1 < e; i++) {
    const c = text.charCodeAt(i)
    const d = text.charCodeAt(i + 1)
    if ((c === 45 || c === 95) && d >= 48 && d <= 57 && letterClass(text.charCodeAt(i - 1)) > 0)
      return true
  }
  return false
}

/**
 * Whether the word before `pos` (blanks and an abbreviation's dot between) is a unit word
 * (`Apt.`, `Suite`, `Room`): a code after it is the unit's number (`Suite B-12`), not a reference.
 *
 * @example
 * ```ts
 * unitBefore('Suite B-12', 6, gazetteer) // true
 * ```
 */
export function unitBefore(text: string, pos: number, g: Gazetteer): boolean {
  let e = pos
  while (e > 0 && (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--
  if (text.charCodeAt(e - 1) === 46) e--
  let s = e
  while (s > 0 && letterClass(text.charCodeAt(s - 1)) > 0) s--
  return s < e && (gazBits(g, lowerHash(text, s, e)) & GAZ.UNIT) !== 0
}

/** Whether `text.slice(s, e)` holds a digit. */
export function hasDigit(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) return true
  }
  return false
}

/**
 * Whether a capitalised word with these gazetteer bits, standing alone (no capitalised word
 * beside it), anchors the tagger: not a plain word (frequent English, UI, log or technical word)
 * unless a name, place or organisation list holds it, and not an upper-case word (`README`,
 * `AC`, `NY`, `IBAN`) unless it is a known name, city or country and not an acronym.
 *
 * @example
 * ```ts
 * isAnchor(GAZ.GIVEN, false) // true
 * ```
 */
export function isAnchor(bits: number, upper: boolean): boolean {
  if (upper) return (bits & STRONG_BITS) !== 0 && (bits & GAZ.COMMON) === 0
  return (bits & PLAIN_BITS) === 0 || (bits & NAMED_BITS) !== 0
}

const STRONG_BITS = GAZ.GIVEN | GAZ.SURNAME | GAZ.CITY | GAZ.COUNTRY

/**
 * Marks the tokens the model tags: within two tokens of an anchor (see `isAnchor`; two capitalised
 * words side by side are anchors too). `Deployed build 3.2 to eu-west-1` and `INFO worker
 * started` have no anchor; `Will Smith`, `Reading` and `The Big Three` do. Returns how many
 * tokens were marked.
 *
 * @example
 * ```ts
 * activate(text, tokenize(text), gazetteer)
 * ```
 */
export function activate(text: string, t: Tokens, g: Gazetteer, radius = 2): number {
  const n = t.n
  // Tokens of a blob (`enc:v1:Xk3-Lm_9Qa`, `x-amz-id=AB12cd`) or a reference code (`C-1`,
  // `INC-20231`) are outside every entity.
  for (let k = 0; k < n;) {
    let e = k + 1
    while (e < n && (t.flags[e]! & (SPACE_BEFORE | NL_BEFORE)) === 0) e++
    const s = t.start[k]!
    const end = t.end[e - 1]!
    // A code's hyphen or underscore is a token of its own: look only at the punctuation.
    let code = false
    for (let j = k; j < e && !code; j++) {
      if (t.kind[j] !== PUNCT) continue
      const p = t.start[j]
      const c = text.charCodeAt(p)
      const d = text.charCodeAt(p + 1)
      code = (c === 45 || c === 95) && d >= 48 && d <= 57 && letterClass(text.charCodeAt(p - 1)) > 0
    }
    if (isBlob(text, s, end) || (code && !unitBefore(text, s, g))) {
      for (let j = k; j < e; j++) t.flags[j]! |= CLOSED
    }
    k = e
  }
  // Capitalised words without digits (`FR14`, `C3` are codes), once per token.
  if (capScratch.length < n + 2) capScratch = new Uint8Array(2 * n + 2)
  const cap = capScratch // cap[k + 1] for token k; 0 before the first and after the last
  cap[0] = 0
  cap[n + 1] = 0
  for (let k = 0; k < n; k++) {
    cap[k + 1] =
      t.kind[k] === WORD &&
      (t.flags[k]! & (CAP | CLOSED)) === CAP &&
      !hasDigit(text, t.start[k]!, t.end[k]!)
        ? 1
        : 0
  }
  let count = 0
  let last = -1e9 // the last anchor
  let high = -1 // the last token marked
  for (let k = 0; k < n; k++) {
    if (cap[k + 1] === 1) {
      // Next to another capitalised word, or by its list bits (looked up only then).
      let anchor = cap[k] === 1 || cap[k + 2] === 1
      if (!anchor) {
        const bits = gazBits(g, lowerHash(text, t.start[k]!, t.end[k]!))
        anchor =
          isAnchor(bits, (t.flags[k]! & UPPER) !== 0) ||
          // a state or region code before a postcode: `IL 62704`
          ((bits & GAZ.STATE) !== 0 && k + 1 < n && t.kind[k + 1] === NUM) ||
          // an upper-case word that is not a plain one, in running text: `flew to STAXROITH`
          ((t.flags[k]! & UPPER) !== 0 &&
            (bits & PLAIN_BITS) === 0 &&
            k > 0 &&
            t.kind[k - 1] === WORD &&
            (t.flags[k - 1]! & CAP) === 0)
      }
      if (anchor) {
        for (let j = Math.max(0, k - radius, high + 1); j < k; j++) t.flags[j]! |= ACTIVE
        count += k - Math.max(0, k - radius, high + 1)
        last = k
      }
    }
    if (k - last <= radius) {
      t.flags[k]! |= ACTIVE
      high = k
      count++
    }
  }
  return count
}

let capScratch = new Uint8Array(256)

/** Per-token values computed once per text and read by the features of each token's neighbours. */
export interface TokenInfo {
  word: Uint32Array
  shape: Uint32Array
  gaz: Uint16Array
  /** Words and numbers before this token on its line (capped at 3), times 4, plus the line's size class. */
  line: Uint8Array
}

const PAD_WORD = 0x5f5f5f5f
const PAD_SHAPE = 0x3f3f3f3f

/**
 * Word hashes, shapes, gazetteer bits and line positions of the active tokens and their
 * neighbours (two on each side; other tokens are not written), and the CLOSED flag of active
 * lower-case common words. `reuse` lends its arrays when they are large enough.
 *
 * @example
 * ```ts
 * const info = tokenInfo(text, tokens, gazetteer)
 * ```
 */
export function tokenInfo(text: string, t: Tokens, g: Gazetteer, reuse?: TokenInfo): TokenInfo {
  const n = t.n
  const fits = reuse !== undefined && reuse.word.length >= n
  const word = fits ? reuse.word : new Uint32Array(n)
  const shape = fits ? reuse.shape : new Uint32Array(n)
  const gaz = fits ? reuse.gaz : new Uint16Array(n)
  const line = fits ? reuse.line : new Uint8Array(n)
  let lineStart = 0
  while (lineStart < n) {
    let lineEnd = lineStart + 1
    while (lineEnd < n && (t.flags[lineEnd]! & NL_BEFORE) === 0) lineEnd++
    let words = 0
    for (let k = lineStart; k < lineEnd; k++) if (t.kind[k] !== PUNCT) words++
    const size = words <= 1 ? 0 : words <= 3 ? 1 : words <= 6 ? 2 : 3
    let pos = 0
    for (let k = lineStart; k < lineEnd; k++) {
      line[k] = Math.min(pos, 3) * 4 + size
      if (t.kind[k] !== PUNCT) pos++
    }
    lineStart = lineEnd
  }
  let near = -1e9
  for (let k = 0; k < n; k++) {
    if ((t.flags[k]! & ACTIVE) !== 0) near = k
    else if (k - near > 2) {
      let ahead = false
      for (let d = 1; d <= 2 && k + d < n && !ahead; d++) ahead = (t.flags[k + d]! & ACTIVE) !== 0
      if (!ahead) continue
    }
    const s = t.start[k]!
    const e = t.end[k]!
    const h = wordAndShape(text, s, e)
    word[k] = h
    shape[k] = lastShape
    if (t.kind[k] !== WORD) {
      gaz[k] = 0
      continue
    }
    const bits = gazBits(g, h)
    gaz[k] = bits
    // A lower-case common word is outside every entity unless it joins names (`of`, `van`, `y`).
    if (
      (t.flags[k]! & (ACTIVE | CAP)) === ACTIVE &&
      (bits & PLAIN_BITS) !== 0 &&
      (bits & NAMED_BITS) === 0 &&
      !CONNECTORS.has(h)
    )
      t.flags[k]! |= CLOSED
  }
  return { word, shape, gaz, line }
}

/**
 * Hashed features of token `k` into `out` (none depends on the tags: the tag sequence is scored by
 * transition weights); returns their count.
 *
 * @example
 * ```ts
 * const n = features(text, tokens, info, k, HINTS.none, out)
 * ```
 */
export function features(
  text: string,
  t: Tokens,
  info: TokenInfo,
  k: number,
  hint: number,
  out: Uint32Array,
): number {
  let n = 0
  const s = t.start[k]!
  const e = t.end[k]!
  const w = info.word[k]!
  const sh = info.shape[k]!
  const g = info.gaz[k]!
  const last = t.n - 1
  const flags = t.flags[k]! & (CAP | UPPER | SENT_START | NL_BEFORE)
  const wm1 = k > 0 ? info.word[k - 1]! : PAD_WORD
  const wm2 = k > 1 ? info.word[k - 2]! : PAD_WORD
  const wp1 = k < last ? info.word[k + 1]! : PAD_WORD
  const wp2 = k + 1 < last ? info.word[k + 2]! : PAD_WORD
  const shm1 = k > 0 ? info.shape[k - 1]! : PAD_SHAPE
  const shp1 = k < last ? info.shape[k + 1]! : PAD_SHAPE
  const gm1 = k > 0 ? info.gaz[k - 1]! : 0
  const gp1 = k < last ? info.gaz[k + 1]! : 0
  const line = info.line[k]!
  out[n++] = mix(1, 0)
  out[n++] = mix(2, w)
  out[n++] = mix(3, sh)
  if (t.kind[k] === WORD && e - s > 2) {
    out[n++] = mix(4, lowerHash(text, e - 2, e))
    out[n++] = mix(5, lowerHash(text, e - 3, e))
    if (e - s > 4) out[n++] = mix(6, lowerHash(text, e - 4, e))
    out[n++] = mix(7, lowerHash(text, s, s + 3))
  }
  for (let b = 1; b <= g; b <<= 1) if ((g & b) !== 0) out[n++] = mix(8, b)
  out[n++] = mix(9, g)
  out[n++] = mix(10, wm1)
  out[n++] = mix(11, wp1)
  out[n++] = mix(14, pair(wm2, wm1))
  out[n++] = mix(15, pair(wp1, wp2))
  out[n++] = mix(18, pair(shm1, sh))
  out[n++] = mix(19, pair(sh, shp1))
  out[n++] = mix(20, gm1)
  out[n++] = mix(21, gp1)
  out[n++] = mix(22, gm1 * 65536 + g)
  out[n++] = mix(23, g * 65536 + gp1)
  out[n++] = mix(24, flags)
  out[n++] = mix(25, flags * 65536 + g)
  out[n++] = mix(26, Math.min(e - s, 16) + (t.kind[k] === NUM ? 32 : 0))
  out[n++] = mix(27, pair(wm1, sh))
  out[n++] = mix(28, line)
  out[n++] = mix(29, pair(line, sh))
  out[n++] = mix(30, pair(line, g))
  out[n++] = mix(31, pair(sh, wp1))
  out[n++] = mix(34, pair(wm1, g))
  out[n++] = mix(35, pair(g, wp1))
  if (hint !== 0) {
    out[n++] = mix(40, hint)
    out[n++] = mix(41, pair(hint, sh))
    out[n++] = mix(42, pair(hint, g))
  }
  return n
}

/**
 * Which entities token `k` may begin or continue: capitalised words begin any (2), lower-case
 * words only a street address (1: `ul. Zamkowa`), numbers only a street address and never stand
 * in a name (3: `42 rue de la Paix`; `Ticket T 1` is no name), punctuation begins none (0), dates,
 * times and amounts (`2024-03-12`, `10:30`, `1,200.50`) begin none and stand in no name (4);
 * closed tokens (lower-case common words, blobs, reference codes) are always outside (-1).
 *
 * @example
 * ```ts
 * canBegin(tokens, 0)
 * ```
 */
export function canBegin(t: Tokens, k: number): number {
  const kind = t.kind[k]
  const flags = t.flags[k]!
  if ((flags & CLOSED) !== 0) return -1
  if (kind === PUNCT) return 0
  if (kind === NUM) return (flags & DIGIT_GROUP) !== 0 ? 4 : 3
  return (flags & CAP) !== 0 ? 2 : 1
}

/** Classes `canBegin` returns, from -1 to this. */
export const BEGIN_CLASSES = 4

/** Whether `tag` may follow `prev` at a token of the class `canBegin` gives. */
export function allowed(prev: number, tag: number, begin: number): boolean {
  if (tag === 0) return true
  if (begin < 0) return false
  // Numbers, dates and amounts are never part of a name.
  if (begin >= 3 && tag <= 2) return false
  if ((tag & 1) === 1) return begin === 2 || ((begin === 1 || begin === 3) && tag === 7)
  return prev === tag || prev === tag - 1
}

/** Two hashes as one value (mixed again by `mix`). */
const pair = (a: number, b: number): number => (Math.imul(a, 0x27d4eb2d) + b) | 0

/** Maximum number of features of one token. */
export const MAX_FEATURES = 64

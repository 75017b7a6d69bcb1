// Tokens and hashed features of the statistical NER layer, shared by the runtime tagger and the
// training script (scripts/train-ner.mjs imports the built copy), so both see the same features.

/** Token kinds. */
export const WORD = 1
export const NUM = 2
export const PUNCT = 3

/** Token flags. */
export const CAP = 1 // first letter upper-case
export const UPPER = 2 // every letter upper-case (and at least two letters)
export const NL_BEFORE = 4 // a line break between the previous token and this one
export const SPACE_BEFORE = 8
export const ACTIVE = 16 // tagged by the model (near a capitalised word)
export const SENT_START = 32 // first token of the text or after . ! ? or a line break
export const DIGIT_GROUP = 64 // a number with `.`, `,`, `/`, `:` or two `-` inside (dates, times, amounts)
export const CLOSED = 128 // an active token that is always outside (a lower-case common word)

/** Tokens of one text as parallel arrays (no object per token). */
export interface Tokens {
  n: number
  start: Int32Array
  end: Int32Array
  kind: Uint8Array
  flags: Uint8Array
}

const NON_ASCII_LETTER = /\p{L}|\p{M}/u
const UPPER_CASE = /\p{Lu}/u
const letterCache = new Map<number, number>() // 0 not a letter, 1 lower/other letter, 2 upper

function classify(c: number): number {
  let v = letterCache.get(c)
  if (v === undefined) {
    const ch = String.fromCharCode(c)
    v = NON_ASCII_LETTER.test(ch) ? (UPPER_CASE.test(ch) ? 2 : 1) : 0
    if (letterCache.size < 4096) letterCache.set(c, v)
  }
  return v
}

/** 0 not a letter, 1 a letter that is not upper-case, 2 an upper-case letter. */
export function letterClass(c: number): number {
  if (c < 128) return c >= 97 && c <= 122 ? 1 : c >= 65 && c <= 90 ? 2 : 0
  // Surrogate halves (CJK extensions, emoji) count as letters so offsets stay exact.
  if (c >= 0xd800 && c <= 0xdfff) return 1
  return classify(c)
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57
// ASCII characters: 1 a lower-case letter, 2 an upper-case letter, 3 a digit, 0 anything else.
const ASCII_CLASS = new Uint8Array(128)
for (let c = 0; c < 128; c++) ASCII_CLASS[c] = isDigit(c) ? 3 : letterClass(c)
const isSpace = (c: number): boolean =>
  c === 32 || c === 9 || c === 10 || c === 13 || c === 160 || c === 12 || c === 11

function grow(t: Tokens): void {
  const size = t.start.length * 2
  const copy = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const b = make(size)
    b.set(a)
    return b
  }
  t.start = copy(t.start, (n) => new Int32Array(n))
  t.end = copy(t.end, (n) => new Int32Array(n))
  t.kind = copy(t.kind, (n) => new Uint8Array(n))
  t.flags = copy(t.flags, (n) => new Uint8Array(n))
}

/**
 * Splits a text into words (letters and digits, joined over an inner `-` or an apostrophe that is
 * not a possessive `'s`), numbers and single punctuation marks. Offsets are UTF-16 indices.
 * `reuse` lends its arrays when they are large enough; `from` and `to` bound the part read (a
 * part starts at a line start and ends at a line end, so its tokens are those of the whole text).
 * Internal to the NER layer.
 *
 * @example
 * ```ts
 * tokenize("Kate's card").n // 3: Kate, 's, card
 * ```
 */
export function tokenize(text: string, reuse?: Tokens, from = 0, to = text.length): Tokens {
  const cap = Math.max(16, (to - from) >> 2)
  const t: Tokens =
    reuse && reuse.start.length >= cap
      ? reuse
      : {
          n: 0,
          start: new Int32Array(cap),
          end: new Int32Array(cap),
          kind: new Uint8Array(cap),
          flags: new Uint8Array(cap),
        }
  t.n = 0
  const len = to
  let i = from
  let nl = true
  let space = false
  let sentence = true
  while (i < len) {
    const c = text.charCodeAt(i)
    if (isSpace(c)) {
      if (c === 10) {
        nl = true
        sentence = true
      }
      space = true
      i++
      continue
    }
    if (t.n === t.start.length) grow(t)
    const k = t.n++
    const s = i
    let kind: number
    let flags = (nl ? NL_BEFORE : 0) | (space ? SPACE_BEFORE : 0) | (sentence ? SENT_START : 0)
    const lc = letterClass(c)
    if (lc > 0 || isDigit(c)) {
      let letters = 0
      let uppers = 0
      let groups = 0
      for (;;) {
        const d = text.charCodeAt(i)
        const dl = d < 128 ? ASCII_CLASS[d]! : letterClass(d)
        if (dl === 1 || dl === 2) {
          letters++
          uppers += dl >> 1
          i++
          continue
        }
        if (dl === 3) {
          i++
          continue
        }
        // Inner hyphen or apostrophe between letters: `Jean-Luc`, `O'Brien`, not `Kate's`.
        if ((d === 45 || d === 39 || d === 8217) && letterClass(text.charCodeAt(i - 1)) > 0) {
          const n1 = text.charCodeAt(i + 1)
          if (letterClass(n1) > 0) {
            if (d !== 45 && (n1 | 32) === 115 && letterClass(text.charCodeAt(i + 2)) === 0) break
            i++
            continue
          }
        }
        // Digit groups: `12.50`, `1,200`, `3/4/2020`, `5-20-2021`, `10:30`.
        if (
          (d === 46 || d === 44 || d === 47 || d === 58 || d === 45) &&
          letters === 0 &&
          isDigit(text.charCodeAt(i + 1)) &&
          isDigit(text.charCodeAt(i - 1))
        ) {
          groups += d === 45 ? 1 : 2
          i++
          continue
        }
        break
      }
      kind = letters > 0 ? WORD : NUM
      if (letterClass(c) === 2) flags |= CAP
      if (letters >= 2 && uppers === letters) flags |= UPPER
      if (letters === 0 && groups >= 2) flags |= DIGIT_GROUP
      sentence = false
    } else {
      i++
      kind = PUNCT
      sentence = c === 46 || c === 33 || c === 63 ? true : sentence && c !== 44
      if (c === 39 || c === 8217) {
        // Possessive `'s` is one token.
        if ((text.charCodeAt(i) | 32) === 115 && letterClass(text.charCodeAt(i + 1)) === 0) i++
      }
    }
    t.start[k] = s
    t.end[k] = i
    t.kind[k] = kind
    t.flags[k] = flags
    nl = false
    space = false
  }
  return t
}

// --- hashing (FNV-1a over UTF-16 code units, lower-cased for ASCII and via toLowerCase otherwise)

const FNV = 0x811c9dc5
const step = (h: number, c: number): number => Math.imul(h ^ c, 0x01000193)

/** FNV-1a of the lower-cased `text.slice(s, e)`. */
export function lowerHash(text: string, s: number, e: number): number {
  let h = FNV
  for (let i = s; i < e; i++) {
    let c = text.charCodeAt(i)
    if (c >= 65 && c <= 90) c |= 32
    else if (c >= 128) c = text[i]!.toLowerCase().charCodeAt(0)
    h = step(h, c)
  }
  return h >>> 0
}

/** FNV-1a of a plain string (lower-cased). */
export function wordHash(w: string): number {
  return lowerHash(w, 0, w.length)
}

/** The shape hash computed by the last `wordAndShape` call. */
export let lastShape = 0

/**
 * `lowerHash(text, s, e)`, and the hash of the word's shape (`Xx`, `XX`, `x`, `d`, `Xx-Xx`, …: its
 * first six symbols with runs collapsed, and its length up to 12) left in `lastShape`, in one pass.
 *
 * @example
 * ```ts
 * const h = wordAndShape(text, s, e) // lowerHash(text, s, e); lastShape: the shape hash
 * ```
 */
export function wordAndShape(text: string, s: number, e: number): number {
  let h = FNV
  let sh = FNV
  let prev = -1
  let n = 0
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i)
    let lc = c
    if (c >= 65 && c <= 90) lc = c | 32
    else if (c >= 128) lc = text[i]!.toLowerCase().charCodeAt(0)
    h = step(h, lc)
    if (n < 6) {
      const cls = letterClass(c)
      const sym = cls === 2 ? 88 : cls === 1 ? 120 : isDigit(c) ? 100 : c
      if (sym !== prev) {
        prev = sym
        sh = step(sh, sym)
        n++
      }
    }
  }
  lastShape = step(sh, Math.min(e - s, 12)) >>> 0
  return h >>> 0
}

/** Mixes a feature template id and value into one 32-bit hash. */
export function mix(template: number, value: number): number {
  let h = Math.imul(value ^ Math.imul(template, 0x9e3779b1), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

import {
  ACTIVE,
  CAP,
  lowerHash,
  mix,
  NL_BEFORE,
  NUM,
  SENT_START,
  shapeHash,
  UPPER,
  WORD,
  type Tokens,
} from './tokens.js'

/** Tags: outside, then begin/inside for PERSON, LOCATION, ORGANIZATION, STREET_ADDRESS. */
export const TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-ADDR', 'I-ADDR']
export const NTAGS = TAGS.length
export const TAG_TYPES = ['PERSON', 'LOCATION', 'ORGANIZATION', 'STREET_ADDRESS']

/** Gazetteer bits. */
export const GAZ = {
  GIVEN: 1,
  SURNAME: 2,
  PLACE: 4, // cities, regions
  COUNTRY: 8, // countries, states, nationalities' places
  STREET: 16, // street kinds and address words (Street, Rd, ul., Rue, Apt, Suite, Box, -katu, …)
  ORG: 32, // organisation words (Inc, Ltd, Bank, University, Group, …)
  TIME: 64, // months, weekdays
  COMMON: 128, // frequent capitalised words that are rarely names (The, Please, Error, …)
} as const

/** Field-name hint categories (see `hintOf`). */
export const HINTS = { none: 0, person: 1, location: 2, address: 3, organization: 4 } as const

/** Word lookup: an open-addressing table of hashes with their gazetteer bits. */
export interface Gazetteer {
  keys: Uint32Array
  bits: Uint8Array
  mask: number
}

/**
 * Builds a gazetteer table from `[hash, bits]` pairs. Internal to the NER layer.
 *
 * @example
 * ```ts
 * const g = buildGazetteer([[wordHash('Lyon'), GAZ.PLACE]])
 * ```
 */
export function buildGazetteer(entries: Iterable<[number, number]>): Gazetteer {
  const list = [...entries]
  let size = 1024
  while (size < list.length * 2) size *= 2
  const keys = new Uint32Array(size)
  const bits = new Uint8Array(size)
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

/** Per-token values computed once per text and read by every feature of its neighbours. */
export interface TokenInfo {
  word: Uint32Array
  shape: Uint32Array
  gaz: Uint8Array
}

const PAD_WORD = 0x5f5f5f5f
const PAD_SHAPE = 0x3f3f3f3f

/**
 * Word hashes, shapes and gazetteer bits for the active tokens and their neighbours.
 *
 * @example
 * ```ts
 * const info = tokenInfo(text, tokens, gazetteer)
 * ```
 */
export function tokenInfo(text: string, t: Tokens, g: Gazetteer): TokenInfo {
  const word = new Uint32Array(t.n)
  const shape = new Uint32Array(t.n)
  const gaz = new Uint8Array(t.n)
  for (let k = 0; k < t.n; k++) {
    let near = (t.flags[k]! & ACTIVE) !== 0
    for (let d = 1; d <= 2 && !near; d++) {
      near =
        (k >= d && (t.flags[k - d]! & ACTIVE) !== 0) ||
        (k + d < t.n && (t.flags[k + d]! & ACTIVE) !== 0)
    }
    if (!near) continue
    const s = t.start[k]!
    const e = t.end[k]!
    word[k] = lowerHash(text, s, e)
    shape[k] = shapeHash(text, s, e)
    if (t.kind[k] === WORD) gaz[k] = gazBits(g, word[k]!)
  }
  return { word, shape, gaz }
}

/**
 * Hashed features of token `k`, given the two previous tags, into `out`; returns their count.
 *
 * @example
 * ```ts
 * const n = features(text, tokens, info, k, prev, prev2, HINTS.none, out)
 * ```
 */
export function features(
  text: string,
  t: Tokens,
  info: TokenInfo,
  k: number,
  prev: number,
  prev2: number,
  hint: number,
  out: Uint32Array,
): number {
  let n = 0
  const s = t.start[k]!
  const e = t.end[k]!
  const w = info.word[k]!
  const sh = info.shape[k]!
  const g = info.gaz[k]!
  const flags = t.flags[k]! & (CAP | UPPER | SENT_START | NL_BEFORE)
  const wm1 = k > 0 ? info.word[k - 1]! : PAD_WORD
  const wm2 = k > 1 ? info.word[k - 2]! : PAD_WORD
  const wp1 = k + 1 < t.n ? info.word[k + 1]! : PAD_WORD
  const wp2 = k + 2 < t.n ? info.word[k + 2]! : PAD_WORD
  const shm1 = k > 0 ? info.shape[k - 1]! : PAD_SHAPE
  const shp1 = k + 1 < t.n ? info.shape[k + 1]! : PAD_SHAPE
  const gm1 = k > 0 ? info.gaz[k - 1]! : 0
  const gp1 = k + 1 < t.n ? info.gaz[k + 1]! : 0
  out[n++] = mix(1, 0)
  out[n++] = mix(2, w)
  out[n++] = mix(3, sh)
  if (t.kind[k] === WORD && e - s > 2) {
    out[n++] = mix(4, lowerHash(text, e - 2, e))
    out[n++] = mix(5, lowerHash(text, e - 3, e))
    if (e - s > 4) out[n++] = mix(6, lowerHash(text, e - 4, e))
    out[n++] = mix(7, lowerHash(text, s, s + 2))
    out[n++] = mix(8, lowerHash(text, s, Math.min(e, s + 3)))
  }
  for (let b = 1; b < 256; b <<= 1) if ((g & b) !== 0) out[n++] = mix(9, b)
  out[n++] = mix(10, wm1)
  out[n++] = mix(11, wp1)
  out[n++] = mix(12, wm2)
  out[n++] = mix(13, wp2)
  out[n++] = mix(14, shm1)
  out[n++] = mix(15, shp1)
  out[n++] = mix(16, gm1)
  out[n++] = mix(17, gp1)
  out[n++] = mix(18, prev)
  out[n++] = mix(19, prev * 16 + prev2)
  out[n++] = mix(20, mix(prev, sh))
  out[n++] = mix(21, flags)
  out[n++] = mix(22, flags * 256 + g)
  out[n++] = mix(23, mix(wm1, sh))
  out[n++] = mix(24, mix(sh, shp1))
  out[n++] = mix(25, Math.min(e - s, 16) + (t.kind[k] === NUM ? 32 : 0))
  out[n++] = mix(26, gm1 * 256 + g)
  out[n++] = mix(27, g * 256 + gp1)
  out[n++] = mix(28, prev * 256 + g)
  if (hint !== 0) {
    out[n++] = mix(29, hint)
    out[n++] = mix(30, hint * 64 + prev)
    out[n++] = mix(31, mix(hint, sh))
  }
  return n
}

/**
 * Which entities token `k` may begin: capitalised words any (2), numbers only a street address
 * (1), lower-case words and punctuation none (0): they only continue one (`Rua do Arenque`).
 *
 * @example
 * ```ts
 * canBegin(tokens, 0)
 * ```
 */
export function canBegin(t: Tokens, k: number): number {
  if (t.kind[k] === NUM) return 1
  return t.kind[k] === WORD && (t.flags[k]! & CAP) !== 0 ? 2 : 0
}

/** Whether `tag` may follow `prev` at a token that may begin what `canBegin` says. */
export function allowed(prev: number, tag: number, begin: number): boolean {
  if (tag === 0) return true
  if ((tag & 1) === 1) return begin === 2 || (begin === 1 && tag === 7)
  return prev === tag || prev === tag - 1
}

/** Maximum number of features of one token. */
export const MAX_FEATURES = 48

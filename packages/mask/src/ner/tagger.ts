import {
  activate,
  allowed,
  BEGIN_CLASSES,
  buildGazetteer,
  canBegin,
  features,
  gazBits,
  type Gazetteer,
  isAnchor,
  isBlob,
  isCode,
  PLAIN_BITS,
  MAX_FEATURES,
  NTAGS,
  TAG_TYPES,
  tokenInfo,
  type TokenInfo,
  unitBefore,
} from './features.js'
import { ACTIVE, CLOSED, letterClass, lowerHash, tokenize, type Tokens } from './tokens.js'

/** A decoded model: hashed emission weights, tag transition weights, temperature and gazetteer. */
export interface NerModel {
  buckets: number
  /**
   * `buckets × 5` emission weights: the nine int16 weights of a bucket in pairs, low half first
   * (the tenth half is 0), so a bucket is read with five loads.
   */
  weights: Int32Array
  /** `(NTAGS + 1) × NTAGS` transition weights; row NTAGS is the start of a segment. */
  transitions: Int16Array
  /** Softmax temperature on scores (in weight units). */
  temperature: number
  gazetteer: Gazetteer
}

/** One entity found by the tagger: token-aligned offsets and a score from its tag probabilities. */
export interface NerSpan {
  start: number
  end: number
  type: string
  score: number
}

function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/**
 * Decodes a packed model (see scripts/train-ner.mjs for the layout): little-endian int16
 * emission then transition weights, then the gazetteer as uint32 word hashes followed by their
 * uint16 bits.
 *
 * @example
 * ```ts
 * const model = decodeModel(PACKED)
 * ```
 */
export function decodeModel(packed: {
  buckets: number
  temperature: number
  gazetteerSize: number
  data: string
}): NerModel {
  const bytes = fromBase64(packed.data)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const nw = packed.buckets * NTAGS
  const nt = (NTAGS + 1) * NTAGS
  const weights = new Int32Array(packed.buckets * 5)
  for (let i = 0; i < nw; i++) {
    const half = i % NTAGS
    const v = view.getInt16(i * 2, true)
    weights[Math.floor(i / NTAGS) * 5 + (half >> 1)]! |= half & 1 ? v << 16 : v & 0xffff
  }
  const transitions = new Int16Array(nt)
  for (let i = 0; i < nt; i++) transitions[i] = view.getInt16((nw + i) * 2, true)
  const entries: Array<[number, number]> = []
  const base = (nw + nt) * 2
  const n = packed.gazetteerSize
  for (let i = 0; i < n; i++) {
    entries.push([view.getUint32(base + i * 4, true), view.getUint16(base + n * 4 + i * 2, true)])
  }
  return {
    buckets: packed.buckets,
    weights,
    transitions,
    temperature: packed.temperature,
    gazetteer: buildGazetteer(entries),
  }
}

/** Scratch buffers reused across calls (grown on demand). */
const feats = new Uint32Array(MAX_FEATURES)
let emit = new Float64Array(64 * NTAGS)
let delta = new Float64Array(64 * NTAGS)
let back = new Uint8Array(64 * NTAGS)
let tagBuf = new Uint8Array(64)
let tokBuf: Tokens | undefined
let infoBuf: TokenInfo | undefined
const TN = (NTAGS + 1) * NTAGS
// Transition scores per class of `canBegin` (-1 to BEGIN_CLASSES), disallowed = -Infinity.
const masked = new Float64Array((BEGIN_CLASSES + 2) * TN)
let maskedFor: ArrayLike<number> | undefined

// Whether a tag may follow some tag at all, per class (1) or never (0: its score is -Infinity).
const reachable = new Uint8Array((BEGIN_CLASSES + 2) * NTAGS)

function buildMasked(trans: ArrayLike<number>): void {
  reachable.fill(0)
  for (let b = 0; b < BEGIN_CLASSES + 2; b++) {
    for (let p = 0; p <= NTAGS; p++) {
      for (let c = 0; c < NTAGS; c++) {
        const ok = allowed(p === NTAGS ? 0 : p, c, b - 1)
        masked[b * TN + p * NTAGS + c] = ok ? trans[p * NTAGS + c]! : -Infinity
        if (ok && p < NTAGS) reachable[b * NTAGS + c] = 1
      }
    }
  }
  maskedFor = trans
}

/**
 * Emission scores of every active token into a `t.n × NTAGS` array (inactive rows are left as
 * they are), from weights packed as `NerModel.weights` is.
 *
 * @example
 * ```ts
 * const e = emissions(model.weights, model.buckets, text, t, info, 0, new Float64Array(t.n * NTAGS))
 * ```
 */
export function emissions(
  w: Int32Array,
  buckets: number,
  text: string,
  t: Tokens,
  info: TokenInfo,
  hint: number,
  out: Float64Array,
): Float64Array {
  const mask = buckets - 1
  for (let k = 0; k < t.n; k++) {
    if ((t.flags[k]! & ACTIVE) === 0) continue
    const row = k * NTAGS
    if ((t.flags[k]! & CLOSED) !== 0) {
      for (let c = 0; c < NTAGS; c++) out[row + c] = 0
      continue
    }
    const nf = features(text, t, info, k, hint, feats)
    // Nine running sums in locals (NTAGS is 9) instead of read-modify-write on `out`.
    let s0 = 0
    let s1 = 0
    let s2 = 0
    let s3 = 0
    let s4 = 0
    let s5 = 0
    let s6 = 0
    let s7 = 0
    let s8 = 0
    for (let f = 0; f < nf; f++) {
      const b = (feats[f]! & mask) * 5
      const x0 = w[b]!
      const x1 = w[b + 1]!
      const x2 = w[b + 2]!
      const x3 = w[b + 3]!
      const x4 = w[b + 4]!
      s0 += (x0 << 16) >> 16
      s1 += x0 >> 16
      s2 += (x1 << 16) >> 16
      s3 += x1 >> 16
      s4 += (x2 << 16) >> 16
      s5 += x2 >> 16
      s6 += (x3 << 16) >> 16
      s7 += x3 >> 16
      s8 += (x4 << 16) >> 16
    }
    out[row] = s0
    out[row + 1] = s1
    out[row + 2] = s2
    out[row + 3] = s3
    out[row + 4] = s4
    out[row + 5] = s5
    out[row + 6] = s6
    out[row + 7] = s7
    out[row + 8] = s8
  }
  return out
}

/**
 * Best tag sequence (Viterbi) over each run of active tokens, given emission scores and
 * transitions; inactive tokens are outside. Writes tags into `tags`.
 *
 * @example
 * ```ts
 * viterbi(t, e, model.transitions, tags)
 * ```
 */
export function viterbi(
  t: Tokens,
  e: Float64Array,
  trans: ArrayLike<number>,
  tags: Uint8Array,
): Uint8Array {
  if (delta.length < t.n * NTAGS) {
    delta = new Float64Array(t.n * NTAGS * 2)
    back = new Uint8Array(t.n * NTAGS * 2)
  }
  if (trans !== maskedFor) buildMasked(trans)
  let k = 0
  while (k < t.n) {
    if ((t.flags[k]! & ACTIVE) === 0) {
      tags[k++] = 0
      continue
    }
    const first = k
    let end = k
    while (end < t.n && (t.flags[end]! & ACTIVE) !== 0) end++
    for (let j = first; j < end; j++) {
      const tb = (canBegin(t, j) + 1) * TN
      const row = j * NTAGS
      if (j === first) {
        for (let c = 0; c < NTAGS; c++) {
          delta[row + c] = masked[tb + NTAGS * NTAGS + c]! + e[row + c]!
          back[row + c] = 0
        }
        continue
      }
      const prow = row - NTAGS
      if (tb === 0) {
        // A closed token is outside: only tag 0.
        let best = -Infinity
        let arg = 0
        for (let p = 0; p < NTAGS; p++) {
          const v = delta[prow + p]! + masked[p * NTAGS]!
          if (v > best) {
            best = v
            arg = p
          }
        }
        delta[row] = best
        back[row] = arg
        for (let c = 1; c < NTAGS; c++) delta[row + c] = -Infinity
        continue
      }
      const rb = (tb / TN) * NTAGS
      for (let c = 0; c < NTAGS; c++) {
        let best = -Infinity
        let arg = 0
        if (reachable[rb + c] === 0) {
          // Not allowed after any tag here: -Infinity, as the loop below would give.
        } else if (c > 0 && (c & 1) === 0) {
          // I-X follows only B-X or I-X.
          const vb = delta[prow + c - 1]! + masked[tb + (c - 1) * NTAGS + c]!
          const vi = delta[prow + c]! + masked[tb + c * NTAGS + c]!
          if (vb >= vi) {
            best = vb
            arg = c - 1
          } else {
            best = vi
            arg = c
          }
        } else {
          for (let p = 0; p < NTAGS; p++) {
            const v = delta[prow + p]! + masked[tb + p * NTAGS + c]!
            if (v > best) {
              best = v
              arg = p
            }
          }
        }
        delta[row + c] = best + e[row + c]!
        back[row + c] = arg
      }
    }
    let bestTag = 0
    const lrow = (end - 1) * NTAGS
    for (let c = 1; c < NTAGS; c++) if (delta[lrow + c]! > delta[lrow + bestTag]!) bestTag = c
    for (let j = end - 1; j >= first; j--) {
      tags[j] = bestTag
      bestTag = back[j * NTAGS + bestTag]!
    }
    k = end
  }
  return tags
}

/**
 * Tags a text (Viterbi over BIO tags, active tokens only) and returns entity spans scored
 * 0.55 + 0.45 × the mean local probability of their tags (softmax over the tags allowed after
 * the chosen previous tag). Tokens far from any capitalised word are outside.
 *
 * @example
 * ```ts
 * tag(model, 'Ana Pereira moved to Lyon.', 0) // [{ type: 'PERSON', … }, { type: 'LOCATION', … }]
 * ```
 */
export function tag(model: NerModel, text: string, hint: number): NerSpan[] {
  const windows = anchorWindows(text, model.gazetteer)
  if (windows.length === 2 && windows[0] === 0 && windows[1] === text.length) {
    return tagWindow(model, text, hint, 0, text.length)
  }
  const spans: NerSpan[] = []
  for (let i = 0; i < windows.length; i += 2) {
    for (const s of tagWindow(model, text, hint, windows[i]!, windows[i + 1]!)) spans.push(s)
  }
  return spans
}

/**
 * Line ranges worth tagging, as `[start, end, start, end, …]`: every line with an anchor (see
 * `activate`), with the line before or after it when an anchor is near that end, merged. A text without a capitalised
 * word that could begin a name, place or organisation gets none, and is never tokenized.
 *
 * @example
 * ```ts
 * anchorWindows('INFO started\nAna moved to Lyon', gazetteer) // [0, 29]
 * ```
 */
export function anchorWindows(text: string, g: Gazetteer): number[] {
  const len = text.length
  const out: number[] = []
  // The last capitalised word without digits, and whether it is known to be no blob or code.
  let lastCapStart = -1
  let lastCapEnd = -1
  let lastChecked = true
  // The line being read, and its first anchor start and last anchor end (-1: none yet).
  let ls = 0
  let le = -1
  let first = -1
  let last = -1
  const flush = (): void => {
    if (first < 0) return
    // An anchor near the start or end of its line (where the tagger's context of four tokens and
    // its active radius of two reach over the line break) takes the line before or after it.
    const from = ls > 0 && first - ls < REACH ? text.lastIndexOf('\n', ls - 2) + 1 : ls
    let to = le
    if (le < len && le - last < REACH) {
      to = text.indexOf('\n', le + 1)
      if (to < 0) to = len
    }
    if (out.length > 0 && from <= out[out.length - 1]! + 1) out[out.length - 1] = to
    else out.push(from, to)
  }
  CAP_START.lastIndex = 0
  while (CAP_START.test(text)) {
    const s = CAP_START.lastIndex - 1
    const c = text.charCodeAt(s)
    const before = text.charCodeAt(s - 1)
    if (
      (c > 127 && letterClass(c) !== 2) ||
      letterClass(before) > 0 ||
      (before >= 48 && before <= 57)
    )
      continue
    // The word: letters and digits, joined over `-` or `'` before a letter; its letters (the
    // first one is upper-case), lower-case letters and digits counted on the way.
    let i = s + 1
    let letters = 1
    let lower = 0
    let digits = 0
    while (i < len) {
      const d = text.charCodeAt(i)
      const lc = letterClass(d)
      if (lc > 0) {
        letters++
        if (lc === 1) lower++
        i++
      } else if (d >= 48 && d <= 57) {
        digits++
        i++
      } else if ((d === 45 || d === 39) && letterClass(text.charCodeAt(i + 1)) > 0) {
        letters++
        if (letterClass(text.charCodeAt(i + 1)) === 1) lower++
        i += 2
      } else break
    }
    CAP_START.lastIndex = i
    if (digits > 0) continue
    // On a line that already has an anchor, only an anchor near its end changes the window: the
    // word is checked (below) only if the next capitalised word needs it as a neighbour.
    if (s <= le && le - i >= REACH) {
      lastCapStart = s
      lastCapEnd = i
      lastChecked = false
      continue
    }
    if (!wordOfText(text, s, i, g)) continue
    // A capitalised word next to another one (only blanks between) is an anchor.
    let neighbour = lastCapEnd >= 0
    for (let p = lastCapEnd; neighbour && p < s; p++) {
      const b = text.charCodeAt(p)
      neighbour = b === 32 || b === 9
    }
    if (neighbour && !lastChecked) neighbour = wordOfText(text, lastCapStart, lastCapEnd, g)
    lastChecked = true
    let j = i
    while (j < len && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++
    if (j > i && letterClass(text.charCodeAt(j)) === 2) neighbour = true
    lastCapEnd = i
    if (!neighbour) {
      const upper = letters >= 2 && lower === 0
      const bits = gazBits(g, lowerHash(text, s, i))
      // Upper-case words that are not plain may anchor in running text (see `activate`).
      if (!isAnchor(bits, upper) && !(upper && (bits & PLAIN_BITS) === 0)) continue
    }
    if (s > le) {
      flush()
      ls = text.lastIndexOf('\n', s - 1) + 1
      le = text.indexOf('\n', s)
      if (le < 0) le = len
      first = s
    }
    last = i
  }
  flush()
  return out
}

/** Whether the capitalised word `text.slice(s, i)` stands in no blob or reference code. */
function wordOfText(text: string, s: number, i: number, g: Gazetteer): boolean {
  const len = text.length
  let cs = s
  while (cs > 0 && !isSpaceCode(text.charCodeAt(cs - 1))) cs--
  let ce = i
  while (ce < len && !isSpaceCode(text.charCodeAt(ce))) ce++
  if (ce - cs >= 10 && isBlob(text, cs, ce)) return false
  return !isCode(text, cs, ce) || unitBefore(text, cs, g)
}

const CAP_START = /[A-Z\u00c0-\uffff]/g
const isSpaceCode = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13

/** Characters from an anchor to its line's start or end within which the next line is tagged too. */
const REACH = 24

/** Tags the lines in `text.slice(from, to)`. */
function tagWindow(
  model: NerModel,
  text: string,
  hint: number,
  from: number,
  to: number,
): NerSpan[] {
  const t = (tokBuf = tokenize(text, tokBuf, from, to))
  const spans: NerSpan[] = []
  if (activate(text, t, model.gazetteer) === 0) return spans
  const info = (infoBuf = tokenInfo(text, t, model.gazetteer, infoBuf))
  if (emit.length < t.n * NTAGS) emit = new Float64Array(t.n * NTAGS * 2)
  if (tagBuf.length < t.n) tagBuf = new Uint8Array(t.n * 2)
  emissions(model.weights, model.buckets, text, t, info, hint, emit)
  const tags = viterbi(t, emit, model.transitions, tagBuf)
  const inv = 1 / model.temperature
  const tr = model.transitions
  let open: NerSpan | undefined
  let psum = 0
  let pcount = 0
  const close = (): void => {
    if (!open) return
    open.score = 0.55 + 0.45 * (psum / pcount)
    spans.push(open)
    open = undefined
  }
  for (let k = 0; k < t.n; k++) {
    const c = tags[k]!
    if (c === 0 || (c & 1) === 1) close()
    if (c === 0) continue
    const startsRun = k === 0 || (t.flags[k - 1]! & ACTIVE) === 0
    const prev = startsRun ? 0 : tags[k - 1]!
    const begin = canBegin(t, k)
    const row = k * NTAGS
    const trow = (startsRun ? NTAGS : prev) * NTAGS
    const own = emit[row + c]! + tr[trow + c]!
    // The transitions masked by `allowed` (-Infinity where a tag is not allowed).
    const mrow = (begin + 1) * TN + trow
    let z = 0
    for (let d = 0; d < NTAGS; d++) {
      const m = masked[mrow + d]!
      if (m !== -Infinity) z += Math.exp((emit[row + d]! + m - own) * inv)
    }
    if ((c & 1) === 1) {
      open = { start: t.start[k]!, end: t.end[k]!, type: TAG_TYPES[(c - 1) >> 1]!, score: 0 }
      psum = 0
      pcount = 0
    }
    open!.end = t.end[k]!
    psum += 1 / z
    pcount++
  }
  close()
  return spans
}

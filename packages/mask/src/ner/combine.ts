import { dateTimes } from './dates.js'
import { hinted, NER_TYPES, recognize } from './index.js'

interface Candidate {
  start: number
  end: number
  type: string
  score: number
}

/**
 * Adds the statistical layer's candidates to the pattern recognizers' ones: DATE_TIME from the
 * date patterns, PERSON, LOCATION, ORGANIZATION and STREET_ADDRESS from the tagger. A tagged
 * PERSON that overlaps a dictionary PERSON becomes one span covering both with the higher score,
 * so `Bob Li` and `Richard Milhous Nixon` are reported whole. Without the model (`model` false)
 * only the field hint applies: a short name-like value under a hinted field is reported as the
 * hinted type. Internal to the detector.
 *
 * @example
 * ```ts
 * addStatistical(text, hint, out, on, 0.5, true)
 * ```
 */
export function addStatistical(
  text: string,
  hint: number,
  out: Candidate[],
  on: ReadonlySet<string>,
  threshold: number,
  model: boolean,
): void {
  if (!model) {
    const h = hint === 0 ? undefined : hinted(text, hint)
    if (h && on.has(h.type)) mergeAll(out, [h], threshold)
    return
  }
  if (on.has('DATE_TIME')) {
    const before = out.length
    for (const d of dateTimes(text)) {
      if (d.score >= threshold)
        out.push({ start: d.start, end: d.end, type: 'DATE_TIME', score: d.score })
    }
    // A written date wins over a shorter name inside it (`May` in `May 1st`, `May-2021`).
    if (out.length > before) {
      let k = 0
      for (let i = 0; i < out.length; i++) {
        const c = out[i]!
        if (i >= before || c.type !== 'PERSON' || !insideDate(c, out, before)) out[k++] = c
      }
      out.length = k
    }
  }
  if (!NER_TYPES.some((t) => on.has(t))) return
  const found = recognize(text, hint).filter((s) => on.has(s.type))
  if (found.length > 0) mergeAll(out, found, threshold)
}

function insideDate(c: Candidate, out: Candidate[], from: number): boolean {
  for (let j = from; j < out.length; j++) {
    const d = out[j]!
    if (d.start <= c.start && c.end <= d.end && d.end - d.start > c.end - c.start) return true
  }
  return false
}

/** Adds tagged spans (in text order) to `out`, against its candidates sorted once by start. */
function mergeAll(out: Candidate[], found: Candidate[], threshold: number): void {
  const prior = out.slice().sort((a, b) => a.start - b.start)
  let maxLen = 0
  for (const o of prior) maxLen = Math.max(maxLen, o.end - o.start)
  let from = 0
  let dropped = false
  for (const s of found) {
    const c = { start: s.start, end: s.end, type: s.type, score: Math.round(s.score * 100) / 100 }
    while (from < prior.length && prior[from]!.start + maxLen <= c.start) from++
    // Validated patterns win over the tagger; a dictionary PERSON merges with a tagged one.
    let clash = false
    for (let i = from; i < prior.length && prior[i]!.start < s.end && !clash; i++) {
      const o = prior[i]!
      if (o.score < 0 || o.end <= c.start) continue
      if (o.type !== 'PERSON' || c.type !== 'PERSON') {
        // A date wins over a tagged span no longer than it (`5-May`, `May 1st`).
        clash = o.type === 'DATE_TIME' ? c.end - c.start <= o.end - o.start : o.type !== 'PERSON'
        continue
      }
      c.start = Math.min(c.start, o.start)
      c.end = Math.max(c.end, o.end)
      c.score = Math.max(c.score, o.score)
      o.score = -1
      dropped = true
    }
    if (!clash && c.score >= threshold) out.push(c)
  }
  if (!dropped) return
  let k = 0
  for (let i = 0; i < out.length; i++) if (out[i]!.score >= 0) out[k++] = out[i]!
  out.length = k
}

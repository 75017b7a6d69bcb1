// DATE_TIME candidates: the written forms Presidio reports as dates and times. Timestamps (a
// numeric or ISO date with a time of day, or a time with seconds, as logs, records and exports
// write them) get a low score, so the default threshold leaves them; a policy can lower it.

export interface DateCandidate {
  start: number
  end: number
  score: number
}

const MONTH =
  'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?'
const DAY =
  'Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:rs(?:day)?)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?'
const WEEKDAY = '[Mm]onday|[Tt]uesday|[Ww]ednesday|[Tt]hursday|[Ff]riday|[Ss]aturday|[Ss]unday'
const TIME = String.raw`\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?[AaPp]\.?[Mm]\.?)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?`
const ORD = '(?:st|nd|rd|th)?'

// Alternatives in order of preference at one position (longest forms first).
const DATE_RE = new RegExp(
  [
    // ISO date, optional time: 2024-03-12, 2024-03-12T10:22:01.123Z, 2024-03-12 10:22
    String.raw`(?<iso>\d{4}-\d{2}-\d{2})(?<isotime>(?:T|\s)${TIME})?`,
    // 3/4/2020, 12.03.2024, 03-04-21 with optional time
    String.raw`(?<num>\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))(?<numtime>,?\s${TIME})?`,
    // Monday, March 3, 2024 / March 3rd, 2024 / March 2024 / March 3
    String.raw`(?:(?:${DAY}),?\s)?(?:${MONTH})\.?\s\d{1,2}${ORD}(?:,?\s\d{4})?(?:,?\s(?:at\s)?${TIME})?`,
    String.raw`(?:(?:${DAY}),?\s)?\d{1,2}${ORD}(?:\sof)?\s(?:${MONTH})\.?(?:,?\s\d{4})?(?:,?\s(?:at\s)?${TIME})?`,
    String.raw`(?:${MONTH})\.?,?\s\d{4}`,
    // 5-May-2021, May-21, 21-May, May-2021
    String.raw`\d{1,2}-(?:${MONTH}|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(?:-\d{4})?`,
    String.raw`(?:${MONTH})-\d{2,4}`,
    // 5/21, 05/2021: month and year, reported with a low score as Presidio does
    String.raw`(?<monthyear>(?:0?[1-9]|1[0-2])/(?:\d{4}|\d{2}))`,
    // A month alone, kept only after in/on/since/until/during/by/next/last/this/early/late/mid
    String.raw`(?<month>January|February|March|April|May|June|July|August|September|October|November|December)`,
    // Weekdays, with an optional time of day
    String.raw`(?<weekday>${WEEKDAY})(?:\s(?:morning|afternoon|evening|night))?`,
    // Times alone: 10:30, 9:15 pm
    String.raw`(?<time>${TIME})`,
    // Years 1900-2099
    String.raw`(?<year>(?:19|20)\d{2})`,
  ].join('|'),
  'y',
)

// Where a match may start: a month or weekday name (capitalised, or a whole lower-case weekday)
// or a digit that begins a year (four digits: 19xx, 2xxx, or any before `-`) or a day, month or
// hour of one or two digits followed by a separator, an ordinal or ` of`/` May`. The rest of each
// candidate is a look-ahead, so the match is its first character (three for names).
const CANDIDATE =
  /\b(?:Jan|Feb|Ma[ry]|Apr|Ju[nl]|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun|mon(?=day)|tue(?=sday)|wed(?=nesday)|thu(?=rsday)|fri(?=day)|sat(?=urday)|sun(?=day)|2(?=\d{3}(?!\d))|1(?=9\d\d(?!\d))|\d(?=\d{3}-|\d?(?:[/.:snrt-]| [oJFMASOND])))/g
const isDigitCode = (c: number): boolean => c >= 48 && c <= 57

const YEAR_LEAD =
  /(?:\b(?:in|since|of|during|until|till|by|from|to|year|circa|c\.|founded|born|established|before|after|around|spring|summer|autumn|fall|winter)\s+|\bthe\s+|'|\bclass of\s+)$/i
const YEAR_WORD = /\b[Yy]ear $/
const DATE_LEAD =
  /\b(?:on|date|dated|when|due|since|until|till|from|by|born|birthday|dob|expires?|expiry|effective|valid|before|after|as of|scheduled|appointment|meeting|at)\W{0,3}$/i

const MONTH_LEAD =
  /\b(?:[Ii]n|[Oo]n|[Ss]ince|[Uu]ntil|[Dd]uring|[Bb]y|[Nn]ext|[Ll]ast|[Tt]his|[Ee]arly|[Ll]ate|[Mm]id) $/
const VERSION_LEAD = /\b(?:v|version|ver|release|build|firmware|sdk|patch)\W{0,3}$/i

const isWord = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127

/** The number written by the `n` digits at `i`. */
function digitsAt(text: string, i: number, n: number): number {
  let v = 0
  for (let k = i; k < i + n; k++) v = v * 10 + text.charCodeAt(k) - 48
  return v
}

/** The three numbers of `d[/.-]d[/.-]d` at `i` (one or two digits, one or two, two or four). */
function numericDate(text: string, i: number): [number, number, number] {
  const parts: [number, number, number] = [0, 0, 0]
  for (let p = 0, k = i; p < 3; p++, k++) {
    let v = 0
    for (let c = text.charCodeAt(k); c >= 48 && c <= 57; c = text.charCodeAt(++k)) v = v * 10 + c - 48
    parts[p] = v
  }
  return parts
}

function validDay(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= 31 && y >= 1000 && y <= 2999
}

/**
 * DATE_TIME candidates in `text` with their scores: written dates 0.6 (with a time of day too:
 * `March 3, 2024 at 10:30`), timestamps 0.2 (`2024-03-12T10:22:01Z`, `12/03/2024 10:22`,
 * `10:22:01`), weekdays 0.55, times alone 0.3, month and year 0.1–0.2 (`5/21`), years 0.3 (0.6
 * after `in`, `since`, `of`, …); a date word before (`on`, `due`, `dob`, …) raises a low
 * candidate that is not a timestamp to 0.55. The default threshold (0.5) keeps dates and leaves
 * timestamps, bare times and bare numbers. Internal to the detector.
 *
 * @example
 * ```ts
 * dateTimes('Meet on March 3, 2024 at 10:30') // [{ start: 8, end: 30, score: 0.6 }]
 * ```
 */
export function dateTimes(text: string): DateCandidate[] {
  const out: DateCandidate[] = []
  // The alternation is tried (sticky) only at word starts that may begin a match, instead of at
  // every character.
  let next = 0
  CANDIDATE.lastIndex = 0
  while (CANDIDATE.test(text)) {
    const digit = isDigitCode(text.charCodeAt(CANDIDATE.lastIndex - 1))
    const i = CANDIDATE.lastIndex - (digit ? 1 : 3)
    if (i < next || isWord(text.charCodeAt(i - 1))) continue
    DATE_RE.lastIndex = i
    const m = DATE_RE.exec(text)
    if (m === null) continue
    let start = i
    const end = start + m[0].length
    if (isWord(text.charCodeAt(end))) continue
    next = end
    const prevCh = text.charCodeAt(start - 1)
    const nextCh = text.charCodeAt(end)
    // Part of a longer dotted, dashed or slashed number (versions, ids, IPs, paths).
    if (
      (prevCh === 46 || prevCh === 45 || prevCh === 47 || prevCh === 58) &&
      isWord(text.charCodeAt(start - 2))
    )
      continue
    if (
      (nextCh === 46 || nextCh === 45 || nextCh === 47 || nextCh === 58) &&
      isWord(text.charCodeAt(end + 1))
    )
      continue
    if (VERSION_LEAD.test(text.slice(Math.max(0, start - 16), start))) continue
    const g = m.groups!
    if (g.month && !MONTH_LEAD.test(text.slice(Math.max(0, start - 8), start))) continue
    let score: number
    // Timestamps (a numeric date with a time of day, or a time with seconds) are machine-written
    // in logs, records and exports: reported low, and no context word raises them.
    let stamp = false
    if (g.iso) {
      // `yyyy-mm-dd` at the start of the match.
      const y = digitsAt(text, start, 4)
      const mo = digitsAt(text, start + 5, 2)
      const d = digitsAt(text, start + 8, 2)
      if (!validDay(y, mo, d)) continue
      stamp = g.isotime !== undefined
      score = stamp ? 0.2 : 0.6
    } else if (g.num) {
      const parts = numericDate(text, start)
      const y = parts[2] < 100 ? 2000 + parts[2] : parts[2]
      const ok = validDay(y, parts[0], parts[1]) || validDay(y, parts[1], parts[0])
      if (!ok) continue
      stamp = g.numtime !== undefined
      // Two-digit years with dots or dashes are often versions or scores: a low score.
      if (parts[2] < 100 && !g.num.includes('/')) score = 0.3
      else score = stamp ? 0.2 : 0.6
    } else if (g.monthyear) {
      score = g.monthyear.length > 5 ? 0.2 : 0.1
    } else if (g.weekday) {
      score = 0.55
    } else if (g.time) {
      stamp = /\d:\d\d:\d/.test(g.time)
      score = stamp ? 0.2 : /[AaPp]\.?[Mm]/.test(g.time) ? 0.5 : 0.3
    } else if (g.year) {
      const lead = text.slice(Math.max(0, start - 24), start)
      score = YEAR_LEAD.test(lead) ? 0.6 : 0.3
      // `year 1972` is one date expression.
      const word = YEAR_WORD.exec(lead)
      if (word) start -= word[0].length
    } else {
      score = 0.6
    }
    if (
      score < 0.5 &&
      !stamp &&
      !g.year &&
      DATE_LEAD.test(text.slice(Math.max(0, start - 24), start))
    )
      score = 0.55
    out.push({ start, end, score })
  }
  return out
}

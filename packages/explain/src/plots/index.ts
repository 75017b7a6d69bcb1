/**
 * Input of the SVG plots: one row's attributions.
 *
 * @example
 * ```ts
 * const input: PlotInput = { featureNames: ['age', 'income'], values: [0.4, -0.1], baseValue: 0.2, data: [41, 52000] }
 * ```
 */
export interface PlotInput {
  featureNames: string[]
  values: number[]
  baseValue: number
  data?: unknown[]
  /** Chart title; also the accessible name. */
  title?: string
  /** Bars shown before the rest are folded into "N other features". Default 10. */
  maxDisplay?: number
}

/**
 * The plot kinds: `waterfall`, `bar` (signed attributions, largest magnitude first) and `force`
 * (one stacked axis from the base value to f(x)).
 *
 * @example
 * ```ts
 * const kind: PlotKind = 'waterfall'
 * ```
 */
export type PlotKind = 'waterfall' | 'bar' | 'force'

const POS = '#d6336c'
const NEG = '#1c7ed6'
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0)
    ? v.toExponential(2)
    : Number(v.toFixed(3)).toString()

function ranked(p: PlotInput) {
  const items = p.featureNames.map((name, i) => ({ name, value: p.values[i]!, data: p.data?.[i] }))
  items.sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
  const max = p.maxDisplay ?? 10
  if (items.length <= max) return items
  const rest = items.slice(max - 1)
  return [
    ...items.slice(0, max - 1),
    {
      name: `${rest.length} other features`,
      value: rest.reduce((s, r) => s + r.value, 0),
      data: undefined,
    },
  ]
}

const label = (it: { name: string; data: unknown }) =>
  it.data === undefined || it.data === null || typeof it.data === 'object'
    ? it.name
    : `${it.name} = ${String(it.data)}`

function frame(
  kind: string,
  p: PlotInput,
  width: number,
  height: number,
  desc: string,
  body: string,
): string {
  const title = p.title ?? `${kind} plot of feature attributions`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `aria-labelledby="t d" font-family="sans-serif" font-size="12"><title id="t">${esc(title)}</title><desc id="d">${esc(desc)}</desc>` +
    `<rect width="100%" height="100%" fill="#fff"/>${body}</svg>`
  )
}

function describe(p: PlotInput, items: ReturnType<typeof ranked>): string {
  const fx = p.baseValue + p.values.reduce((a, b) => a + b, 0)
  const parts = items.map(
    (it) =>
      `${label(it)} ${it.value >= 0 ? 'raises' : 'lowers'} the output by ${fmt(Math.abs(it.value))}`,
  )
  return `Base value ${fmt(p.baseValue)}, model output ${fmt(fx)}. ${parts.join('; ')}.`
}

/**
 * Renders an SVG plot of one row's attributions with accessible text: `<title>`, a `<desc>`
 * that reads the whole chart as a sentence, and an `aria-label` on every bar. No browser needed.
 *
 * @example
 * ```ts
 * const svg = renderPlot('waterfall', { featureNames: ['age', 'income'], values: [0.4, -0.1], baseValue: 0.2 })
 * ```
 */
export function renderPlot(kind: PlotKind, p: PlotInput): string {
  if (kind !== 'waterfall' && kind !== 'bar' && kind !== 'force')
    throw new TypeError('plot must be waterfall, bar or force')
  if (!Array.isArray(p.values) || p.values.length !== p.featureNames.length)
    throw new TypeError('values and featureNames must match')
  const items = ranked(p)
  const desc = describe(p, items)
  const fx = p.baseValue + p.values.reduce((a, b) => a + b, 0)
  if (kind === 'force') return force(p, items, fx, desc)
  const rowH = 24
  const left = 220
  const plotW = 360
  const width = left + plotW + 80
  const height = 50 + items.length * rowH + 40
  let lo: number
  let hi: number
  const spans: Array<[number, number]> = []
  if (kind === 'waterfall') {
    let cur = fx
    const ordered = items
    for (const it of ordered) {
      spans.push([cur - it.value, cur])
      cur -= it.value
    }
    lo = Math.min(p.baseValue, fx, ...spans.flat())
    hi = Math.max(p.baseValue, fx, ...spans.flat())
  } else {
    for (const it of items) spans.push([0, it.value])
    lo = Math.min(0, ...items.map((i) => i.value))
    hi = Math.max(0, ...items.map((i) => i.value))
  }
  if (hi === lo) hi = lo + 1
  const sx = (v: number) => left + ((v - lo) / (hi - lo)) * plotW
  let body = ''
  items.forEach((it, i) => {
    const y = 40 + i * rowH
    const [a, b] = spans[i]!
    const x0 = Math.min(sx(a), sx(b))
    const w = Math.max(1, Math.abs(sx(b) - sx(a)))
    const sign = it.value >= 0 ? '+' : '−'
    body +=
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(label(it))}</text>` +
      `<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${it.value >= 0 ? POS : NEG}" ` +
      `aria-label="${esc(`${label(it)}: ${sign}${fmt(Math.abs(it.value))}`)}"><title>${esc(`${label(it)}: ${sign}${fmt(Math.abs(it.value))}`)}</title></rect>` +
      `<text x="${(Math.max(sx(a), sx(b)) + 4).toFixed(1)}" y="${y + 15}">${sign}${fmt(Math.abs(it.value))}</text>`
  })
  const axisY = 40 + items.length * rowH + 6
  const ref = kind === 'waterfall' ? p.baseValue : 0
  body += `<line x1="${left}" x2="${left + plotW}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`
  body += `<line x1="${sx(ref).toFixed(1)}" x2="${sx(ref).toFixed(1)}" y1="34" y2="${axisY}" stroke="#999" stroke-dasharray="3 3"/>`
  if (kind === 'waterfall') {
    body += `<text x="${sx(p.baseValue).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">E[f(x)] = ${fmt(p.baseValue)}</text>`
    body += `<text x="${sx(fx).toFixed(1)}" y="26" text-anchor="middle">f(x) = ${fmt(fx)}</text>`
  } else {
    body += `<text x="${left + plotW / 2}" y="${axisY + 16}" text-anchor="middle">attribution</text>`
  }
  return frame(kind, p, width, height, desc, body)
}

function force(p: PlotInput, items: ReturnType<typeof ranked>, fx: number, desc: string): string {
  const width = 720
  const height = 120
  const pos = items.filter((i) => i.value > 0)
  const neg = items.filter((i) => i.value < 0)
  const lo = Math.min(
    p.baseValue,
    fx,
    p.baseValue + neg.reduce((s, i) => s + i.value, 0),
    fx - pos.reduce((s, i) => s + i.value, 0),
  )
  const hi = Math.max(
    p.baseValue,
    fx,
    p.baseValue + pos.reduce((s, i) => s + i.value, 0),
    fx - neg.reduce((s, i) => s + i.value, 0),
  )
  const span = hi - lo || 1
  const sx = (v: number) => 20 + ((v - lo) / span) * (width - 40)
  let body = ''
  let cur = fx
  for (const it of pos) {
    const a = sx(cur - it.value)
    body += `<rect x="${a.toFixed(1)}" y="40" width="${Math.max(1, sx(cur) - a).toFixed(1)}" height="24" fill="${POS}" stroke="#fff" aria-label="${esc(`${label(it)}: +${fmt(it.value)}`)}"><title>${esc(`${label(it)}: +${fmt(it.value)}`)}</title></rect>`
    cur -= it.value
  }
  cur = fx
  for (const it of neg) {
    const b = sx(cur - it.value)
    body += `<rect x="${sx(cur).toFixed(1)}" y="40" width="${Math.max(1, b - sx(cur)).toFixed(1)}" height="24" fill="${NEG}" stroke="#fff" aria-label="${esc(`${label(it)}: −${fmt(-it.value)}`)}"><title>${esc(`${label(it)}: −${fmt(-it.value)}`)}</title></rect>`
    cur -= it.value
  }
  body += `<line x1="${sx(fx).toFixed(1)}" x2="${sx(fx).toFixed(1)}" y1="30" y2="74" stroke="#000"/>`
  body += `<text x="${sx(fx).toFixed(1)}" y="24" text-anchor="middle">f(x) = ${fmt(fx)}</text>`
  body += `<text x="${sx(p.baseValue).toFixed(1)}" y="92" text-anchor="middle">base value ${fmt(p.baseValue)}</text>`
  return frame('force', p, width, height, desc, body)
}

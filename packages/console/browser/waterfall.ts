const SVG = 'http://www.w3.org/2000/svg'

/** One explained row, as the explain plugin's V1 response carries it. */
export interface WaterfallInput {
  featureNames: string[]
  values: number[]
  data: unknown[]
  baseValue: number
  link: string
  output: string
}

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

export function formatValue(v: unknown): string {
  if (typeof v === 'number')
    return Number.isInteger(v) ? v.toLocaleString('en-US') : String(+v.toFixed(3))
  if (v === null || v === undefined) return '–'
  return String(v)
}

export function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`
}

/**
 * Draws a waterfall: from the base value (the model's average output over the background) each
 * feature's attribution moves the running total, largest first, ending at the prediction.
 */
export function drawWaterfall(input: WaterfallInput): SVGSVGElement {
  const order = input.values
    .map((v, i) => i)
    .sort((a, b) => Math.abs(input.values[b]!) - Math.abs(input.values[a]!))
  const rowH = 26
  const top = 28
  const labelW = 230
  const valueW = 70
  const plotW = 360
  const width = labelW + plotW + valueW
  const height = top + rowH * (order.length + 1) + 30
  let total = input.baseValue
  const steps = order.map((i) => {
    const start = total
    total += input.values[i]!
    return { i, start, end: total }
  })
  const final = total
  const xs = [input.baseValue, final, ...steps.flatMap((s) => [s.start, s.end])]
  let lo = Math.min(...xs)
  let hi = Math.max(...xs)
  const pad = (hi - lo || 1) * 0.08
  lo -= pad
  hi += pad
  const x = (v: number) => labelW + ((v - lo) / (hi - lo)) * plotW

  const space = input.link === 'logit' ? 'log-odds' : input.output
  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-labelledby': 'waterfall-title waterfall-desc',
    class: 'waterfall',
  })
  svg.append(
    el('title', { id: 'waterfall-title' }, `Waterfall of feature attributions for ${input.output}`),
    el(
      'desc',
      { id: 'waterfall-desc' },
      `Starts at the base value ${input.baseValue.toFixed(3)} and ends at ${final.toFixed(3)} (${space}). ` +
        steps.map((s) => `${input.featureNames[s.i]} ${signed(input.values[s.i]!)}`).join(', ') +
        '.',
    ),
  )
  svg.append(
    el(
      'text',
      { x: labelW, y: 16, class: 'axis-label' },
      `${space}: base ${input.baseValue.toFixed(3)}`,
    ),
    el('line', {
      x1: x(input.baseValue),
      x2: x(input.baseValue),
      y1: top - 4,
      y2: height - 26,
      class: 'base-line',
    }),
  )
  steps.forEach((s, row) => {
    const y = top + row * rowH
    const v = input.values[s.i]!
    const x0 = Math.min(x(s.start), x(s.end))
    const w = Math.max(Math.abs(x(s.end) - x(s.start)), 1.5)
    const name = input.featureNames[s.i]!
    const g = el('g', { class: v >= 0 ? 'step up' : 'step down' })
    g.append(
      el(
        'text',
        { x: labelW - 8, y: y + 17, 'text-anchor': 'end', class: 'feature' },
        `${name} = ${formatValue(input.data[s.i])}`,
      ),
      el('rect', { x: x0, y: y + 4, width: w, height: rowH - 8, rx: 2 }),
      el('text', { x: width - 4, y: y + 17, 'text-anchor': 'end', class: 'amount' }, signed(v)),
    )
    if (row < steps.length - 1)
      g.append(
        el('line', {
          x1: x(s.end),
          x2: x(s.end),
          y1: y + rowH - 4,
          y2: y + rowH + 4,
          class: 'connector',
        }),
      )
    svg.append(g)
  })
  const yEnd = top + steps.length * rowH
  svg.append(
    el(
      'text',
      { x: labelW - 8, y: yEnd + 17, 'text-anchor': 'end', class: 'feature total' },
      `prediction ${input.output}`,
    ),
    el('line', {
      x1: x(final),
      x2: x(final),
      y1: yEnd + 2,
      y2: yEnd + rowH - 2,
      class: 'final-line',
    }),
    el(
      'text',
      { x: width - 4, y: yEnd + 17, 'text-anchor': 'end', class: 'amount total' },
      final.toFixed(3),
    ),
    el('text', { x: labelW, y: height - 8, class: 'legend up-text' }, '■ raises'),
    el('text', { x: labelW + 80, y: height - 8, class: 'legend down-text' }, '■ lowers'),
  )
  return svg
}

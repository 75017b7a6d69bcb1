const SVG = 'http://www.w3.org/2000/svg'

/** One explained row, as the explain plugin's V1 response carries it. */
export interface WaterfallInput {
  featureNames: string[]
  /** Readable label of each feature, by name (the schema's description); default the name. */
  labels?: Record<string, string>
  values: number[]
  /** The explained values; a missing one is drawn as `imputed[name]` when the schema has it. */
  data: unknown[]
  /** What the model used for a missing value (the schema's `missing`), by feature name. */
  imputed?: Record<string, unknown>
  baseValue: number
  link: string
  output: string
  /** Width to draw at, in CSS pixels (the chart is drawn 1:1, never scaled down). */
  width: number
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

/** Attributions are shown to three decimals; anything that rounds to 0.000 counts as zero. */
export function isZero(v: number): boolean {
  return Math.abs(v) < 0.0005
}

export function signed(v: number): string {
  if (isZero(v)) return '0.000'
  return `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`
}

/** The value a feature had for the model: the sent one, or the schema's imputation. */
export function shownValue(
  name: string,
  value: unknown,
  imputed: Record<string, unknown> | undefined,
): { text: string; imputed: boolean } {
  if ((value === null || value === undefined) && imputed && imputed[name] != null)
    return { text: `${formatValue(imputed[name])} (missing)`, imputed: true }
  return { text: formatValue(value), imputed: false }
}

/** About five round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || 1
  const raw = span / 5
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  const out: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push(+t.toFixed(12))
  return out
}

function tickLabel(t: number, all: number[]): string {
  const step = all.length > 1 ? Math.abs(all[1]! - all[0]!) : 1
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)))
  return t.toFixed(digits)
}

/**
 * Draws a waterfall: from the base value (the model's average output over the background) each
 * feature's attribution moves the running total, largest first, ending at the prediction. An x
 * axis with a scale sits under the bars; the base value and the prediction are vertical lines.
 * Bars that raise the output are red, bars that lower it blue, zero contributions grey. Wide
 * charts put labels left of the bars; narrow ones put each label above its bar.
 */
export function drawWaterfall(input: WaterfallInput): SVGSVGElement {
  const order = input.values
    .map((_, i) => i)
    .sort((a, b) => Math.abs(input.values[b]!) - Math.abs(input.values[a]!))
  const width = Math.max(280, Math.round(input.width))
  const stacked = width < 560
  const valueW = 62
  const labelW = stacked ? 0 : Math.min(300, Math.round(width * 0.42))
  const plotX = stacked ? 8 : labelW + 8
  const plotW = width - plotX - valueW - 8
  const rowH = stacked ? 38 : 26
  const barY = stacked ? 18 : 5
  const barH = stacked ? 14 : 16
  const top = 22
  const rows = order.length + 1
  const axisY = top + rowH * rows + 4
  const height = axisY + 46

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
  const pad = (hi - lo || 1) * 0.06
  lo -= pad
  hi += pad
  const scale = ticks(lo, hi)
  lo = Math.min(lo, scale[0]!)
  hi = Math.max(hi, scale[scale.length - 1]!)
  const x = (v: number) => plotX + ((v - lo) / (hi - lo)) * plotW

  const outputLabel = input.output.replaceAll('_', ' ')
  const space = input.link === 'logit' ? `log-odds of ${outputLabel}` : outputLabel
  const label = (name: string) => input.labels?.[name] || name
  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-labelledby': 'waterfall-title waterfall-desc',
    class: stacked ? 'waterfall stacked' : 'waterfall',
  })
  svg.append(
    el('title', { id: 'waterfall-title' }, `Waterfall of feature attributions for ${input.output}`),
    el(
      'desc',
      { id: 'waterfall-desc' },
      `Starts at the base value ${input.baseValue.toFixed(3)} and ends at ${final.toFixed(3)} (${space}). ` +
        steps
          .map((s) => `${label(input.featureNames[s.i]!)} ${signed(input.values[s.i]!)}`)
          .join(', ') +
        '.',
    ),
  )
  // The scale: grid lines, the axis with its ticks, the base value and the prediction.
  const grid = el('g', { class: 'axis' })
  for (const t of scale) {
    grid.append(
      el('line', { x1: x(t), x2: x(t), y1: top - 4, y2: axisY, class: 'grid' }),
      el('line', { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 5, class: 'tick' }),
      el(
        'text',
        { x: x(t), y: axisY + 17, 'text-anchor': 'middle', class: 'tick-label' },
        tickLabel(t, scale),
      ),
    )
  }
  grid.append(
    el('line', { x1: plotX, x2: plotX + plotW, y1: axisY, y2: axisY, class: 'axis-line' }),
    el(
      'text',
      { x: plotX + plotW / 2, y: axisY + 35, 'text-anchor': 'middle', class: 'axis-label' },
      space,
    ),
  )
  svg.append(grid)
  const baseX = x(input.baseValue)
  svg.append(
    el('line', { x1: baseX, x2: baseX, y1: top - 6, y2: axisY, class: 'base-line' }),
    el(
      'text',
      {
        x: baseX,
        y: top - 9,
        'text-anchor': baseX > plotX + plotW * 0.6 ? 'end' : 'start',
        class: 'base-label',
      },
      `base ${input.baseValue.toFixed(3)} (average)`,
    ),
  )
  steps.forEach((s, row) => {
    const y = top + row * rowH
    const v = input.values[s.i]!
    const name = input.featureNames[s.i]!
    const x0 = Math.min(x(s.start), x(s.end))
    const w = Math.max(Math.abs(x(s.end) - x(s.start)), 2)
    const kind = isZero(v) ? 'zero' : v > 0 ? 'up' : 'down'
    const g = el('g', { class: `step ${kind}`, 'data-feature': name })
    const value = shownValue(name, input.data[s.i], input.imputed)
    g.append(el('title', {}, `${label(name)} (${name}) = ${value.text}: ${signed(v)}`))
    g.append(
      el(
        'text',
        stacked
          ? { x: plotX, y: y + 13, class: 'feature' }
          : { x: labelW, y: y + 17, 'text-anchor': 'end', class: 'feature' },
        `${label(name)} = ${value.text}`,
      ),
      el('rect', { x: x0, y: y + barY, width: w, height: barH, rx: 2 }),
      el(
        'text',
        { x: width - 4, y: y + barY + barH - 3, 'text-anchor': 'end', class: 'amount' },
        signed(v),
      ),
    )
    if (row < steps.length - 1)
      g.append(
        el('line', {
          x1: x(s.end),
          x2: x(s.end),
          y1: y + barY + barH,
          y2: y + rowH + barY,
          class: 'connector',
        }),
      )
    svg.append(g)
  })
  const yEnd = top + steps.length * rowH
  svg.append(
    el(
      'text',
      stacked
        ? { x: plotX, y: yEnd + 13, class: 'feature total' }
        : { x: labelW, y: yEnd + 17, 'text-anchor': 'end', class: 'feature total' },
      `Prediction: ${outputLabel}`,
    ),
    el('line', {
      x1: x(final),
      x2: x(final),
      y1: yEnd + barY - 3,
      y2: yEnd + barY + barH + 3,
      class: 'final-line',
    }),
    el(
      'text',
      { x: width - 4, y: yEnd + barY + barH - 3, 'text-anchor': 'end', class: 'amount total' },
      final.toFixed(3),
    ),
  )
  return svg
}

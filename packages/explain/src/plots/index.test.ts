import { describe, expect, it } from 'vitest'
import { renderPlot } from './index.js'

const input = {
  featureNames: ['age', 'income', 'purpose', 'debt'],
  values: [0.4, -0.25, 0.05, -0.6],
  baseValue: 0.2,
  data: [41, 52000, 'car', 3],
}

describe('renderPlot', () => {
  it.each(['waterfall', 'bar', 'force'] as const)('%s is an accessible standalone SVG', (kind) => {
    const svg = renderPlot(kind, { ...input, title: `credit <${kind}>` })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" role="img"')).toBe(true)
    expect(svg).toContain(`<title id="t">credit &#60;${kind}&#62;</title>`)
    expect(svg).toMatch(
      /<desc id="d">Base value 0\.2, model output -0\.2\. debt = 3 lowers the output by 0\.6; age = 41 raises/,
    )
    expect(svg.match(/aria-label="/g)).toHaveLength(4)
    expect(svg).not.toContain('NaN')
  })

  it('folds small features and rejects bad input', () => {
    const svg = renderPlot('bar', { ...input, maxDisplay: 2 })
    expect(svg).toContain('3 other features')
    expect(() => renderPlot('pie' as never, input)).toThrow(TypeError)
    expect(() => renderPlot('bar', { ...input, values: [1] })).toThrow(TypeError)
  })
})

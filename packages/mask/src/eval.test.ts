import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM helper without types, shared with bench/mask.js
import { loadEval, score } from '../eval/score.mjs'
import { createDetector } from './detector.js'

describe('evaluation set', () => {
  it('keeps micro F1 at or above 0.95 and every hard-negative kind at or below 5%', () => {
    const records = loadEval()
    expect(records.length).toBeGreaterThanOrEqual(2000)
    const detector = createDetector()
    const result = score(records, (text: string) => detector.detect(text))
    expect(result.micro.f1).toBeGreaterThanOrEqual(0.95)
    for (const [kind, r] of Object.entries(result.negatives as Record<string, { rate: number }>)) {
      expect.soft(r.rate, kind).toBeLessThanOrEqual(0.05)
    }
    expect(Object.keys(result.negatives).sort()).toEqual([
      'iban_bad',
      'isbn',
      'order16',
      'ssn_invalid',
      'timestamp',
      'version',
    ])
  })
})

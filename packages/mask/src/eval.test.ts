import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM helper without types, shared with bench/mask.js
import { loadEval, score } from '../eval/score.mjs'
import { createDetector } from './detector.js'

describe('evaluation set', () => {
  it.each([
    ['the NER layer on (default)', true],
    ['the NER layer off', false],
  ])(
    'keeps micro F1 at or above 0.95 and every hard-negative kind at or below 5%% with %s',
    (_, ner) => {
      const records = loadEval()
      expect(records.length).toBeGreaterThanOrEqual(2000)
      const detector = createDetector({ ner })
      // The set labels its own types only (no places, organisations, addresses or dates), so those
      // are scored; a hard negative counts as flagged when a span of any type overlaps it.
      const labelled = new Set(
        records.flatMap((r: { spans: Array<{ type: string }> }) => r.spans.map((s) => s.type)),
      )
      const result = score(records, (text: string) => detector.detect(text), labelled)
      expect(result.micro.f1).toBeGreaterThanOrEqual(0.95)
      for (const [kind, r] of Object.entries(
        result.negatives as Record<string, { rate: number }>,
      )) {
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
    },
  )
})

import { GateError } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { BudgetMeter, MaskingBudgetError } from './budget.js'
import { createDetector } from './detector.js'
import { createMasker } from './masker.js'

const PHONES = Array.from(
  { length: 20_000 },
  (_, i) => `call +44 020 7946 ${String(i).padStart(4, '0')}`,
).join('\n')

describe('detection budget', () => {
  it('refuses a text over maxBytes with 413 masking_budget_exceeded before scanning it', () => {
    const d = createDetector({ budget: { maxBytes: 64 << 10 } })
    expect(d.detect('call +44 20 7946 0958').length).toBe(1)
    let error: unknown
    try {
      d.detect(PHONES)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MaskingBudgetError)
    expect(error).toBeInstanceOf(GateError)
    expect(error).toMatchObject({ code: 'masking_budget_exceeded', status: 413, limit: 'bytes' })
    // Multi-byte text is counted in UTF-8 bytes.
    expect(() => createDetector({ budget: { maxBytes: 30 } }).detect('名前'.repeat(6))).toThrow(
      MaskingBudgetError,
    )
  })

  it('stops a call that runs past maxCpuMs with 422', () => {
    let t = 0
    const meter = new BudgetMeter({ maxBytes: Infinity, maxCpuMs: 50 }, () => (t += 5))
    const d = createDetector()
    expect(() => d.detect(PHONES, { budget: meter })).toThrow(
      expect.objectContaining({ status: 422, limit: 'cpu', code: 'masking_budget_exceeded' }),
    )
    // On the real clock a tight limit stops a large phone-heavy text too.
    const tight = createDetector({ budget: { maxBytes: Infinity, maxCpuMs: 1 } })
    expect(() => tight.detect(PHONES.repeat(4))).toThrow(MaskingBudgetError)
    expect(createDetector({ budget: false }).detect(PHONES).length).toBe(20_000)
  })

  it('charges every string of one applyPolicy call to one budget', async () => {
    const masker = createMasker({ budget: { maxBytes: 1000 } })
    const note = 'mail ana@example.org '.repeat(20) // 420 bytes
    await expect(masker.applyPolicy({ a: note, b: note })).resolves.toMatchObject({
      counts: { EMAIL_ADDRESS: 40 },
    })
    await expect(masker.applyPolicy({ a: note, b: note, c: note })).rejects.toMatchObject({
      status: 413,
      code: 'masking_budget_exceeded',
    })
    await expect(masker.maskText(note.repeat(3))).rejects.toBeInstanceOf(MaskingBudgetError)
  })

  it('rejects bad limits at construction', () => {
    expect(() => createDetector({ budget: { maxBytes: 0 } })).toThrow(TypeError)
    expect(() => createMasker({ budget: { maxCpuMs: -1 } })).toThrow(TypeError)
  })
})

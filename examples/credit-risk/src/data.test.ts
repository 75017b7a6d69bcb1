import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  generateApplications,
  isValidSsn,
  luhnValid,
  PURPOSES,
  trueDefaultProbability,
} from './data.js'
import { Random } from './random.js'

const rows = generateApplications(3000, 11)

describe('generateApplications', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateApplications(200, 11)).toEqual(rows.slice(0, 200))
    const other = generateApplications(200, 12)
    expect(other).not.toEqual(rows.slice(0, 200))
    expect(new Set(rows.map((r) => r.applicant_id)).size).toBe(rows.length)
  })

  it('matches the committed data/applications.jsonl (1,500 rows, seed 2024)', async () => {
    const text = await readFile(new URL('../data/applications.jsonl', import.meta.url), 'utf8')
    const committed = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(committed).toEqual(generateApplications(1500, 2024))
  })

  it('keeps numeric fields within realistic bounds', () => {
    for (const r of rows) {
      expect(Number.isInteger(r.age) && r.age >= 18 && r.age <= 80).toBe(true)
      expect(r.years_employed).toBeGreaterThanOrEqual(0)
      expect(r.years_employed).toBeLessThanOrEqual(r.age - 16)
      expect(r.credit_history_years).toBeLessThanOrEqual(r.age - 18)
      expect(r.income).toBeGreaterThanOrEqual(9_000)
      expect(r.debt_to_income).toBeGreaterThanOrEqual(0)
      expect(Number.isInteger(r.delinquencies) && r.delinquencies >= 0).toBe(true)
      expect(r.loan_amount).toBeGreaterThanOrEqual(500)
      expect(PURPOSES).toContain(r.purpose)
    }
    const incomes = rows.map((r) => r.income).sort((a, b) => a - b)
    const median = incomes[incomes.length >> 1]!
    const mean = incomes.reduce((a, b) => a + b, 0) / incomes.length
    expect(mean).toBeGreaterThan(median)
    expect(new Set(rows.map((r) => r.purpose)).size).toBe(PURPOSES.length)
  })

  it('labels 15–25% as defaults, more often where the ground truth is riskier', () => {
    const rate = rows.filter((r) => r.default === 1).length / rows.length
    expect(rate).toBeGreaterThan(0.15)
    expect(rate).toBeLessThan(0.25)
    const sorted = [...rows].sort((a, b) => trueDefaultProbability(a) - trueDefaultProbability(b))
    const share = (part: typeof rows) => part.filter((r) => r.default === 1).length / part.length
    expect(share(sorted.slice(-600))).toBeGreaterThan(3 * share(sorted.slice(0, 600)))
    const withLate = rows.filter((r) => r.delinquencies > 0)
    const clean = rows.filter((r) => r.delinquencies === 0)
    expect(share(withLate)).toBeGreaterThan(share(clean))
  })

  it('makes valid SSNs, Luhn-valid card numbers, US phone numbers and name-derived e-mails', () => {
    for (const r of rows) {
      expect(isValidSsn(r.ssn), r.ssn).toBe(true)
      expect(r.card_number).toMatch(/^\d{16}$|^\d{4}( \d{4}){3}$|^\d{4}(-\d{4}){3}$/)
      expect(luhnValid(r.card_number), r.card_number).toBe(true)
      const digits = r.phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '')
      expect(digits).toMatch(/^[2-9]\d{2}[2-9]\d{6}$/)
      expect(digits.slice(1, 3)).not.toBe('11')
      const [first, last] = r.name.split(' ') as [string, string]
      const local = r.email.split('@')[0]!
      expect(r.email).toMatch(/^[a-z0-9._]+@[a-z]+\.[a-z]+$/)
      expect(
        local.includes(first.toLowerCase()) ||
          local.includes(last.toLowerCase().replace(/\W/g, '')),
      ).toBe(true)
    }
    const formats = new Set(rows.map((r) => r.phone.replace(/\d/g, '9')))
    expect(formats.size).toBeGreaterThanOrEqual(5)
    expect(new Set(rows.map((r) => r.email.split('@')[1])).size).toBeGreaterThanOrEqual(5)
  })

  it('writes notes that sometimes carry the e-mail or a phone number', () => {
    const withEmail = rows.filter((r) => r.note.includes(r.email))
    const withPhone = rows.filter((r) => /\d{3}\D{0,2}\d{3}\D?\d{4}/.test(r.note))
    expect(withEmail.length).toBeGreaterThan(100)
    expect(withPhone.length).toBeGreaterThan(100)
    expect(withEmail.length + withPhone.length).toBeLessThan(rows.length / 2)
  })
})

describe('PII validators', () => {
  it('accept and reject the textbook cases', () => {
    expect(luhnValid('4111 1111 1111 1111')).toBe(true)
    expect(luhnValid('4111-1111-1111-1112')).toBe(false)
    expect(isValidSsn('123-45-6789')).toBe(true)
    for (const bad of [
      '000-12-3456',
      '666-12-3456',
      '912-12-3456',
      '123-00-4567',
      '123-45-0000',
      '123456789',
    ]) {
      expect(isValidSsn(bad), bad).toBe(false)
    }
  })
})

describe('Random', () => {
  it('repeats its sequence for a seed', () => {
    const a = new Random(42)
    const b = new Random(42)
    const draws = Array.from({ length: 50 }, () => [a.uniform(), a.normal(), a.poisson(2)])
    expect(Array.from({ length: 50 }, () => [b.uniform(), b.normal(), b.poisson(2)])).toEqual(draws)
    expect(new Random(42).uniform()).toBe(0.6011037519201636)
  })
})

import { Random } from './random.js'

/**
 * What a loan applicant may want the money for.
 *
 * @example
 * ```ts
 * PURPOSES.includes('car') // true
 * ```
 */
export const PURPOSES = [
  'car',
  'home',
  'education',
  'medical',
  'business',
  'debt_consolidation',
  'other',
] as const

/**
 * One of {@link PURPOSES}.
 *
 * @example
 * ```ts
 * const purpose: Purpose = 'debt_consolidation'
 * ```
 */
export type Purpose = (typeof PURPOSES)[number]

/**
 * A loan application as it arrives at the gate: the model features, the applicant's personal
 * data (never a model input, but present in real requests), and an identifier.
 *
 * @example
 * ```ts
 * const [app] = generateApplications(1, 7)
 * app.purpose // 'car' | 'home' | …
 * ```
 */
export interface LoanApplication {
  applicant_id: string
  name: string
  email: string
  phone: string
  ssn: string
  card_number: string
  /** Yearly gross income in USD. */
  income: number
  /** Monthly debt payments over monthly income, before this loan. */
  debt_to_income: number
  age: number
  years_employed: number
  credit_history_years: number
  /** Payments 30+ days late in the last seven years. */
  delinquencies: number
  /** Requested amount in USD. */
  loan_amount: number
  purpose: Purpose
  /** Free text typed by a loan officer. */
  note: string
}

/**
 * A generated application with its outcome: `default` is 1 when the loan was not repaid.
 *
 * @example
 * ```ts
 * const rows = generateApplications(1000, 7)
 * rows.filter((r) => r.default === 1).length / rows.length // about 0.2
 * ```
 */
export interface LabelledApplication extends LoanApplication {
  default: 0 | 1
}

const FIRST_NAMES = `
  James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
  Carlos Susan Joseph Jessica Thomas Sarah Wei Karen Daniel Aisha Matthew Maria Anthony
  Priya Mark Emily Kenji Fatima Andre Olivia Luis Grace Dmitri Chloe
`
  .trim()
  .split(/\s+/)

const LAST_NAMES = `
  Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
  Gonzalez Wilson Anderson Thomas Taylor Moore Nguyen Lee Patel Kim Chen O'Brien Okafor
  Kowalski Jackson White Harris Sanchez Clark Ramirez Tanaka Ivanova Walker Young
`
  .trim()
  .split(/\s+/)

const EMAIL_DOMAINS = `
  gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me aol.com comcast.net
`
  .trim()
  .split(/\s+/)

const PURPOSE_WEIGHTS: Record<Purpose, number> = {
  car: 0.17,
  home: 0.14,
  education: 0.08,
  medical: 0.07,
  business: 0.09,
  debt_consolidation: 0.3,
  other: 0.15,
}

/** Typical loan size as a fraction of yearly income, per purpose. */
const PURPOSE_SIZE: Record<Purpose, number> = {
  car: 0.45,
  home: 1.6,
  education: 0.5,
  medical: 0.15,
  business: 0.7,
  debt_consolidation: 0.3,
  other: 0.2,
}

/** Effect of the purpose on the log-odds of default in the ground truth. */
const PURPOSE_RISK: Record<Purpose, number> = {
  car: -0.15,
  home: -0.55,
  education: 0.1,
  medical: 0.5,
  business: 0.55,
  debt_consolidation: 0.25,
  other: 0,
}

const NOTE_TEMPLATES: Array<(a: NoteFacts) => string> = [
  () => 'Documents verified, no issues found.',
  () => 'Pay stubs for the last two months attached.',
  (a) => `Applicant prefers contact by email at ${a.email}.`,
  (a) => `Call back at ${a.phone} after 5pm, mornings are not possible.`,
  (a) => `${a.first} asked whether the rate can be fixed for the full term.`,
  (a) => `Spoke with ${a.name} on the phone; ${a.pronoun} will upload the bank statement tomorrow.`,
  () => 'Self-employed, tax returns for two years requested.',
  () => 'Wants to refinance existing credit card balances.',
  () => 'Co-signer was discussed but not added.',
  (a) => `Reach ${a.first} at ${a.email} or ${a.phone} if anything is missing.`,
  () => 'Recently moved; previous address on file.',
  () => 'Asked for a lower monthly payment over a longer term.',
  (a) => `Second phone number given: ${a.phone}.`,
  () => '',
]

interface NoteFacts {
  name: string
  first: string
  email: string
  phone: string
  pronoun: string
}

const FEMININE = new Set(
  `Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen
  Aisha Maria Priya Emily Fatima Olivia Grace Chloe`.split(/\s+/),
)

/** Intercept of the ground-truth log-odds; sets the default rate to about 20%. */
const BASE_LOG_ODDS = -1.75

/**
 * The probability of default under the generator's ground truth, before the unobserved
 * per-applicant noise. Useful to judge how close a trained model gets to the truth.
 *
 * @example
 * ```ts
 * const [app] = generateApplications(1, 7)
 * trueDefaultProbability(app) // between 0 and 1
 * ```
 */
export function trueDefaultProbability(a: LoanApplication): number {
  return sigmoid(logOdds(a))
}

function logOdds(a: LoanApplication): number {
  return (
    BASE_LOG_ODDS +
    3.2 * (a.debt_to_income - 0.33) +
    0.6 * a.delinquencies -
    0.7 * Math.log(a.income / 55_000) +
    0.4 * Math.log(a.loan_amount / a.income / 0.4) -
    0.045 * (a.credit_history_years - 10) -
    0.04 * (a.years_employed - 6) -
    0.018 * (a.age - 40) +
    PURPOSE_RISK[a.purpose]
  )
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x))
}

/**
 * Generates `n` synthetic loan applications with outcomes, deterministically from `seed`.
 *
 * Income is log-normal, the loan size depends on income and purpose, delinquencies are Poisson
 * with a rate that grows with a hidden financial-stress factor, and `default` is drawn from a
 * logistic ground truth ({@link trueDefaultProbability}) plus that hidden factor, which no
 * model can see. The personal fields are valid in form: SSNs follow the area/group/serial rules,
 * card numbers pass the Luhn check, phone numbers are NANP numbers in several common spellings.
 *
 * @example
 * ```ts
 * const rows = generateApplications(2000, 2024)
 * rows[0].ssn // '###-##-####'
 * ```
 */
export function generateApplications(n: number, seed: number): LabelledApplication[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('n must be a non-negative integer')
  const rng = new Random(seed)
  const rows: LabelledApplication[] = []
  for (let i = 0; i < n; i++) rows.push(generateOne(rng))
  return rows
}

function generateOne(rng: Random): LabelledApplication {
  const stress = rng.normal()
  const age = Math.round(clamp(18 + rng.logNormal(Math.log(22), 0.55), 18, 80))
  const years_employed = rng.chance(0.06)
    ? 0
    : round(clamp(rng.uniform() ** 0.8 * (age - 16) * rng.uniform(0.6, 1), 0, age - 16), 1)
  const credit_history_years = round(clamp((age - 18) * rng.uniform(0.25, 1.05), 0, age - 18), 1)
  const income = roundTo(
    clamp(
      rng.logNormal(
        Math.log(52_000) +
          0.012 * (Math.min(age, 55) - 40) +
          0.015 * years_employed -
          0.12 * stress,
        0.5,
      ),
      9_000,
      1_500_000,
    ),
    100,
  )
  const debt_to_income = round(clamp(rng.normal(0.3 + 0.06 * stress, 0.12), 0, 1.5), 3)
  const delinquencies = rng.poisson(Math.exp(-1.5 + 0.7 * stress))
  const purpose = rng.weighted(PURPOSE_WEIGHTS)
  const loan_amount = roundTo(
    clamp(income * rng.logNormal(Math.log(PURPOSE_SIZE[purpose]), 0.45), 500, 2_000_000),
    100,
  )

  const first = rng.pick(FIRST_NAMES)
  const last = rng.pick(LAST_NAMES)
  const name = `${first} ${last}`
  const email = makeEmail(rng, first, last)
  const phone = makePhone(rng)
  const application: LoanApplication = {
    applicant_id: `app_${base36(rng, 10)}`,
    name,
    email,
    phone,
    ssn: makeSsn(rng),
    card_number: makeCardNumber(rng),
    income,
    debt_to_income,
    age,
    years_employed,
    credit_history_years,
    delinquencies,
    loan_amount,
    purpose,
    note: rng.pick(NOTE_TEMPLATES)({
      name,
      first,
      email,
      phone: rng.chance(0.5) ? phone : makePhone(rng),
      pronoun: FEMININE.has(first) ? 'she' : 'he',
    }),
  }
  const p = sigmoid(logOdds(application) + 0.8 * stress)
  return { ...application, default: rng.chance(p) ? 1 : 0 }
}

function makeEmail(rng: Random, first: string, last: string): string {
  const f = first.toLowerCase()
  const l = last.toLowerCase().replace(/[^a-z]/g, '')
  const local = rng.pick([
    `${f}.${l}`,
    `${f}${l}`,
    `${f[0]}${l}`,
    `${f}_${l}`,
    `${f}.${l}${rng.int(1, 99)}`,
    `${l}.${f}`,
    `${f}${rng.int(1950, 2006)}`,
  ])
  return `${local}@${rng.pick(EMAIL_DOMAINS)}`
}

function nanpBlock(rng: Random): string {
  for (;;) {
    const block = `${rng.int(2, 9)}${rng.int(0, 9)}${rng.int(0, 9)}`
    if (block.slice(1) !== '11') return block
  }
}

/**
 * A US phone number (valid NANP area code and exchange) in one of the spellings people use.
 *
 * @example
 * ```ts
 * makePhone(new Random(1)) // e.g. '(415) 732-0199' or '+1 415 732 0199'
 * ```
 */
export function makePhone(rng: Random): string {
  const area = nanpBlock(rng)
  const exchange = nanpBlock(rng)
  const line = String(rng.int(0, 9999)).padStart(4, '0')
  return rng.pick([
    `(${area}) ${exchange}-${line}`,
    `${area}-${exchange}-${line}`,
    `${area}.${exchange}.${line}`,
    `+1 ${area} ${exchange} ${line}`,
    `+1-${area}-${exchange}-${line}`,
    `${area}${exchange}${line}`,
  ])
}

/**
 * A US social security number that follows the issuance rules: area 001–899 except 666,
 * group 01–99, serial 0001–9999, written `AAA-GG-SSSS`.
 *
 * @example
 * ```ts
 * isValidSsn(makeSsn(new Random(1))) // true
 * ```
 */
export function makeSsn(rng: Random): string {
  let area = rng.int(1, 899)
  if (area === 666) area = 667
  const group = rng.int(1, 99)
  const serial = rng.int(1, 9999)
  return `${pad(area, 3)}-${pad(group, 2)}-${pad(serial, 4)}`
}

/**
 * True for `AAA-GG-SSSS` with a valid area (not 000, 666 or 900–999), group (not 00) and
 * serial (not 0000).
 *
 * @example
 * ```ts
 * isValidSsn('123-45-6789') // true
 * isValidSsn('666-45-6789') // false
 * ```
 */
export function isValidSsn(ssn: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(ssn)
  if (!m) return false
  const area = Number(m[1])
  return area !== 0 && area !== 666 && area < 900 && m[2] !== '00' && m[3] !== '0000'
}

const CARD_PREFIXES = ['4', '4', '4', '51', '52', '53', '54', '55', '2221', '2720', '6011']

/**
 * A 16-digit payment card number with a valid Luhn check digit, written as 16 digits, in groups
 * of four separated by spaces, or by dashes.
 *
 * @example
 * ```ts
 * luhnValid(makeCardNumber(new Random(1))) // true
 * ```
 */
export function makeCardNumber(rng: Random): string {
  let digits = rng.pick(CARD_PREFIXES)
  while (digits.length < 15) digits += String(rng.int(0, 9))
  digits += String(luhnCheckDigit(digits))
  const groups = digits.match(/\d{4}/g)!
  return rng.pick([groups.join(' '), groups.join(' '), groups.join('-'), digits])
}

function luhnCheckDigit(payload: string): number {
  let sum = 0
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return (10 - (sum % 10)) % 10
}

/**
 * The Luhn (mod 10) check over the digits of `number`; spaces and dashes are ignored.
 *
 * @example
 * ```ts
 * luhnValid('4111 1111 1111 1111') // true
 * ```
 */
export function luhnValid(number: string): boolean {
  const digits = number.replace(/[ -]/g, '')
  if (!/^\d{12,19}$/.test(digits)) return false
  return luhnCheckDigit(digits.slice(0, -1)) === Number(digits[digits.length - 1])
}

function base36(rng: Random, length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += rng.int(0, 35).toString(36)
  return s
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x))
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function roundTo(x: number, step: number): number {
  return Math.round(x / step) * step
}

// Seeded generator of the labelled evaluation set: `node eval/generate.mjs` writes eval/pii-eval.jsonl.
// Each line: { id, genre, text, spans: [{ start, end, type }], negatives: [{ start, end, kind }] }.
// Gold values are valid by construction (Luhn, mod-97, SSN rules, libphonenumber, base58check,
// bech32); hard negatives are shaped like PII but invalid or out of context.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'

const SEED = 20240617
const COUNT = 2400

let state = SEED >>> 0
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
const pick = (a) => a[Math.floor(rand() * a.length)]
const digits = (n) => Array.from({ length: n }, () => int(0, 9)).join('')
const pad = (v, n) => String(v).padStart(n, '0')

// Given names and surnames: most appear in the detector's dictionaries, some deliberately do not
// (Anouk, Tiago, Bogdan, Oyelaran, …) so the PERSON numbers measure generalisation too.
const FIRST =
  'James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth Sarah Thomas Karen Daniel Nancy Laura Kevin Emily Brian Rachel Olivia Hannah Lucas Sofia Mateo Camila Pierre Lena Giulia Aisha Omar Priya Rahul Wei Yuki Olga Ivan Lars Ingrid Chidi Amara Siobhan Rhys Anouk Tiago Bogdan Ximena Ravindra Svetlana Kofi Nadia Tomasz Mei'.split(
    ' ',
  )
const LAST =
  'Smith Johnson Williams Brown Garcia Miller Davis Martinez Wilson Anderson Taylor Thomas Moore Martin Lee Thompson White Harris Clark Lewis Walker Young Allen King Wright Scott Nguyen Hill Green Baker Patel Khan Chen Wang Kim Rossi Muller Dubois Kowalski Ivanov Jensen Okafor Mensah Tanaka Silva Murphy Oyelaran Vandersloot Przybylski Achterberg Castellanos Lindqvist Abernathy'.split(
    ' ',
  )
const DOMAINS = [
  'example.com',
  'mail.example.org',
  'acme.test',
  'corp.example.net',
  'uni.example.edu',
  'shop.example.co.uk',
]
const WORDS =
  'account billing refund delivery password login session upload report invoice address schedule payment statement limit branch manager team update request issue response'.split(
    ' ',
  )

function luhnDigit(body) {
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    let d = +body[body.length - 1 - i]
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return String((10 - (sum % 10)) % 10)
}
const luhnOk = (s) => {
  const body = s.slice(0, -1)
  return luhnDigit(body) === s.slice(-1)
}

function card() {
  const kind = pick(['visa', 'visa', 'mc', 'mc2', 'amex', 'disc'])
  let body
  if (kind === 'visa') body = '4' + digits(14)
  else if (kind === 'mc') body = '5' + int(1, 5) + digits(13)
  else if (kind === 'mc2') body = String(int(2221, 2720)) + digits(11)
  else if (kind === 'amex') body = pick(['34', '37']) + digits(12)
  else body = '6011' + digits(11)
  const n = body + luhnDigit(body)
  const sep = pick([' ', '-', '', ' '])
  if (n.length === 15) return [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep)
  return n.match(/.{4}/g).join(sep)
}

function orderNumber() {
  for (;;) {
    const n = String(int(1, 9)) + digits(15)
    if (!luhnOk(n)) return rand() < 0.5 ? n : n.match(/.{4}/g).join(pick([' ', '-']))
  }
}

function ssn() {
  let area = int(1, 899)
  if (area === 666) area = 667
  const s = `${pad(area, 3)}-${pad(int(1, 99), 2)}-${pad(int(1, 9999), 4)}`
  return rand() < 0.85 ? s : s.replace(/-/g, ' ')
}
const badSsn = () =>
  `${pick(['000', '666', String(int(900, 999))])}-${pad(int(1, 99), 2)}-${pad(int(1, 9999), 4)}`

const IBAN_FORMAT = { DE: 18, GB: 18, FR: 23, NL: 14, ES: 20, IT: 23, BE: 12, AT: 16 }
function ibanCheck(country, bban) {
  const moved = bban + country + '00'
  const numeric = moved.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55))
  return pad(98 - Number(BigInt(numeric) % 97n), 2)
}
function ibanBban(country) {
  const n = IBAN_FORMAT[country]
  if (country === 'GB') return 'NWBK' + digits(14)
  if (country === 'NL') return 'ABNA' + digits(10)
  if (country === 'IT') return 'X' + digits(22)
  return digits(n)
}
function ibanFormat(s) {
  return rand() < 0.6 ? s.match(/.{1,4}/g).join(' ') : s
}
function iban() {
  const c = pick(Object.keys(IBAN_FORMAT))
  const bban = ibanBban(c)
  return ibanFormat(c + ibanCheck(c, bban) + bban)
}
function badIban() {
  const c = pick(Object.keys(IBAN_FORMAT))
  const bban = ibanBban(c)
  const good = ibanCheck(c, bban)
  let bad = good
  while (bad === good) bad = pad(int(2, 98), 2)
  return ibanFormat(c + bad + bban)
}

const AREA = [
  '212',
  '415',
  '617',
  '312',
  '206',
  '303',
  '512',
  '646',
  '718',
  '305',
  '404',
  '702',
  '503',
  '615',
  '919',
]
function phone() {
  for (;;) {
    const kind = pick(['us', 'us', 'us', 'us', 'gb', 'de', 'fr'])
    let s
    if (kind === 'us') {
      const a = pick(AREA)
      const e = String(int(201, 989))
      const x = pad(int(0, 9999), 4)
      s = pick([
        `(${a}) ${e}-${x}`,
        `${a}-${e}-${x}`,
        `+1 ${a} ${e} ${x}`,
        `${a}.${e}.${x}`,
        `+1-${a}-${e}-${x}`,
      ])
    } else if (kind === 'gb') s = `+44 20 ${int(7000, 8999)} ${pad(int(0, 9999), 4)}`
    else if (kind === 'de') s = `+49 30 ${int(20000000, 99999999)}`
    else
      s = `+33 1 ${pad(int(10, 99), 2)} ${pad(int(10, 99), 2)} ${pad(int(10, 99), 2)} ${pad(int(10, 99), 2)}`
    const p = parsePhoneNumberFromString(s, 'US')
    if (p && p.isValid() && !s.includes('555')) return s
  }
}

function ipv4() {
  return [int(1, 223), int(0, 255), int(0, 255), int(1, 254)].join('.')
}
function ipv6() {
  const g = () => int(0, 65535).toString(16)
  if (rand() < 0.5) return Array.from({ length: 8 }, g).join(':')
  return `${pick(['2001:db8', 'fe80', '2607:f8b0', '2a00:1450'])}::${g()}:${g()}`
}
function version() {
  const v = `${int(1, 12)}.${int(0, 40)}.${int(0, 99)}.${int(1, 250)}`
  return pick([
    `version ${v}`,
    `v${v}`,
    `upgraded to ${v}`,
    `build ${v}`,
    `release ${v}`,
    `firmware ${v}`,
    `agent/${v}`,
  ])
}
function timestamp() {
  const y = int(2019, 2025)
  const d = `${y}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`
  const t = `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}`
  return pick([
    `${d}T${t}Z`,
    `${d} ${t}`,
    `${d}T${t}.${pad(int(0, 999), 3)}+02:00`,
    `[${t}]`,
    `${pad(int(1, 28), 2)}/${pad(int(1, 12), 2)}/${y} ${t.slice(0, 5)}`,
  ])
}
function isbn() {
  const core = '978' + digits(9)
  let sum = 0
  for (let i = 0; i < 12; i++) sum += +core[i] * (i % 2 ? 3 : 1)
  const n = core + ((10 - (sum % 10)) % 10)
  return pick([
    `ISBN ${n}`,
    `ISBN ${n.slice(0, 3)}-${n[3]}-${n.slice(4, 7)}-${n.slice(7, 12)}-${n[12]}`,
    `ISBN-13: ${n}`,
  ])
}
function url() {
  const d = pick(['example.com', 'portal.example.org', 'docs.example.net', 'files.acme.test'])
  const path = `/${pick(WORDS)}/${int(100, 99999)}`
  return pick([`https://${d}${path}`, `http://${d}${path}?ref=${pick(WORDS)}`, `www.${d}${path}`])
}
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58(bytes) {
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'))
  let s = ''
  while (n > 0n) {
    s = B58[Number(n % 58n)] + s
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    s = '1' + s
  }
  return s
}
const sha = (b) => createHash('sha256').update(b).digest()
function btcLegacy() {
  const payload = Buffer.concat([
    Buffer.from([pick([0, 5])]),
    Buffer.from(Array.from({ length: 20 }, () => int(0, 255))),
  ])
  return base58(Buffer.concat([payload, sha(sha(payload)).subarray(0, 4)]))
}
const BECH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
function polymod(values) {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i]
  }
  return chk >>> 0
}
function btcBech32() {
  const prog = Array.from({ length: 20 }, () => int(0, 255))
  const data = [0]
  let acc = 0
  let bits = 0
  for (const b of prog) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      bits -= 5
      data.push((acc >>> bits) & 31)
    }
  }
  if (bits) data.push((acc << (5 - bits)) & 31)
  const pm = polymod([3, 3, 0, 2, 3, ...data, 0, 0, 0, 0, 0, 0]) ^ 1
  const check = Array.from({ length: 6 }, (_, i) => (pm >>> (5 * (5 - i))) & 31)
  return 'bc1' + [...data, ...check].map((v) => BECH[v]).join('')
}
const crypto = () => (rand() < 0.5 ? btcLegacy() : btcBech32())
const MONTH = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
function dob() {
  const y = int(1940, 2005)
  const m = int(1, 12)
  const d = int(1, 28)
  return pick([
    `${y}-${pad(m, 2)}-${pad(d, 2)}`,
    `${pad(m, 2)}/${pad(d, 2)}/${y}`,
    `${MONTH[m - 1]} ${d}, ${y}`,
    `${d} ${MONTH[m - 1]} ${y}`,
  ])
}
const first = () => pick(FIRST)
const last = () => pick(LAST)
const person = () => (rand() < 0.85 ? `${first()} ${last()}` : `${first()}`)
const email = (f = first(), l = last()) =>
  pick([`${f}.${l}`, `${f[0]}${l}`, `${f}${int(1, 99)}`, `${l}.${f[0]}`]).toLowerCase() +
  '@' +
  pick(DOMAINS)

const GEN = {
  EMAIL_ADDRESS: email,
  PHONE_NUMBER: phone,
  CREDIT_CARD: card,
  IBAN_CODE: iban,
  US_SSN: ssn,
  IP_ADDRESS: () => (rand() < 0.8 ? ipv4() : ipv6()),
  URL: url,
  DATE_OF_BIRTH: dob,
  PERSON: person,
  CRYPTO: crypto,
}
const NEG = {
  order16: orderNumber,
  ssn_invalid: badSsn,
  iban_bad: badIban,
  version,
  timestamp,
  isbn,
}

// Templates: {TYPE} is a gold entity, {!kind} a hard negative, {w} a filler word.
const TEMPLATES = {
  ticket: [
    'Ticket #{n}: {PERSON} reports that the {w} page fails. Contact: {EMAIL_ADDRESS}, phone {PHONE_NUMBER}.',
    'Customer {PERSON} was charged twice on card {CREDIT_CARD} for order {!order16}; refund requested.',
    'Escalation for {PERSON}: the {w} form rejected SSN {US_SSN}. Please verify identity before {w}.',
    'Refund to IBAN {IBAN_CODE} approved. Previous attempt used IBAN {!iban_bad} which bounced.',
    'User cannot log in after the client {!version} rollout; last seen from IP {IP_ADDRESS} at {!timestamp}.',
    'Order {!order16} shipped. Customer asked to update the {w} address, see {URL} for the label.',
    'Please call {PERSON} back on {PHONE_NUMBER} about the {w} {w}.',
    'The {w} export failed at {!timestamp}; no customer data involved.',
    'Book order: {!isbn}, quantity {n}. Ship to {PERSON}.',
    'Claim {!ssn_invalid} is a legacy internal reference, not an SSN; re-open ticket {n}.',
  ],
  chat: [
    'hi, this is {PERSON}, you can reach me at {PHONE_NUMBER} or {EMAIL_ADDRESS}',
    'my card is {CREDIT_CARD} and it keeps getting declined :(',
    'sure, my email is {EMAIL_ADDRESS}. thanks!',
    'Thanks {PERSON}! I sent the payment from wallet {CRYPTO} an hour ago',
    'can you check order {!order16}? it was due {w}',
    'we are on {!version} already, still broken',
    'I was born on {DATE_OF_BIRTH}, does that matter for the {w}?',
    'ok, here is the link: {URL}',
    'ping me at {!timestamp} tomorrow, no rush',
    'reading {!isbn} this week, highly recommend',
  ],
  loan: [
    'Applicant {PERSON}, date of birth {DATE_OF_BIRTH}, SSN {US_SSN}, requests a {w} loan of ${n}.',
    'Borrower {PERSON} (DOB: {DATE_OF_BIRTH}) provided IBAN {IBAN_CODE} for disbursement.',
    'Co-signer {PERSON} can be reached at {EMAIL_ADDRESS}. Income verified on {!timestamp}.',
    'Loan file {n}: applicant SSN {US_SSN}; reference {!ssn_invalid} belongs to the old system.',
    'Collateral: BTC held at {CRYPTO}. Appraisal by {PERSON}.',
    'Payment card on file {CREDIT_CARD}; monthly debit of ${n} scheduled.',
    'Note from underwriter {PERSON}: applicant moved, new phone {PHONE_NUMBER}.',
    'Statement received {!timestamp}; account {!iban_bad} rejected by the bank checksum.',
    'Applicant was born {DATE_OF_BIRTH} and has held the account since {w}.',
  ],
  log: [
    '{!timestamp} INFO request from {IP_ADDRESS} user={EMAIL_ADDRESS} path=/api/{w} status=200',
    '{!timestamp} WARN auth failure for {EMAIL_ADDRESS} from {IP_ADDRESS}',
    '{!timestamp} INFO deployed {!version} to {n} hosts',
    '{!timestamp} ERROR payment gateway rejected card {CREDIT_CARD} for order {!order16}',
    '{!timestamp} DEBUG callback url={URL} took {n} ms',
    '{!timestamp} INFO worker-{n} processed batch {n} in {n} ms',
    '{!timestamp} INFO client {IP_ADDRESS} agent {!version}',
    '{!timestamp} WARN slow query on {w} table ({n} ms)',
  ],
  json: [
    '{"name": "{PERSON}", "email": "{EMAIL_ADDRESS}", "phone": "{PHONE_NUMBER}"}',
    '{"event": "login", "ip": "{IP_ADDRESS}", "ts": "{!timestamp}", "client": "{!version}"}',
    '{"order": "{!order16}", "card": "{CREDIT_CARD}", "amount": {n}}',
    '{"customer": {"ssn": "{US_SSN}", "iban": "{IBAN_CODE}"}, "note": "born {DATE_OF_BIRTH}"}',
    '{"wallet": "{CRYPTO}", "memo": "{w} {w}"}',
    '{"isbn": "{!isbn}", "title": "The {w} {w}", "qty": {n}}',
    '{"ref": "{!ssn_invalid}", "iban": "{!iban_bad}", "status": "rejected"}',
    '{"homepage": "{URL}", "owner": "{PERSON}"}',
  ],
}

function render(genre, template) {
  const spans = []
  const negatives = []
  let text = ''
  const re = /\{(!?[A-Za-z_0-9]+)\}/g
  let last = 0
  for (const m of template.matchAll(re)) {
    text += template.slice(last, m.index)
    last = m.index + m[0].length
    const key = m[1]
    if (key === 'n') text += String(int(2, 9999))
    else if (key === 'w') text += pick(WORDS)
    else if (key.startsWith('!')) {
      const kind = key.slice(1)
      const value = NEG[kind]()
      const start = text.length
      text += value
      negatives.push({ start, end: text.length, kind })
    } else {
      let value = GEN[key]()
      if (genre === 'chat' && key === 'EMAIL_ADDRESS') value = value.toLowerCase()
      const start = text.length
      text += value
      spans.push({ start, end: text.length, type: key })
    }
  }
  text += template.slice(last)
  return { text, spans, negatives }
}

const genres = Object.keys(TEMPLATES)
const lines = []
for (let i = 0; i < COUNT; i++) {
  const genre = genres[i % genres.length]
  const { text, spans, negatives } = render(genre, pick(TEMPLATES[genre]))
  lines.push(JSON.stringify({ id: i, genre, text, spans, negatives }))
}
const out = fileURLToPath(new URL('./pii-eval.jsonl', import.meta.url))
writeFileSync(out, lines.join('\n') + '\n')
console.log(`wrote ${lines.length} texts to ${out}`)

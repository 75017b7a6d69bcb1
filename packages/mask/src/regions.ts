/* Countries named near a phone number: the names, adjectives and upper-case ISO codes that make a
 * number without a country code worth reading in that country's numbering plan. */

const NAMES: Record<string, string> = {
  US: 'united states|usa|american|america',
  CA: 'canada|canadian',
  MX: 'mexico|mexican',
  BR: 'brazil|brazilian|brasil',
  AR: 'argentina|argentinian|argentine',
  CL: 'chile|chilean',
  CO: 'colombia|colombian',
  PE: 'peru|peruvian',
  GB: 'united kingdom|britain|british|england|english|scotland|scottish|wales|welsh',
  IE: 'ireland|irish',
  FR: 'france|french',
  DE: 'germany|german|deutschland',
  AT: 'austria|austrian',
  CH: 'switzerland|swiss',
  IT: 'italy|italian',
  ES: 'spain|spanish',
  PT: 'portugal|portuguese',
  NL: 'netherlands|dutch|holland',
  BE: 'belgium|belgian',
  LU: 'luxembourg',
  DK: 'denmark|danish',
  SE: 'sweden|swedish',
  NO: 'norway|norwegian',
  FI: 'finland|finnish',
  IS: 'iceland|icelandic',
  PL: 'poland|polish',
  CZ: 'czech|czechia',
  SK: 'slovakia|slovak',
  HU: 'hungary|hungarian',
  RO: 'romania|romanian',
  BG: 'bulgaria|bulgarian',
  GR: 'greece|greek',
  CY: 'cyprus|cypriot',
  TR: 'turkey|turkish|türkiye',
  UA: 'ukraine|ukrainian',
  RU: 'russia|russian',
  IL: 'israel|israeli',
  AE: 'emirates|emirati|uae|dubai',
  SA: 'saudi',
  EG: 'egypt|egyptian',
  MA: 'morocco|moroccan',
  NG: 'nigeria|nigerian',
  KE: 'kenya|kenyan',
  ZA: 'south africa|south african',
  IN: 'india|indian',
  PK: 'pakistan|pakistani',
  BD: 'bangladesh|bangladeshi',
  CN: 'china|chinese|prc|中国|大陆',
  HK: 'hong kong',
  TW: 'taiwan|taiwanese',
  JP: 'japan|japanese|日本',
  KR: 'korea|korean|한국',
  SG: 'singapore|singaporean',
  MY: 'malaysia|malaysian',
  TH: 'thailand|thai',
  VN: 'vietnam|vietnamese',
  PH: 'philippines|philippine|filipino|pilipinas',
  ID: 'indonesia|indonesian',
  AU: 'australia|australian|aussie',
  NZ: 'new zealand|kiwi',
}

const BY_NAME = new Map<string, string>()
for (const [code, names] of Object.entries(NAMES)) {
  for (const n of names.split('|')) BY_NAME.set(n, code)
}
const NAME_RE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${[...BY_NAME.keys()].sort((a, b) => b.length - a.length).join('|')})(?![\\p{L}\\p{N}])`,
  'giu',
)
// Upper-case ISO codes written as words (`My CN number`); lower-case ones are common words.
const CODE_RE = new RegExp(`\\b(?:${Object.keys(NAMES).join('|')}|UK)\\b`, 'g')

/**
 * Regions (ISO 3166 alpha-2) named in `text` (the context before a phone number), nearest last:
 * country names and adjectives in any case, ISO codes in upper case.
 *
 * @example
 * ```ts
 * regionsNamed('My Israeli number is ') // ['IL']
 * ```
 */
export function regionsNamed(text: string): string[] {
  const out: string[] = []
  NAME_RE.lastIndex = 0
  for (let m = NAME_RE.exec(text); m !== null; m = NAME_RE.exec(text)) {
    const code = BY_NAME.get(m[0].toLowerCase())
    if (code) out.push(code)
  }
  CODE_RE.lastIndex = 0
  for (let m = CODE_RE.exec(text); m !== null; m = CODE_RE.exec(text)) {
    out.push(m[0] === 'UK' ? 'GB' : m[0])
  }
  return out
}

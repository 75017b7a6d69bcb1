/* Host names: the top-level domains a bare domain (`microsoft.com`, no scheme) may end with, and the
 * scan that finds such domains. */

const GENERIC = `com org net edu gov mil int info biz name pro mobi tel asia cat coop aero jobs
museum travel xxx app dev io co tech online site store shop blog cloud xyz top club live news media
agency email link click page world group global digital one life space website academy center
company solutions services systems network support studio design consulting finance health law
legal capital ventures partners software science school university education energy events expert
finance fund gold guru holdings host hosting house institute international investments land lawyer
limited management market marketing money photography plus press productions properties realty
reviews run sale social solar team technology today tools tours town toys trade training tube video
vision wiki work works zone berlin london paris tokyo nyc amsterdam boston miami vegas webcam site
vlaanderen bank insurance`

const COUNTRY = `ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo
br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg
er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu
id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu
lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr
nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm
sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc
ve vg vi vn vu wf ws ye yt za zm zw`

/** Top-level domains a bare domain is recognised by (generic ones and every country code). */
const TLDS = new Set(`${GENERIC} ${COUNTRY}`.split(/\s+/))

/**
 * Country codes that are also common file extensions (`README.md`, `setup.py`, `run.sh`,
 * `main.rs`): a bare name ending with one is taken for a domain only after a second-level label
 * such as `co` or `com` (`example.com.py`), after `www.`, or with a path.
 */
const FILE_LIKE = new Set(
  'md py sh rs pl pm ps so cc ai am in is it me ml mk sb sc st tf to as bz ar ac gs im ts'.split(
    ' ',
  ),
)
const SECOND_LEVEL = new Set('co com org net gov ac edu or ne go gob nic mil'.split(' '))

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isLabelChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 45

/** Whether a host name's last label is a top-level domain (`xn--` ones included). */
function tldOk(tld: string): boolean {
  return TLDS.has(tld) || /^xn--[a-z0-9-]{1,59}$/.test(tld)
}

/**
 * Whether `host` (from a URL with a scheme) has a dotted name ending in an alphabetic or `xn--`
 * label, or is an IP literal: `http://microsoft` is not a URL, `http://microsoft.webcam` is.
 *
 * @example
 * ```ts
 * hostOk('microsoft') // false
 * ```
 */
export function hostOk(host: string): boolean {
  if (host.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)) return true
  const dot = host.lastIndexOf('.')
  if (dot <= 0) return false
  const tld = host.slice(dot + 1).toLowerCase()
  return /^[a-z]{2,24}$/.test(tld) || /^xn--[a-z0-9-]{1,59}$/.test(tld)
}

/**
 * Whether a `www.` host ends with a known top-level domain (`www.microsoft` does not).
 *
 * @example
 * ```ts
 * wwwHostOk('www.microsoft.com') // true
 * ```
 */
export function wwwHostOk(host: string): boolean {
  const dot = host.lastIndexOf('.')
  return dot > 4 && tldOk(host.slice(dot + 1).toLowerCase())
}

const TLD_AT = /\.(?:xn--[A-Za-z0-9-]{1,59}|[A-Za-z]{2,24})(?![A-Za-z0-9-]|\.[A-Za-z0-9])/g
const PATH_END = /[\s()<>"'`{}|\\^]/

/**
 * Bare domain names (`microsoft.com`, `google.co.il`, with an optional path), as Presidio's URL
 * recognizer finds them without a scheme: labels of letters, digits and hyphens before a known
 * top-level domain, not part of an e-mail address, a longer URL or a file name.
 *
 * @example
 * ```ts
 * bareDomains('my domains: microsoft.com google.co.il') // [[12, 25], [26, 38]]
 * ```
 */
export function bareDomains(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = []
  if (text.indexOf('.') < 0) return out
  let free = 0
  TLD_AT.lastIndex = 0
  for (let m = TLD_AT.exec(text); m !== null; m = TLD_AT.exec(text)) {
    const dot = m.index
    const tld = m[0].slice(1).toLowerCase()
    if (!tldOk(tld) || dot < free) continue
    // Labels back from the top-level domain.
    let s = dot
    let labels = 0
    let secondLevel = ''
    for (;;) {
      const labelEnd = s
      while (s > 0 && labelEnd - s < 63 && isLabelChar(text.charCodeAt(s - 1))) s--
      if (s === labelEnd || text.charCodeAt(s) === 45 || text.charCodeAt(labelEnd - 1) === 45) break
      labels++
      if (labels === 1) secondLevel = text.slice(s, labelEnd).toLowerCase()
      if (text.charCodeAt(s - 1) !== 46 || !isLabelChar(text.charCodeAt(s - 2))) break
      s--
    }
    if (labels === 0) continue
    const start = s
    const prev = text.charCodeAt(start - 1)
    // Part of an e-mail address, a URL, a path or a longer dotted token.
    if (prev === 64 || prev === 47 || prev === 46 || prev === 95 || prev === 58) continue
    if (isLabelChar(prev) || prev >= 128) continue
    let end = dot + m[0].length
    const www = /^www\d{0,3}\./i.test(text.slice(start, start + 7))
    const path = text.charCodeAt(end) === 47
    if (FILE_LIKE.has(tld) && !www && !path && !SECOND_LEVEL.has(secondLevel)) continue
    if (labels === 1 && /^\d+$/.test(secondLevel)) continue
    if (path) {
      while (end < text.length && !PATH_END.test(text[end]!)) end++
      while ('.,;:!?)]'.includes(text[end - 1]!)) end--
    }
    out.push([start, end])
    free = end
  }
  return out
}

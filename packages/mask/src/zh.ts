import { COMPOUND_SURNAMES, SURNAMES_BY_RANK } from './zh-surnames.js'

/* Chinese text: mainland mobile numbers, and names, places and street addresses, which Chinese
 * writes without spaces, so they are found from surnames, administrative suffixes and the words
 * around them rather than from capitalisation. Offsets are UTF-16 code units like everywhere else. */

type Scored = (c: { start: number; end: number; type: string; score: number }) => void

const isHan = (c: number): boolean => (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf)
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff]/

const SURNAME = new Set(SURNAMES_BY_RANK)
const COMPOUND = new Set(COMPOUND_SURNAMES)

// Words that introduce a name (forms, salutations, self-introductions), ending right before it.
const NAME_LABEL =
  /(?:姓名|名字|联系人|客户|顾客|患者|病人|收件人|收货人|寄件人|申请人|借款人|担保人|负责人|经办人|持卡人|户名|户主|用户|学生|员工|职工|乘客|房东|租客|业主|委托人|法人|代表人|本人|签名|签字|我叫|我是|名叫|叫做|尊敬的|亲爱的|致|由|请|name|customer|contact|applicant|patient|dear|hi|hello|mrs?\.?|ms\.?)\s*[:：]?\s*$/i
// Titles and forms of address right after a name.
const NAME_TITLE =
  /^(?:先生|女士|小姐|老师|同学|经理|总监|主任|医生|大夫|护士|教授|博士|律师|师傅|阿姨|叔叔|局长|处长|科长|院长|校长|书记|同志|夫妇|一家)/
const NAME_TIME = /(?:今天|昨天|明天|上午|下午|晚上|早上|刚才|随后|然后|后来|当时|于是)$/
const NAME_VERB = /^[去来说在到回打给要会已将把被和与跟也又就还正刚]/
// Characters that end a given name when no title follows (function words, verbs, units).
const NOT_GIVEN = new Set(
  '的了在是和与及或等说将已于向到从给被把对也都就不请电手女先老经医同我你他她们这那今昨年月日号路街区市县省去来有要会能想让打发收寄住位为以其之每各本该此'.split(
    '',
  ),
)

/**
 * Chinese names: a surname from the published frequency table (or a compound surname) and one or
 * two given-name characters, after a label such as 姓名 or 联系人, before a title such as 先生 or
 * 女士, or at the start of a line before a colon (a chat speaker).
 */
function names(text: string, scored: Scored): void {
  let free = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!isHan(c) || i < free) continue
    const two = text.slice(i, i + 2)
    const surnameLength = COMPOUND.has(two) ? 2 : SURNAME.has(text[i]!) ? 1 : 0
    if (surnameLength === 0) continue
    const labelled = NAME_LABEL.test(text.slice(Math.max(0, i - 12), i))
    const lineStart = i === 0 || text.charCodeAt(i - 1) === 10
    // Given name: up to two Han characters that are not function words, or up to a title
    // (titles of one character such as 总 are left out: 周总结 is not a name).
    let end = i + surnameLength
    let titled = false
    for (let k = 0; ; k++) {
      const rest = text.slice(end, end + 4)
      if (NAME_TITLE.test(rest)) {
        titled = true
        break
      }
      if (k === 2) break
      const g = text.charCodeAt(end)
      if (!isHan(g) || NOT_GIVEN.has(text[end]!)) break
      end++
    }
    const given = end - i - surnameLength
    const speaker = lineStart && given > 0 && /^\s*[:：]/.test(text.slice(end, end + 2))
    // A two- or three-character name between a time word and a verb (今天张伟去了公司).
    const acting =
      given > 0 &&
      NAME_TIME.test(text.slice(Math.max(0, i - 3), i)) &&
      NAME_VERB.test(text[end] ?? '')
    if (!titled && !labelled && !speaker && !acting) continue
    if (given === 0 && !titled) continue
    scored({ start: i, end, type: 'PERSON', score: 0.85 })
    free = end
  }
}

const PROVINCES =
  '北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门'
const ADMIN = '(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|自治县|旗|镇|乡|街道)'
const ROAD = '(?:大道|大街|路|街|巷|胡同|弄|里)'
const NUMBER = '(?:\\d{1,5}|[一二三四五六七八九十百零]{1,5})(?:号|弄)'
const UNIT = '(?:\\d{1,5}(?:号楼|栋|幢|座|单元|楼|层|室|号))'
const H = '[\\u3400-\\u4dbf\\u4e00-\\u9fff]'
// A chain of administrative units (each two to seven characters and a suffix), then optionally a
// road with its number and building parts; or a road and number alone.
const ADDRESS = new RegExp(
  `(?:(?:${PROVINCES})(?:省|市|自治区|特别行政区)?|${H}{2,7}?${ADMIN})(?:${H}{1,13}?${ADMIN}){0,4}(?:${H}{1,10}?${ROAD}${NUMBER}${UNIT}{0,3})?` +
    `|${H}{1,10}?${ROAD}${NUMBER}${UNIT}{0,3}`,
  'g',
)
// Words that end before an address starts (labels and verbs of place).
const ADDRESS_LEAD = /(?:地址|住址|住在|住|家住|位于|在|到|寄到|送到|送至|寄往|来自|从|去|于|址)$/
const PROVINCE_START = new RegExp(`^(?:${PROVINCES})`)
const IN_LEAD = /(?:地址|住址|家住|位于|住在|寄到|送到|送至|寄往|来自|在|到|从|去|于|是|往)/
const IN_LEAD_ALL = new RegExp(IN_LEAD.source, 'g')
// Words ending in an administrative suffix that are not places.
const NOT_PLACE =
  /^(?:超市|城市|都市|上市|股市|夜市|门市|集市|市区|市场|社区|小区|地区|景区|园区|专区|误区|郊区|山区|市县|本市|全市|全区|全县|全省|该市|该区|该县|我市|我区|我省|各省|各市|外省)$/

/**
 * Chinese addresses and places: an address is a chain of administrative units (省, 市, 区, 县, …)
 * with or without a road, house number and building parts, or a road and number alone; a single
 * unit (a province, or a name before 市/区/县 after a word of place such as 在 or 来自) is a
 * LOCATION.
 */
function places(text: string, scored: Scored, on: ReadonlySet<string>): void {
  ADDRESS.lastIndex = 0
  for (let m = ADDRESS.exec(text); m !== null; m = ADDRESS.exec(text)) {
    let start = m.index
    const raw = m[0]
    // The pattern may start inside a lead (`我住在北京市…`, `地址北京市…`): start after the last lead
    // word among its first characters, unless it starts with a province.
    if (!PROVINCE_START.test(raw)) {
      let cut = 0
      for (const w of IN_LEAD.exec(raw.slice(0, 8)) ? raw.slice(0, 8).matchAll(IN_LEAD_ALL) : []) {
        cut = w.index + w[0].length
      }
      start += cut
    }
    const end = m.index + raw.length
    if (end - start < 3) continue
    const body = text.slice(start, end)
    const road = new RegExp(`${ROAD}${NUMBER}`).test(body)
    const units = body.match(new RegExp(ADMIN, 'g'))?.length ?? 0
    const prov = PROVINCE_START.test(body)
    if (
      road &&
      (units > 0 || prov || ADDRESS_LEAD.test(text.slice(Math.max(0, start - 4), start)))
    ) {
      if (on.has('STREET_ADDRESS')) scored({ start, end, type: 'STREET_ADDRESS', score: 0.85 })
      continue
    }
    if (road) {
      if (on.has('STREET_ADDRESS')) scored({ start, end, type: 'STREET_ADDRESS', score: 0.6 })
      continue
    }
    if (!on.has('LOCATION') || NOT_PLACE.test(body)) continue
    const led = ADDRESS_LEAD.test(text.slice(Math.max(0, start - 4), start))
    if (prov || units >= 2 || led) scored({ start, end, type: 'LOCATION', score: 0.85 })
  }
}

// Mainland mobile numbers: 1[3-9]x and eight digits in groups; a `+86` / `86 ` before them is
// taken in after the match (so the pattern starts at a `1` only).
const MOBILE =
  /1(?<![\w+]1)[3-9]\d(?:[ -]?\d{4}){2}(?!\d)|1(?<=\+861|\+86[ -]1|86[ -]1)[3-9]\d(?:[ -]?\d{4}){2}(?!\d)/g
const PREFIX = /(?:\+86[ -]?|(?<![\w+])86[ -])$/

/**
 * Mainland China mobile numbers (`CN_PHONE_NUMBER`): eleven digits starting 13–19 (the mobile,
 * data-card and virtual-operator ranges); written with +86 or in groups they score 0.65, bare ones 0.55
 * next to Chinese text and 0.45 elsewhere (a context word decides).
 */
function mobiles(text: string, scored: Scored): void {
  MOBILE.lastIndex = 0
  for (let m = MOBILE.exec(text); m !== null; m = MOBILE.exec(text)) {
    const prefix = PREFIX.exec(text.slice(Math.max(0, m.index - 4), m.index))
    const start = m.index - (prefix ? prefix[0].length : 0)
    const end = m.index + m[0].length
    const formatted = prefix !== null || /[ -]/.test(m[0])
    const near =
      HAN.test(text.slice(Math.max(0, start - 8), start)) || HAN.test(text.slice(end, end + 8))
    scored({
      start,
      end,
      type: 'CN_PHONE_NUMBER',
      score: formatted ? 0.65 : near ? 0.55 : 0.45,
    })
  }
}

/**
 * Runs the Chinese recognizers that `on` asks for. Names and places only where the text has Han
 * characters (`ascii`: the caller knows it has none).
 *
 * @example
 * ```ts
 * scanChinese('联系人：张伟', new Set(['PERSON']), (c) => spans.push(c)) // PERSON 张伟
 * ```
 */
export function scanChinese(
  text: string,
  on: ReadonlySet<string>,
  scored: Scored,
  ascii = false,
): void {
  if (on.has('CN_PHONE_NUMBER')) mobiles(text, scored)
  if (!(on.has('PERSON') || on.has('LOCATION') || on.has('STREET_ADDRESS'))) return
  if (ascii || !HAN.test(text)) return
  if (on.has('PERSON')) names(text, scored)
  if (on.has('LOCATION') || on.has('STREET_ADDRESS')) places(text, scored, on)
}

/**
 * Chinese entity types beyond the identifiers (names, places and addresses use the common types).
 *
 * @example
 * ```ts
 * ZH_TYPES // ['CN_PHONE_NUMBER']
 * ```
 */
export const ZH_TYPES: readonly string[] = ['CN_PHONE_NUMBER']

/**
 * Context words of the Chinese mobile number recognizer.
 *
 * @example
 * ```ts
 * ZH_CONTEXT.CN_PHONE_NUMBER.includes('手机') // true
 * ```
 */
export const ZH_CONTEXT: Record<string, string[]> = {
  CN_PHONE_NUMBER: [
    '手机',
    '手机号',
    '电话',
    '联系电话',
    '联系方式',
    '号码',
    '致电',
    '拨打',
    '微信',
    'mobile',
    'phone',
    'tel',
    'cell',
  ],
}

// A labelled set of Chinese and mixed Chinese/Latin texts, from generators that share no code with
// the detector: resident identity numbers built by the GB 11643-1999 algorithm on real county
// codes of GB/T 2260 (from @vant/area-data, a devDependency), names drawn from the published
// surname frequency table shipped in src/zh-surnames.ts (read here as text, weighted by rank) and
// the most common given-name characters of the Ministry of Public Security's name reports,
// mainland mobile numbers on the operators' prefixes, UnionPay cards (62 + Luhn), and addresses in
// the postal order province, city, district, road, number, building, room. Hard negatives: ids
// with a wrong check character, numbers that are not mobile numbers, cards failing Luhn, and
// words that begin with a surname character or end with an administrative suffix.
//   generateZh({ seed, count }) → [{ text, spans: [{ start, end, type }], negatives }]
//   scoreZh(records, predict) → per type: overlap and exact-offset precision, recall, F1
import { readFileSync } from 'node:fs'
import { areaList } from '@vant/area-data'

const SURNAME_SOURCE = readFileSync(new URL('../src/zh-surnames.ts', import.meta.url), 'utf8')
const RANKED = [
  ...SURNAME_SOURCE.match(/SURNAMES_BY_RANK =\s*'([^']+)' \+\s*'([^']+)'/)
    .slice(1, 3)
    .join(''),
]
const COMPOUND = [...SURNAME_SOURCE.matchAll(/^ {2}'(\p{Script=Han}{2})',$/gmu)].map((m) => m[1])
// Given-name characters most used in the Ministry of Public Security's annual reports (2018–2020).
const GIVEN = [
  ...'英华玉秀文明兰金国春红德建平海芳志云丽荣军桂林梅伟敏静强磊洋勇艳杰娟涛超霞刚辉鹏飞斌宇浩轩子梓涵欣怡诺一辰博睿晨佳嘉琪雨思婷俊峰晓丹燕雪慧颖婉珊',
]
const MOBILE_PREFIXES = [
  ...'130 131 132 133 134 135 136 137 138 139 145 147 149 150 151 152 153 155 156 157 158 159 166 170 171 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 190 191 193 195 196 197 198 199'.split(
    ' ',
  ),
]
const ROADS = [
  ...'人民 建设 解放 中山 和平 新华 胜利 文化 长江 黄河 光明 友谊 学府 科技 幸福 东风 朝阳 迎宾 青年 花园'.split(
    ' ',
  ),
]
const ROAD_SUFFIX = ['路', '街', '大道', '大街']

const counties = Object.entries(areaList.county_list).filter(([code]) => !code.endsWith('00'))

function rng(seed) {
  let s = seed >>> 0
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return Math.floor(((s >>> 8) / 16777216) * n)
  }
}

export function generateZh({ seed = 20260101, count = 1200 } = {}) {
  const r = rng(seed)
  const pick = (xs) => xs[r(xs.length)]
  const digits = (n) => Array.from({ length: n }, () => r(10)).join('')
  // Rank-weighted surname: weight 1/(rank+10), so the common ones dominate as in the population.
  const weights = RANKED.map((_, i) => 1 / (i + 10))
  const total = weights.reduce((a, b) => a + b, 0)
  const surname = () => {
    if (r(50) === 0) return pick(COMPOUND)
    let x = (r(1e6) / 1e6) * total
    for (let i = 0; i < RANKED.length; i++) if ((x -= weights[i]) < 0) return RANKED[i]
    return RANKED[0]
  }
  const name = () => surname() + pick(GIVEN) + (r(10) < 8 ? pick(GIVEN) : '')
  const residentId = (good = true) => {
    const [code] = pick(counties)
    const y = 1940 + r(70)
    const m = 1 + r(12)
    const d = 1 + r(28)
    const body = `${code}${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${digits(3)}`
    if (r(20) === 0 && good) return `${code}${String(y).slice(2)}${body.slice(10, 14)}${digits(3)}`
    // ISO 7064 MOD 11-2 over the 17 digits: weights 2^(17-i) mod 11.
    let sum = 0
    for (let i = 0; i < 17; i++) sum += Number(body[i]) * (2 ** (17 - i) % 11)
    const check = (12 - (sum % 11)) % 11
    const c = check === 10 ? 'X' : String(check)
    return body + (good ? c : c === '0' ? '1' : '0')
  }
  const mobile = () => {
    const n = pick(MOBILE_PREFIXES) + digits(8)
    const f = r(4)
    if (f === 0) return `+86 ${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`
    if (f === 1) return `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`
    return n
  }
  const luhnDigit = (body) => {
    let sum = 0
    for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
      let v = Number(body[i])
      if (dbl) v = v * 2 > 9 ? v * 2 - 9 : v * 2
      sum += v
    }
    return String((10 - (sum % 10)) % 10)
  }
  const unionPay = (good = true) => {
    const body = '62' + digits(r(2) ? 14 : 16)
    const d = luhnDigit(body)
    return body + (good ? d : String((Number(d) + 1) % 10))
  }
  const address = () => {
    const [code, county] = pick(counties)
    const prov = areaList.province_list[code.slice(0, 2) + '0000']
    const city = areaList.city_list[code.slice(0, 4) + '00'] ?? ''
    const head = prov === city ? prov : prov + (city === prov ? '' : city)
    let a = `${head}${county}${pick(ROADS)}${pick(ROAD_SUFFIX)}${1 + r(300)}号`
    if (r(2)) a += `${1 + r(30)}栋${1 + r(4)}单元${100 * (1 + r(30)) + 1 + r(8)}室`
    return a
  }

  const templates = [
    (f) =>
      f`客户姓名：${['PERSON', name()]}，身份证号：${['CN_RESIDENT_ID', residentId()]}，手机：${['CN_PHONE_NUMBER', mobile()]}。`,
    (f) =>
      f`${['PERSON', name()]}先生您好，您尾号${['', digits(4)]}的银行卡${['CREDIT_CARD', unionPay()]}已绑定。`,
    (f) =>
      f`收货地址：${['STREET_ADDRESS', address()]}，收件人：${['PERSON', name()]}，联系电话：${['CN_PHONE_NUMBER', mobile()]}`,
    (f) =>
      f`我叫${['PERSON', name()]}，住在${['STREET_ADDRESS', address()]}，身份证${['CN_RESIDENT_ID', residentId()]}。`,
    (f) => f`${['PERSON', name()]}：明天下午三点开会，记得带上资料。`,
    (f) =>
      f`Customer ${['PERSON', name()]} (${['CN_PHONE_NUMBER', mobile()]}) ID ${['CN_RESIDENT_ID', residentId()]} ships to ${['STREET_ADDRESS', address()]} 😀 ok`,
    (f) =>
      f`申请人${['PERSON', name()]}的银行卡号为${['CREDIT_CARD', unionPay()]}，预留手机${['CN_PHONE_NUMBER', mobile()]}。`,
    (f) =>
      f`患者${['PERSON', name()]}，女，${['', String(20 + r(60))]}岁，住址${['STREET_ADDRESS', address()]}。`,
    (f) => f`请${['PERSON', name()]}女士于周五前回电 ${['CN_PHONE_NUMBER', mobile()]}，谢谢！`,
    (f) =>
      f`联系人：${['PERSON', name()]} | 电话：${['CN_PHONE_NUMBER', mobile()]} | 备注：周总结已发，去超市前再确认`,
    (f) => f`今天${['PERSON', name()]}去了公司，讨论高速公路项目。`,
  ]
  const negatives = [
    () => [`订单身份证校验失败：`, ['id_bad_check', residentId(false)]],
    () => [`订单号 `, ['not_mobile', '12' + digits(9)]],
    () => [`卡号 `, ['card_bad_luhn', unionPay(false)]],
    () => [
      `本周`,
      ['surname_word', pick(['高速公路', '王国', '周总结', '马上', '黄金周'])],
      `进展顺利。`,
    ],
    () => [`附近的`, ['admin_word', pick(['超市', '城市', '小区', '景区', '市场'])], `人很多。`],
  ]

  const out = []
  for (let i = 0; i < count; i++) {
    const spans = []
    const negs = []
    let text = ''
    const f = (strings, ...parts) => {
      strings.forEach((s, k) => {
        text += s
        if (k < parts.length) {
          const [type, value] = parts[k]
          if (type) spans.push({ start: text.length, end: text.length + value.length, type })
          text += value
        }
      })
    }
    pick(templates)(f)
    if (r(3) === 0) {
      const parts = pick(negatives)()
      text += ' '
      for (const p of parts) {
        if (typeof p === 'string') text += p
        else {
          negs.push({ start: text.length, end: text.length + p[1].length, kind: p[0] })
          text += p[1]
        }
      }
    }
    out.push({ text, spans, negatives: negs })
  }
  return out
}

export function scoreZh(records, predict) {
  const per = {}
  const neg = {}
  const row = (t) => (per[t] ??= { tp: 0, fp: 0, fn: 0, exact: 0 })
  for (const rec of records) {
    const pred = predict(rec.text).filter((p) => p.type !== 'OTHER')
    const used = new Set()
    for (const p of pred) {
      const i = rec.spans.findIndex(
        (g, k) => !used.has(k) && g.type === p.type && g.start < p.end && p.start < g.end,
      )
      if (i >= 0) {
        used.add(i)
        row(p.type).tp++
        if (rec.spans[i].start === p.start && rec.spans[i].end === p.end) row(p.type).exact++
      } else row(p.type).fp++
    }
    rec.spans.forEach((g, k) => used.has(k) || row(g.type).fn++)
    for (const n of rec.negatives) {
      const s = (neg[n.kind] ??= { total: 0, hit: 0 })
      s.total++
      if (pred.some((p) => p.start < n.end && n.start < p.end)) s.hit++
    }
  }
  const f = ({ tp, fp, fn, exact }) => {
    const precision = tp + fp ? tp / (tp + fp) : 0
    const recall = tp + fn ? tp / (tp + fn) : 0
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0
    const ep = tp + fp ? exact / (tp + fp) : 0
    const er = tp + fn ? exact / (tp + fn) : 0
    return { tp, fp, fn, precision, recall, f1, exactF1: ep + er ? (2 * ep * er) / (ep + er) : 0 }
  }
  return {
    entities: Object.fromEntries(
      Object.entries(per)
        .sort()
        .map(([t, c]) => [t, f(c)]),
    ),
    negatives: Object.fromEntries(
      Object.entries(neg)
        .sort()
        .map(([k, v]) => [k, { ...v, rate: v.total ? v.hit / v.total : 0 }]),
    ),
  }
}

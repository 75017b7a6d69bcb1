import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM generator without types, shared with bench/mask.js
import { generateZh, scoreZh } from '../eval/zh-generate.mjs'
import { createDetector } from './detector.js'

const ZH = [
  'PERSON',
  'LOCATION',
  'STREET_ADDRESS',
  'CN_PHONE_NUMBER',
  'CN_RESIDENT_ID',
  'CREDIT_CARD',
]
const detector = createDetector({ entities: ZH })
const found = (text: string) =>
  detector.detect(text).map((s) => [s.type, text.slice(s.start, s.end)])

describe('Chinese text', () => {
  it('finds names after labels, before titles, as chat speakers and between time words and verbs', () => {
    expect(found('客户姓名：张伟，请核对。')).toEqual([['PERSON', '张伟']])
    expect(found('欧阳娜娜女士您好')).toEqual([['PERSON', '欧阳娜娜']])
    expect(found('王先生您好')).toEqual([['PERSON', '王']])
    expect(found('李娜：好的\n张伟明：明天见')).toEqual([
      ['PERSON', '李娜'],
      ['PERSON', '张伟明'],
    ])
    expect(found('昨天刘洋去了医院')).toEqual([['PERSON', '刘洋']])
    // Words that start with a surname character are not names without such a cue.
    expect(found('本周周总结已发，高速公路和王国的故事，马上出发')).toEqual([])
  })

  it('finds addresses and places, and leaves words with administrative suffixes alone', () => {
    expect(found('收货地址：广东省深圳市南山区科技园南路15号3栋1201室，谢谢')).toEqual([
      ['STREET_ADDRESS', '广东省深圳市南山区科技园南路15号3栋1201室'],
    ])
    expect(found('我住在上海市浦东新区')).toEqual([['LOCATION', '上海市浦东新区']])
    expect(found('去超市买东西，城市很大，小区门口')).toEqual([])
  })

  it('finds mainland mobile numbers, resident ids and UnionPay cards', () => {
    expect(found('手机13812345678，身份证号11010519491231002X')).toEqual([
      ['CN_PHONE_NUMBER', '13812345678'],
      ['CN_RESIDENT_ID', '11010519491231002X'],
    ])
    expect(found('call +86 139-1234-5678 today')).toEqual([
      ['CN_PHONE_NUMBER', '+86 139-1234-5678'],
    ])
    expect(found('身份证号11010519491231002Y')).toEqual([])
    expect(found('银行卡6222021234567890128')).toEqual([['CREDIT_CARD', '6222021234567890128']])
    expect(found('编号12345678901')).toEqual([])
  })

  it('keeps exact UTF-16 offsets in text that mixes scripts, emoji and characters outside the BMP', () => {
    const text =
      '𠮷野家 😀 Order №7 联系人：陈静 (138 0013 8000) 地址：浙江省杭州市西湖区文三路199号 ok'
    const spans = detector.detect(text)
    expect(spans.map((s) => [s.type, text.slice(s.start, s.end)])).toEqual([
      ['PERSON', '陈静'],
      ['CN_PHONE_NUMBER', '138 0013 8000'],
      ['STREET_ADDRESS', '浙江省杭州市西湖区文三路199号'],
    ])
    expect(spans[0]!.start).toBe(text.indexOf('陈静'))
  })

  it('scores F1 >= 0.95 on identifiers and >= 0.85 on names on the independently generated set', () => {
    const records = generateZh({ seed: 20260101, count: 1200 })
    const result = scoreZh(records, (t: string) => detector.detect(t))
    const e = result.entities as Record<string, { f1: number; exactF1: number }>
    for (const t of ['CN_RESIDENT_ID', 'CN_PHONE_NUMBER', 'CREDIT_CARD']) {
      expect.soft(e[t]!.f1, t).toBeGreaterThanOrEqual(0.95)
      expect.soft(e[t]!.exactF1, `${t} exact offsets`).toBe(e[t]!.f1)
    }
    expect(e.PERSON!.f1).toBeGreaterThanOrEqual(0.85)
    expect(e.STREET_ADDRESS!.f1).toBeGreaterThanOrEqual(0.85)
    for (const [kind, r] of Object.entries(result.negatives as Record<string, { rate: number }>)) {
      expect.soft(r.rate, kind).toBeLessThanOrEqual(0.05)
    }
  })
})

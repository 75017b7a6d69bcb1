/*
 * Chinese surnames, most common first.
 *
 * Single-character surnames: the 100 most common surnames of the study of the Institute of
 * Genetics and Developmental Biology, Chinese Academy of Sciences (Yuan Yida et al., 296 million
 * people in 1,110 counties and cities), as published by People's Daily Online on 11 January 2006
 * ("China renews top 100 surnames, Li still the biggest"), in its order; the article gives the
 * surnames in pinyin and they are written here in simplified characters. Then the surnames that
 * the Ministry of Public Security's annual name reports (2018–2020) count among the 100 most common
 * and the 2006 list does not (Ou, Qin 覃, Li 黎, Tao, Wei 韦 is already listed).
 *
 * Compound surnames: the most common two-character surnames (Ouyang, which the Ministry's 2020
 * report names as the most common, then those of the Hundred Family Surnames still in use).
 */
/**
 * The single-character surnames, most common first (sources above).
 *
 * @example
 * ```ts
 * SURNAMES_BY_RANK[0] // '李'
 * ```
 */
export const SURNAMES_BY_RANK =
  '李王张刘陈杨黄赵周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯曾程蔡彭潘袁于董余苏叶吕魏蒋田杜丁沈姜范江傅钟卢汪戴崔任陆廖姚方金邱夏谭韦贾邹石熊孟秦阎薛侯雷白龙段郝孔邵史毛常万顾赖武康贺严尹钱施牛洪龚' +
  '欧覃黎陶肖闫付'

/**
 * Compound surnames.
 *
 * @example
 * ```ts
 * COMPOUND_SURNAMES.includes('欧阳') // true
 * ```
 */
export const COMPOUND_SURNAMES = [
  '欧阳',
  '司马',
  '上官',
  '诸葛',
  '东方',
  '皇甫',
  '尉迟',
  '公孙',
  '慕容',
  '令狐',
  '司徒',
  '夏侯',
  '长孙',
  '宇文',
  '轩辕',
  '端木',
  '独孤',
  '南宫',
  '西门',
  '呼延',
  '申屠',
]

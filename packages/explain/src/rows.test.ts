import { describe, expect, it } from 'vitest'
import { parseRows } from './index.js'

describe('parseRows', () => {
  it('parses the three data formats', () => {
    expect(parseRows('[[1,null],[2,3]]', 'a.json').rows).toEqual([
      [1, null],
      [2, 3],
    ])
    expect(parseRows('[{"b":1,"a":2}]', 'a.json', ['a', 'b']).rows).toEqual([[2, 1]])
    expect(parseRows('a,b\n1,\n2,NA\n', 'a.csv')).toEqual({
      rows: [
        [1, null],
        [2, null],
      ],
      names: ['a', 'b'],
    })
    expect(() => parseRows('a\nx\n', 'a.csv')).toThrow(TypeError)
  })
})

import { describe, expect, it } from 'vitest'
import { END, NgramModel } from './ngram.js'

describe('NgramModel', () => {
  const text = 'the cat sat on the mat. the cat ate the rat.'
  const lm = new NgramModel(3)
  lm.train(NgramModel.tokens(text))

  it('gives a distribution over its vocabulary: probabilities sum to 1 after any history', () => {
    const vocabulary = [...new Set([...NgramModel.tokens(text), END])]
    for (const history of [[], NgramModel.tokens('the'), NgramModel.tokens('the cat'), [424242]]) {
      const total = vocabulary.reduce((a, t) => a + Math.exp(lm.logprob(history, t)), 0)
      expect(total).toBeCloseTo(1, 9)
    }
  })

  it('ranks what followed a context in training above what did not, and decodes greedily', () => {
    const history = NgramModel.tokens('the cat')
    const step = lm.next(history, 3)
    expect(NgramModel.text([step.token])).toBe(' sat')
    // After ' cat' alone (a shorter context) both continuations were seen, once each; a token
    // never seen there fills the third place, as a server's top_logprobs lists three.
    const short = lm.next(NgramModel.tokens(' cat'), 3)
    expect(new Set(short.top.slice(0, 2).map((t) => NgramModel.text([t.token])))).toEqual(
      new Set([' sat', ' ate']),
    )
    expect(short.top[0]!.logprob).toBeCloseTo(short.top[1]!.logprob, 12)
    expect(short.top).toHaveLength(3)
    expect(short.top[2]!.logprob).toBeLessThan(short.top[1]!.logprob)
    expect(short.top[2]!.logprob).toBeCloseTo(
      lm.logprob(NgramModel.tokens(' cat'), short.top[2]!.token),
      12,
    )
    expect(step.logprob).toBeCloseTo(lm.logprob(history, step.token), 12)
    expect(lm.logprob(history, NgramModel.tokens(' mat')[0]!)).toBeLessThan(step.logprob)
    const out = NgramModel.text(lm.generate(NgramModel.tokens('the cat'), 40).map((s) => s.token))
    expect(out.startsWith(' sat on the mat.')).toBe(true)
  })
})

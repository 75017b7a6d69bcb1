import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base'

/**
 * The end-of-text token of o200k: generation stops when the model predicts it.
 *
 * @example
 * ```ts
 * lm.next(history).token === END // the model would stop here
 * ```
 */
export const END = 199999

/**
 * One generated token with its log-probability and the most likely alternatives.
 *
 * @example
 * ```ts
 * const step: NgramStep = { token: 9906, logprob: -0.12, top: [{ token: 9906, logprob: -0.12 }] }
 * ```
 */
export interface NgramStep {
  token: number
  logprob: number
  top: Array<{ token: number; logprob: number }>
}

/**
 * A token n-gram language model over OpenAI's o200k tokenizer: counts of each context of up to
 * `order - 1` tokens, with add-k smoothing over the tokens seen in training, backing off to a
 * shorter context when a longer one was never seen. Its probabilities are a proper distribution
 * over that vocabulary, so its log-probabilities are real ones; greedy decoding is deterministic
 * (ties go to the smaller token id). A stand-in for a real model in tests and benchmarks.
 *
 * @example
 * ```ts
 * const lm = new NgramModel(3)
 * lm.train(NgramModel.tokens('the cat sat on the mat'))
 * lm.generate(NgramModel.tokens('the cat'), 8).map((s) => s.token)
 * ```
 */
export class NgramModel {
  private readonly counts = new Map<string, Map<number, number>>()
  private readonly totals = new Map<string, number>()
  private readonly vocabulary = new Set<number>([END])

  constructor(
    readonly order = 3,
    private readonly k = 0.01,
  ) {
    if (!Number.isInteger(order) || order < 1)
      throw new TypeError('order must be a positive integer')
  }

  /** A text's o200k tokens. */
  static tokens(text: string): number[] {
    return encode(text)
  }

  /** The text of tokens. */
  static text(tokens: number[]): string {
    return decode(tokens)
  }

  /** Counts every n-gram of a token sequence (which ends with {@link END}), `weight` times. */
  train(tokens: number[], weight = 1): void {
    const seq = [...tokens, END]
    for (const t of seq) this.vocabulary.add(t)
    for (let i = 0; i < seq.length; i++) {
      for (let n = 0; n < this.order; n++) {
        if (i - n < 0) break
        const key = seq.slice(i - n, i).join(',')
        let next = this.counts.get(key)
        if (!next) this.counts.set(key, (next = new Map()))
        next.set(seq[i]!, (next.get(seq[i]!) ?? 0) + weight)
        this.totals.set(key, (this.totals.get(key) ?? 0) + weight)
      }
    }
  }

  /**
   * Counts one token after `history` (the n-grams ending at it), as {@link train} does for each
   * position: a model that observes a text token by token while scoring it is causal, like a
   * language model reading its prompt.
   */
  observe(history: number[], token: number, weight = 1): void {
    this.vocabulary.add(token)
    for (let n = 0; n < this.order && n <= history.length; n++) {
      const key = history.slice(history.length - n).join(',')
      let next = this.counts.get(key)
      if (!next) this.counts.set(key, (next = new Map()))
      next.set(token, (next.get(token) ?? 0) + weight)
      this.totals.set(key, (this.totals.get(key) ?? 0) + weight)
    }
  }

  /** The longest context of `history` seen in training. */
  private context(history: number[]): string {
    for (let n = Math.min(this.order - 1, history.length); n > 0; n--) {
      const key = history.slice(history.length - n).join(',')
      if (this.counts.has(key)) return key
    }
    return ''
  }

  /** The log-probability of `token` after `history`. */
  logprob(history: number[], token: number): number {
    const key = this.context(history)
    const count = this.counts.get(key)?.get(token) ?? 0
    const total = this.totals.get(key) ?? 0
    return Math.log((count + this.k) / (total + this.k * this.vocabulary.size))
  }

  /**
   * The most likely next token after `history`, with its log-probability and the `topK` best,
   * as a server's `top_logprobs` lists them: tokens never seen after this context fill the list
   * (smallest ids first) when fewer were seen.
   */
  next(history: number[], topK = 5): NgramStep {
    const key = this.context(history)
    const next = this.counts.get(key) ?? new Map<number, number>()
    const total = this.totals.get(key) ?? 0
    const denominator = total + this.k * this.vocabulary.size
    const ranked = [...next.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    if (ranked.length < topK)
      for (const t of [...this.vocabulary].sort((a, b) => a - b)) {
        if (ranked.length >= topK) break
        if (!next.has(t)) ranked.push([t, 0])
      }
    const top = ranked
      .slice(0, topK)
      .map(([token, c]) => ({ token, logprob: Math.log((c + this.k) / denominator) }))
    const best = top[0] ?? { token: END, logprob: Math.log(this.k / denominator) }
    return { token: best.token, logprob: best.logprob, top: top.length > 0 ? top : [best] }
  }

  /** Greedy continuation of `prefix`, at most `max` tokens, stopping at {@link END}. */
  generate(prefix: number[], max: number, topK = 5): NgramStep[] {
    const history = [...prefix]
    const out: NgramStep[] = []
    while (out.length < max) {
      const step = this.next(history, topK)
      if (step.token === END) break
      out.push(step)
      history.push(step.token)
    }
    return out
  }
}

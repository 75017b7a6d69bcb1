import { BadRequestError, GateError } from '@modelgate/core'
import { isObject, type Json } from '../openai.js'
import type { PromptKind } from './segments.js'

/**
 * How a perturbed prompt is scored against the answer, always from 0 to 1:
 * - `echo`: the probability of the whole answer after the prompt, from a legacy completion with
 *   `echo` and `logprobs` (OpenAI-compatible completions servers);
 * - `prompt_logprobs`: the same for chat, from vLLM's `prompt_logprobs` with the answer as a
 *   final assistant message that the server continues (`continue_final_message`);
 * - `first_token`: the probability of the answer's first token, from a one-token chat completion
 *   with `top_logprobs` (at most that of the least likely token listed when it is not listed):
 *   one token per call, but blind to what decides the answer when answers start alike;
 * - `similarity`: the word-level F1 between the answer and one generated from the perturbed
 *   prompt, for any upstream, Anthropic's included.
 *
 * @example
 * ```ts
 * const score: ScoreName = 'similarity'
 * ```
 */
export type ScoreName = 'echo' | 'prompt_logprobs' | 'first_token' | 'similarity'

/** @internal The scores, in the order error messages list them. */
export const SCORE_NAMES: readonly ScoreName[] = [
  'echo',
  'prompt_logprobs',
  'first_token',
  'similarity',
]

/**
 * Scores perturbed prompts against one answer.
 *
 * @example
 * ```ts
 * const s = scorerFor('similarity', 'chat', answer)
 * const score = s.score(await call(s.body(ablated)), ablated)
 * ```
 */
export interface Scorer {
  readonly name: ScoreName
  /** The whole prompt's score when it needs no call of its own. */
  readonly full: number | undefined
  /** The body of the call that scores a perturbed prompt. */
  body(ablated: Json): Json
  /** The score of a perturbed prompt from the upstream's answer to {@link body}. */
  score(answer: unknown, ablated: Json): number
}

/** The probability of a log-probability. */
const probability = (logprob: number): number => Math.exp(Math.min(logprob, 0))

const WORD = /<[A-Z][A-Z0-9_]*>|[\p{L}\p{N}]+/gu

/** @internal Word-level F1 (as in SQuAD) of two texts, placeholders as words; 1 for two empty. */
export function wordF1(a: string, b: string): number {
  const wa = a.toLowerCase().match(WORD) ?? []
  const wb = b.toLowerCase().match(WORD) ?? []
  if (wa.length === 0 || wb.length === 0) return wa.length === wb.length ? 1 : 0
  const counts = new Map<string, number>()
  for (const w of wa) counts.set(w, (counts.get(w) ?? 0) + 1)
  let common = 0
  for (const w of wb) {
    const c = counts.get(w) ?? 0
    if (c > 0) {
      common++
      counts.set(w, c - 1)
    }
  }
  if (common === 0) return 0
  const p = common / wb.length
  const r = common / wa.length
  return (2 * p * r) / (p + r)
}

/** @internal The text of an answer's first choice (or Anthropic's text blocks), as written. */
export function answerText(kind: PromptKind, answer: unknown): string {
  if (!isObject(answer)) return ''
  if (kind === 'messages') {
    if (!Array.isArray(answer.content)) return ''
    return answer.content
      .map((b) =>
        isObject(b) && b.type === 'text' && typeof b.text === 'string'
          ? b.text
          : isObject(b) && b.type === 'tool_use'
            ? JSON.stringify(b.input)
            : '',
      )
      .join('')
  }
  const choice = Array.isArray(answer.choices) ? answer.choices[0] : undefined
  if (!isObject(choice)) return ''
  if (kind === 'completions') return typeof choice.text === 'string' ? choice.text : ''
  const m = choice.message
  if (!isObject(m)) return ''
  if (typeof m.content === 'string' && m.content !== '') return m.content
  if (Array.isArray(m.tool_calls))
    return m.tool_calls
      .map((tc) =>
        isObject(tc) && isObject(tc.function) && typeof tc.function.arguments === 'string'
          ? tc.function.arguments
          : '',
      )
      .join('')
  return ''
}

/** Tokens the answer took (its usage), for the length of regenerated answers. */
function answerTokens(answer: unknown): number | undefined {
  const usage = isObject(answer) && isObject(answer.usage) ? answer.usage : {}
  const n = usage.completion_tokens ?? usage.output_tokens
  return typeof n === 'number' && n > 0 ? n : undefined
}

/** A one-call body: not streamed, one choice, no stream options. */
function single(body: Json): Json {
  const out: Json = { ...body, stream: false }
  delete out.stream_options
  if ('n' in out) out.n = 1
  return out
}

/** Sets the answer length under the key the client used (o-series: `max_completion_tokens`). */
function withMaxTokens(body: Json, tokens: number): Json {
  if (body.max_completion_tokens !== undefined && body.max_tokens === undefined)
    return { ...body, max_completion_tokens: tokens }
  return { ...body, max_tokens: tokens }
}

/** The first generated token of a chat answer with `logprobs`: its log-probability, alternatives. */
interface Step {
  token: string
  logprob: number
  top: Json[]
}

/** The first generated token of a chat answer with `logprobs`, if it has one. */
function firstStep(answer: unknown): Step | undefined {
  const choice = isObject(answer) && Array.isArray(answer.choices) ? answer.choices[0] : undefined
  const lp = isObject(choice) && isObject(choice.logprobs) ? choice.logprobs.content : undefined
  const s = Array.isArray(lp) ? lp[0] : undefined
  if (!isObject(s) || typeof s.token !== 'string' || typeof s.logprob !== 'number') return undefined
  const top = Array.isArray(s.top_logprobs) ? s.top_logprobs.filter(isObject) : []
  return { token: s.token, logprob: s.logprob, top }
}

/**
 * The log-probability of `token` at a step: its own when it was chosen or listed among the
 * alternatives, else at most that of the least likely alternative listed.
 */
function logprobAt(step: Step, token: string): number {
  if (step.token === token) return step.logprob
  const listed = step.top.find((t) => t.token === token)
  if (listed && typeof listed.logprob === 'number') return listed.logprob
  const all = step.top.map((t) => t.logprob).filter((v): v is number => typeof v === 'number')
  return all.length > 0 ? Math.min(...all) : -Infinity
}

const noLogprobs = (what = 'log-probabilities') =>
  new GateError(
    'explain_no_logprobs',
    502,
    `the model server gave no ${what} for a perturbed prompt: use another score`,
  )

/**
 * The body of the call that makes the answer: one choice, not streamed, no echoed prompt, and
 * the answer's log-probabilities when `first_token` needs them.
 *
 * @example
 * ```ts
 * const body = generationBody('first_token', 'chat', masked)
 * ```
 */
export function generationBody(score: ScoreName | 'auto', kind: PromptKind, body: Json): Json {
  const out = single(body)
  // The answer explained is what the model wrote, without an echoed prompt.
  if (kind === 'completions') delete out.echo
  if (kind === 'chat' && score === 'first_token') {
    out.logprobs = true
    out.top_logprobs = Math.max(1, typeof body.top_logprobs === 'number' ? body.top_logprobs : 1)
  }
  return out
}

/**
 * The scorer for an answer: `auto` is `echo` for completions and `similarity` for chat and
 * Anthropic's messages (which servers support `prompt_logprobs` cannot be known in advance, and
 * `first_token` is blind when answers start alike).
 *
 * @example
 * ```ts
 * const scorer = scorerFor('auto', 'chat', maskedAnswer)
 * ```
 */
export function scorerFor(
  requested: ScoreName | 'auto',
  kind: PromptKind,
  answer: unknown,
): Scorer {
  const text = answerText(kind, answer)
  const name: ScoreName =
    requested !== 'auto' ? requested : kind === 'completions' ? 'echo' : 'similarity'
  if (name === 'echo') {
    if (kind !== 'completions')
      throw new BadRequestError(
        'the echo score needs /v1/explain/completions (legacy completions with echo)',
        'explain_unsupported_score',
      )
    return echoScorer(text)
  }
  if (name === 'first_token' || name === 'prompt_logprobs') {
    if (kind !== 'chat')
      throw new BadRequestError(
        `the ${name} score needs /v1/explain/chat/completions`,
        'explain_unsupported_score',
      )
    if (name === 'prompt_logprobs') return promptLogprobsScorer(text)
    const first = firstStep(answer)
    if (!first)
      throw new BadRequestError(
        'the model server gave no log-probabilities for the answer: use the similarity score',
        'explain_no_logprobs',
      )
    return firstTokenScorer(first)
  }
  const tokens = answerTokens(answer) ?? 256
  return {
    name,
    full: 1,
    body: (ablated) => withMaxTokens(single(ablated), tokens),
    score: (a) => wordF1(text, answerText(kind, a)),
  }
}

function firstTokenScorer(first: Step): Scorer {
  return {
    name: 'first_token',
    full: probability(first.logprob),
    body: (ablated) => ({
      ...withMaxTokens(single(ablated), 1),
      logprobs: true,
      top_logprobs: 20,
    }),
    score(a) {
      const step = firstStep(a)
      if (!step) throw noLogprobs()
      return probability(logprobAt(step, first.token))
    },
  }
}

/** The log-probability of the last prompt tokens that spell `text`, from vLLM's `prompt_logprobs`. */
function tailLogprob(entries: unknown[], text: string): number {
  let covered = 0
  let sum = 0
  for (let i = entries.length - 1; i >= 0 && covered < text.length; i--) {
    const entry = entries[i]
    const scored = isObject(entry) ? Object.values(entry).find(isObject) : undefined
    if (!scored || typeof scored.logprob !== 'number') throw noLogprobs()
    sum += scored.logprob
    covered += typeof scored.decoded_token === 'string' ? scored.decoded_token.length : 1
  }
  return sum
}

function promptLogprobsScorer(text: string): Scorer {
  return {
    name: 'prompt_logprobs',
    full: undefined,
    body(ablated) {
      const messages = Array.isArray(ablated.messages) ? ablated.messages : []
      return {
        ...withMaxTokens(single(ablated), 1),
        messages: [...messages, { role: 'assistant', content: text }],
        prompt_logprobs: 0,
        add_generation_prompt: false,
        continue_final_message: true,
      }
    },
    score(a) {
      const entries = isObject(a) ? a.prompt_logprobs : undefined
      if (!Array.isArray(entries)) throw noLogprobs('prompt_logprobs (a vLLM extension)')
      return probability(tailLogprob(entries, text))
    },
  }
}

function echoScorer(text: string): Scorer {
  return {
    name: 'echo',
    full: undefined,
    body(ablated) {
      const out: Json = {
        ...single(ablated),
        prompt: String(ablated.prompt) + text,
        echo: true,
        logprobs: 0,
        max_tokens: 1,
      }
      delete out.suffix
      delete out.best_of
      return out
    },
    score(a, ablated) {
      const choice = isObject(a) && Array.isArray(a.choices) ? a.choices[0] : undefined
      const lp = isObject(choice) && isObject(choice.logprobs) ? choice.logprobs : undefined
      const tokens = lp && Array.isArray(lp.tokens) ? lp.tokens : undefined
      const logprobs = lp && Array.isArray(lp.token_logprobs) ? lp.token_logprobs : undefined
      if (!tokens || !logprobs) throw noLogprobs('echoed prompt with log-probabilities')
      const start = String(ablated.prompt).length
      const end = start + text.length
      let at = 0
      let sum = 0
      for (let i = 0; i < tokens.length && at < end; i++) {
        const t = String(tokens[i])
        if (at >= start && typeof logprobs[i] === 'number') sum += logprobs[i] as number
        at += t.length
      }
      return probability(sum)
    },
  }
}

import { BadRequestError, GateError } from '@modelgate/core'
import { isObject, type Json } from '../openai.js'
import { ATTRIBUTION_METHODS, attributeSegments, type AttributionMethod } from './methods.js'
import { answerText, generationBody, SCORE_NAMES, scorerFor, type ScoreName } from './scores.js'
import {
  SEGMENT_UNITS,
  segmentPrompt,
  type PromptKind,
  type PromptSegment,
  type SegmentUnit,
} from './segments.js'

/**
 * What a client asks of a prompt attribution (the `explain` member of a request to
 * `/v1/explain/…`). Every member is optional.
 *
 * @example
 * ```ts
 * const explain: PromptExplainRequest = { unit: 'sentences', method: 'context_cite', calls: 32, keepLast: true }
 * ```
 */
export interface PromptExplainRequest {
  /** What is credited. Default `sentences`. */
  unit?: SegmentUnit
  /** Default `context_cite`. */
  method?: AttributionMethod
  /** Default `auto`: `echo` for completions, `similarity` for chat and Anthropic's messages. */
  score?: ScoreName | 'auto'
  /**
   * Upstream calls this explanation may make, the answer's own included. Default the plugin's
   * `explain.calls`.
   */
  calls?: number
  /** Keep the last segment (the question) in every perturbation, uncredited. Default false. */
  keepLast?: boolean
  /** Seed of the random perturbations. Default 0. */
  seed?: number
}

/**
 * Limits of prompt attributions, set on the `llm` plugin (`explain`).
 *
 * @example
 * ```ts
 * llm({ models, explain: { calls: 32, maxCalls: 128, concurrency: 4 } })
 * ```
 */
export interface PromptExplainLimits {
  /** Calls per explanation when the request names none. Default 32. */
  calls?: number
  /** Most calls one explanation may ask for. Default 256. */
  maxCalls?: number
  /** Perturbed prompts scored at once. Default 4. */
  concurrency?: number
  /** Most segments one prompt may be cut into (400 past it: choose a coarser unit). Default 128. */
  maxSegments?: number
}

/**
 * A prompt attribution as the explain routes answer it (the `explanation` member): the segments
 * with their values (placeholders restored for the caller), the ranking (segment indices, most
 * supporting first), the scores of the empty and whole prompt, and the calls made.
 *
 * @example
 * ```ts
 * const top = explanation.segments[explanation.ranking[0]!]!.text
 * ```
 */
export interface PromptExplanation {
  object: 'prompt.explanation'
  method: AttributionMethod
  unit: SegmentUnit
  score: ScoreName
  segments: Array<PromptSegment & { value: number; standard_error?: number }>
  ranking: number[]
  base: number | null
  full: number
  /** Upstream calls made, the answer's own included. */
  calls: number
  max_calls: number
}

/** @internal A request's explain options, checked, with defaults. */
export interface ExplainPlan {
  unit: SegmentUnit
  method: AttributionMethod
  score: ScoreName | 'auto'
  calls: number
  keepLast: boolean
  seed: number
}

const REQUEST_KEYS = new Set(['unit', 'method', 'score', 'calls', 'keepLast', 'seed'])

/** @internal Checks the limits of the `llm` plugin's `explain` option. */
export function checkExplainLimits(
  limits: PromptExplainLimits | undefined,
): Required<PromptExplainLimits> {
  if (limits !== undefined && !isObject(limits))
    throw new TypeError('llm: explain must be an object')
  const l: PromptExplainLimits = limits ?? {}
  const out = {
    calls: l.calls ?? 32,
    maxCalls: l.maxCalls ?? 256,
    concurrency: l.concurrency ?? 4,
    maxSegments: l.maxSegments ?? 128,
  }
  for (const [k, v] of Object.entries(out))
    if (!Number.isSafeInteger(v) || v < 1)
      throw new TypeError(`llm: explain.${k} must be a positive integer`)
  if (out.calls > out.maxCalls)
    throw new TypeError('llm: explain.calls must be at most explain.maxCalls')
  if (out.maxCalls < 3) throw new TypeError('llm: explain.maxCalls must be at least 3')
  return out
}

/** @internal Checks a request's `explain` member (400 naming the bad member). */
export function planExplanation(
  value: unknown,
  limits: Required<PromptExplainLimits>,
): ExplainPlan {
  if (value !== undefined && !isObject(value))
    throw new BadRequestError('"explain" must be an object', 'invalid_explain')
  const v = (value ?? {}) as Record<string, unknown>
  for (const k of Object.keys(v))
    if (!REQUEST_KEYS.has(k))
      throw new BadRequestError(
        `unknown member "explain.${k.slice(0, 40)}"; use ${[...REQUEST_KEYS].join(', ')}`,
        'invalid_explain',
      )
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const x = v[key] ?? fallback
    if (!allowed.includes(x as T))
      throw new BadRequestError(
        `"explain.${key}" must be one of ${allowed.join(', ')}`,
        'invalid_explain',
      )
    return x as T
  }
  const calls = v.calls ?? limits.calls
  if (!Number.isSafeInteger(calls) || (calls as number) < 3 || (calls as number) > limits.maxCalls)
    throw new BadRequestError(
      `"explain.calls" must be an integer from 3 to ${limits.maxCalls}`,
      'invalid_explain',
    )
  const seed = v.seed ?? 0
  if (!Number.isSafeInteger(seed) || (seed as number) < 0)
    throw new BadRequestError('"explain.seed" must be a non-negative integer', 'invalid_explain')
  if (v.keepLast !== undefined && typeof v.keepLast !== 'boolean')
    throw new BadRequestError('"explain.keepLast" must be a boolean', 'invalid_explain')
  return {
    unit: oneOf('unit', SEGMENT_UNITS, 'sentences'),
    method: oneOf('method', ATTRIBUTION_METHODS, 'context_cite'),
    score: oneOf<ScoreName | 'auto'>('score', ['auto', ...SCORE_NAMES], 'auto'),
    calls: calls as number,
    keepLast: v.keepLast === true,
    seed: seed as number,
  }
}

/** Runs at most `n` tasks at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/**
 * @internal Explains one (masked) prompt: asks the upstream for the answer, then scores perturbed
 * copies of the prompt (segments left out) against it with `call`, at most `plan.calls` calls in
 * all, and credits the segments. Returns the answer as the upstream gave it and the explanation
 * with masked segment texts.
 */
export async function explainPrompt(
  kind: PromptKind,
  masked: Json,
  plan: ExplainPlan,
  limits: Required<PromptExplainLimits>,
  call: (body: Json) => Promise<unknown>,
): Promise<{ answer: unknown; explanation: PromptExplanation }> {
  const prompt = segmentPrompt(kind, masked, plan.unit, plan.keepLast)
  const M = prompt.segments.length
  if (M === 0)
    throw new GateError('nothing_to_explain', 422, `the prompt holds no ${plan.unit} to credit`)
  if (M > limits.maxSegments)
    throw new BadRequestError(
      `the prompt holds ${M} ${plan.unit}, more than ${limits.maxSegments}: choose a coarser unit`,
      'explain_too_many_segments',
    )
  const answer = await call(generationBody(plan.score, kind, masked))
  let calls = 1
  if (answerText(kind, answer) === '')
    throw new GateError('nothing_to_explain', 422, 'the model gave an empty answer')
  const scorer = scorerFor(plan.score, kind, answer)
  const run = limiter(limits.concurrency)
  const scoreOf = async (ablated: Json) => {
    if (calls >= plan.calls)
      throw new GateError('explain_budget', 500, 'explanation over its call budget')
    calls++
    return scorer.score(await run(() => call(scorer.body(ablated))), ablated)
  }
  const full = scorer.full ?? (await scoreOf(masked))
  const cache = new Map<string, Promise<number>>([['1'.repeat(M), Promise.resolve(full)]])
  const game = {
    size: M,
    values: (masks: Uint8Array[]) =>
      Promise.all(
        masks.map((m) => {
          const key = m.join('')
          let v = cache.get(key)
          if (!v) {
            v = scoreOf(prompt.ablate(m))
            cache.set(key, v)
          }
          return v
        }),
      ),
  }
  const a = await attributeSegments(plan.method, game, full, plan.calls - calls, plan.seed)
  const ranking = a.values.map((_, i) => i).sort((x, y) => a.values[y]! - a.values[x]! || x - y)
  return {
    answer,
    explanation: {
      object: 'prompt.explanation',
      method: plan.method,
      unit: plan.unit,
      score: scorer.name,
      segments: prompt.segments.map((s, i) => ({
        ...s,
        value: a.values[i]!,
        ...(a.standardErrors ? { standard_error: a.standardErrors[i]! } : {}),
      })),
      ranking,
      base: a.base,
      full,
      calls,
      max_calls: plan.calls,
    },
  }
}

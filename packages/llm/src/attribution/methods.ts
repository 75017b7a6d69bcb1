import { BadRequestError } from '@modelgate/core'
import { explainModel } from '@modelgate/explain'
import { lasso } from './lasso.js'

/**
 * How segments are credited: `leave_one_out` (the score's drop when one segment is left out),
 * `kernel_shap` (Shapley values estimated by Kernel SHAP over random subsets of segments, from
 * `@modelgate/explain`) or `context_cite` (a sparse linear surrogate, Lasso, fitted to random
 * ablations, as ContextCite does).
 *
 * @example
 * ```ts
 * const method: AttributionMethod = 'context_cite'
 * ```
 */
export type AttributionMethod = 'leave_one_out' | 'kernel_shap' | 'context_cite'

/** @internal The methods, in the order error messages list them. */
export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = [
  'context_cite',
  'kernel_shap',
  'leave_one_out',
]

/**
 * The game a prompt attribution explains: the score of the answer when only some segments are
 * present (flag 1). `values` scores each distinct mask once (the full prompt's score is known
 * before any method runs).
 *
 * @example
 * ```ts
 * const game: PromptGame = { size: 3, values: async (masks) => masks.map((m) => m[0]!) }
 * ```
 */
export interface PromptGame {
  size: number
  values(masks: Uint8Array[]): Promise<number[]>
}

/**
 * Attributions of the segments of one prompt.
 *
 * @example
 * ```ts
 * const a: SegmentAttribution = { values: [2.1, 0.1], base: -4, full: -1.8, evaluations: 3 }
 * ```
 */
export interface SegmentAttribution {
  values: number[]
  /**
   * The score with no segment: measured (`kernel_shap`), the surrogate's intercept
   * (`context_cite`), or null (`leave_one_out`).
   */
  base: number | null
  /** The score of the whole prompt. */
  full: number
  /** Bootstrap standard errors of `kernel_shap` values. */
  standardErrors?: number[]
  /** Perturbed prompts scored (not counting the whole prompt). */
  evaluations: number
}

/** @internal A seeded generator of numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const needCalls = (method: string, need: number, have: number) =>
  new BadRequestError(
    `${method} needs ${need} perturbed prompts here and the call budget leaves ${have}: raise explain.calls, choose a coarser unit or another method`,
    'explain_budget',
  )

/**
 * Credits the segments of a prompt game with one method, scoring at most `budget` perturbed
 * prompts (distinct masks other than the whole prompt). `full` is the whole prompt's score.
 *
 * @example
 * ```ts
 * const a = await attributeSegments('leave_one_out', game, full, 31, 0)
 * ```
 */
export async function attributeSegments(
  method: AttributionMethod,
  game: PromptGame,
  full: number,
  budget: number,
  seed: number,
): Promise<SegmentAttribution> {
  const M = game.size
  if (method === 'leave_one_out') {
    if (M > budget) throw needCalls(method, M, budget)
    const masks = Array.from({ length: M }, (_, i) => {
      const m = new Uint8Array(M).fill(1)
      m[i] = 0
      return m
    })
    const scores = await game.values(masks)
    return { values: scores.map((s) => full - s), base: null, full, evaluations: M }
  }
  if (method === 'kernel_shap') {
    // One evaluation goes to the empty prompt; the rest to Kernel SHAP's coalitions.
    const nsamples = Math.min(budget - 1, M <= 30 ? 2 ** M - 2 : Infinity)
    if (M > 1 && nsamples < 1) throw needCalls(method, 2, budget)
    let evaluations = 0
    const e = await explainModel({
      model: {
        width: M,
        outputs: 1,
        async predict(x, rows) {
          const masks = Array.from({ length: rows }, (_, r) =>
            Uint8Array.from(x.subarray(r * M, (r + 1) * M), (v) => (v > 0.5 ? 1 : 0)),
          )
          const full = masks.map((m) => m.every((v) => v === 1))
          evaluations += full.filter((f) => !f).length
          return Float64Array.from(await game.values(masks))
        },
      },
      x: [new Array<number>(M).fill(1)],
      background: { data: [new Array<number>(M).fill(0)] },
      method: 'kernel_shap',
      ...(M > 1 ? { nsamples } : {}),
      seed,
    })
    const values = (e.values as number[][])[0]!
    const se = (e.standard_errors as number[][] | undefined)?.[0]
    return {
      values,
      base: (e.base_values as number[])[0]!,
      full,
      ...(se ? { standardErrors: se } : {}),
      evaluations,
    }
  }
  const distinct = M <= 30 ? 2 ** M - 1 : Infinity
  const n = Math.min(budget, distinct)
  if (n < 2) throw needCalls(method, 2, budget)
  const next = random(seed)
  const seen = new Set<string>(['1'.repeat(M)])
  const masks: Uint8Array[] = []
  for (let tries = 0; masks.length < n && tries < 1000 * n; tries++) {
    const m = Uint8Array.from({ length: M }, () => (next() < 0.5 ? 1 : 0))
    const key = m.join('')
    if (seen.has(key)) continue
    seen.add(key)
    masks.push(m)
  }
  const scores = await game.values(masks)
  const fit = lasso([...masks, new Uint8Array(M).fill(1)], [...scores, full])
  return { values: fit.coef, base: fit.intercept, full, evaluations: masks.length }
}

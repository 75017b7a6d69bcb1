import type { Explanation } from './types.js'

/**
 * Joins explanations of consecutive slices of one data set, in order, into the explanation of the
 * whole set: rows are concatenated (`values`, `base_values`, `data`, `standard_errors`), the
 * additivity and completeness checks keep the worst slice, `stats` add up (`elapsed_ms` is the
 * time spent in all slices; `samples` the largest; `stopped` the last slice's, as a single run
 * reports its last row's). Slices explained with the seed offset of their first row (see
 * `explainInputs` of `@modelgate/explain/node`) give exactly one run's values.
 *
 * @example
 * ```ts
 * import { concatExplanations } from '@modelgate/explain'
 *
 * const whole = concatExplanations([firstHundredRows, nextHundredRows])
 * ```
 */
export function concatExplanations(parts: readonly Explanation[]): Explanation {
  const first = parts[0]
  if (!first) throw new TypeError('concatExplanations needs at least one explanation')
  for (const [i, p] of parts.entries()) {
    if (
      p.method !== first.method ||
      p.link !== first.link ||
      !sameList(p.feature_names, first.feature_names) ||
      !sameList(p.output_names, first.output_names) ||
      !p.standard_errors !== !first.standard_errors ||
      !p.completeness !== !first.completeness
    )
      throw new TypeError(`explanation ${i} does not have the layout of the first one`)
  }
  const rows = <T>(pick: (p: Explanation) => T[]) => parts.flatMap((p) => pick(p))
  const out: Explanation = {
    ...first,
    values: rows((p) => p.values as unknown[]) as Explanation['values'],
    base_values: rows((p) => p.base_values as unknown[]) as Explanation['base_values'],
    data: rows((p) => p.data),
    additivity: {
      ok: parts.every((p) => p.additivity.ok),
      max_relative_error: max(parts, (p) => p.additivity.max_relative_error),
      tolerance: first.additivity.tolerance,
    },
    stats: {
      ...first.stats,
      model_calls: sum(parts, (p) => p.stats.model_calls),
      evaluations: sum(parts, (p) => p.stats.evaluations),
      elapsed_ms: sum(parts, (p) => p.stats.elapsed_ms),
    },
  }
  if (first.standard_errors)
    out.standard_errors = rows(
      (p) => p.standard_errors as unknown[],
    ) as Explanation['standard_errors']
  if (first.stats.samples !== undefined) out.stats.samples = max(parts, (p) => p.stats.samples ?? 0)
  if (first.stats.stopped !== undefined) out.stats.stopped = parts.at(-1)!.stats.stopped
  if (first.completeness)
    out.completeness = {
      max_relative_error: max(parts, (p) => p.completeness!.max_relative_error),
      steps: max(parts, (p) => p.completeness!.steps),
      ok: parts.every((p) => p.completeness!.ok),
    }
  return out
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

function sum(parts: readonly Explanation[], pick: (p: Explanation) => number): number {
  return parts.reduce((s, p) => s + pick(p), 0)
}

function max(parts: readonly Explanation[], pick: (p: Explanation) => number): number {
  return parts.reduce((m, p) => Math.max(m, pick(p)), -Infinity)
}

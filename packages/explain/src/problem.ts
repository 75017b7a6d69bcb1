import type { LinkName } from './types.js'

/** @internal What every model-agnostic explainer works on: one model, rows, background, groups. */
export interface Problem {
  predict: (x: Float64Array, rows: number) => Promise<Float64Array>
  width: number
  /** Output columns of `predict`. */
  K: number
  background: Float64Array
  bgWeights: Float64Array
  groups: Int32Array[]
  link: LinkName
  maxBatchRows: number
  stats: { modelCalls: number; evaluations: number }
  signal?: AbortSignal | undefined
}

/** @internal */
export const linkFn = (link: LinkName) =>
  link === 'logit'
    ? (p: number) => {
        const q = Math.min(1 - 1e-15, Math.max(1e-15, p))
        return Math.log(q / (1 - q))
      }
    : (p: number) => p

/** @internal Calls the model in chunks of at most `maxBatchRows` rows. */
export async function predictChunked(
  p: Problem,
  x: Float64Array,
  rows: number,
): Promise<Float64Array> {
  const out = new Float64Array(rows * p.K)
  const step = Math.max(1, p.maxBatchRows)
  for (let start = 0; start < rows; start += step) {
    if (p.signal?.aborted) throw p.signal.reason ?? new Error('aborted')
    const n = Math.min(step, rows - start)
    const y = await p.predict(x.subarray(start * p.width, (start + n) * p.width), n)
    if (y.length !== n * p.K)
      throw new Error(`model returned ${y.length} values for ${n} rows × ${p.K} outputs`)
    out.set(y, start * p.K)
    p.stats.modelCalls++
    p.stats.evaluations += n
  }
  return out
}

/**
 * @internal Coalition values `link(E_bg[f(x_S, z_rest)])` for `n` masks over the groups (row-major
 * `n × groups`), as `n × K`. One batched model call carries many synthetic rows.
 */
export async function evaluateMasks(
  p: Problem,
  x: Float64Array,
  masks: Uint8Array,
  n: number,
): Promise<Float64Array> {
  const M = p.groups.length
  const W = p.width
  const nb = p.bgWeights.length
  const link = linkFn(p.link)
  let wsum = 0
  for (let b = 0; b < nb; b++) wsum += p.bgWeights[b]!
  const out = new Float64Array(n * p.K)
  const perChunk = Math.max(1, Math.floor(p.maxBatchRows / nb))
  for (let start = 0; start < n; start += perChunk) {
    const count = Math.min(perChunk, n - start)
    const rows = new Float64Array(count * nb * W)
    for (let i = 0; i < count; i++) {
      const mask = (start + i) * M
      for (let b = 0; b < nb; b++) {
        const at = (i * nb + b) * W
        rows.set(p.background.subarray(b * W, (b + 1) * W), at)
        for (let g = 0; g < M; g++) {
          if (!masks[mask + g]) continue
          const cols = p.groups[g]!
          for (let c = 0; c < cols.length; c++) rows[at + cols[c]!] = x[cols[c]!]!
        }
      }
    }
    const y = await predictChunked(p, rows, count * nb)
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < p.K; k++) {
        let s = 0
        for (let b = 0; b < nb; b++) s += p.bgWeights[b]! * y[(i * nb + b) * p.K + k]!
        out[(start + i) * p.K + k] = link(s / wsum)
      }
    }
  }
  return out
}

/** @internal Groups whose columns differ from at least one background row. */
export function varyingGroups(p: Problem, x: Float64Array): number[] {
  const nb = p.bgWeights.length
  const same = (a: number, b: number) => a === b || (a !== a && b !== b)
  return p.groups.flatMap((cols, g) => {
    for (let b = 0; b < nb; b++)
      for (const c of cols) if (!same(p.background[b * p.width + c]!, x[c]!)) return [g]
    return []
  })
}

import { concatExplanations, type Explanation, type ExplainerName } from '@modelgate/explain'
import { explainInputs, loadModelFile } from '@modelgate/explain/node'
import { getBlob, materialiseModel, type ModelRef } from './blobs.js'
import type { ChunkJob, JobKind } from './kinds.js'

/**
 * What every chunk of an explain batch shares: the model and the background rows by content hash
 * (blobs in the tenant's key space), the column names and the options of `modelgate explain`.
 *
 * @example
 * ```ts
 * const spec: ExplainSpec = { model: ref, background: bgHash, method: 'kernel_shap', nsamples: 500, seed: 0 }
 * ```
 */
export interface ExplainSpec {
  model: ModelRef
  output?: string
  /** Hash of the blob holding the background rows as JSON (`null` = missing). */
  background?: string
  featureNames?: string[]
  method: ExplainerName | 'auto'
  nsamples?: number
  seed: number
}

type Row = Array<number | null>

/**
 * Explain batches: a chunk is explained by `explainInputs` of `@modelgate/explain/node` with the
 * seed offset of its first row, exactly as `modelgate explain` explains those rows in one run, and
 * the chunks join with `concatExplanations`.
 *
 * @example
 * ```ts
 * const whole = explainKind.join(chunkExplanations)
 * ```
 */
export const explainKind: JobKind<ExplainSpec, Explanation, Explanation> = {
  name: 'explain',
  async run(job: ChunkJob<ExplainSpec>, context) {
    const { spec } = job
    const { model } = await context.memo(
      `model:${spec.model.sha256}:${spec.output ?? ''}`,
      async () =>
        loadModelFile(
          await materialiseModel(
            await context.redis(),
            context.target,
            spec.model,
            context.cacheDir,
          ),
          spec.output,
        ),
    )
    const background = spec.background
      ? await context.memo(`background:${spec.background}`, async () => {
          const bytes = await getBlob(await context.redis(), context.target, spec.background!)
          return JSON.parse(bytes.toString('utf8')) as Row[]
        })
      : undefined
    return explainInputs(
      {
        model,
        rows: job.rows as Row[],
        ...(spec.featureNames ? { featureNames: spec.featureNames } : {}),
        ...(background ? { background } : {}),
      },
      {
        method: spec.method,
        seed: spec.seed,
        offset: job.offset,
        ...(spec.nsamples !== undefined ? { nsamples: spec.nsamples } : {}),
        onProgress: (done) => context.progress(done),
      },
    )
  },
  join: concatExplanations,
}

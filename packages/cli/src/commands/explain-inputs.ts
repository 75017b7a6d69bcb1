import { writeFile } from 'node:fs/promises'
import type { ExplainInputs } from '@modelgate/explain/node'
import { importPackage } from '../config/modules.js'
import { ConfigError } from '../errors.js'
import { sha256 } from '../queue/blobs.js'
import { readInput, readJson } from './args.js'
import type { CommandIO, CommandOption } from './types.js'

/**
 * The masking options of `modelgate explain` (local and queued alike).
 *
 * @example
 * ```ts
 * const options = { ...maskOptions, model: { type: 'string', description: 'Model file' } }
 * ```
 */
export const maskOptions: Readonly<Record<string, CommandOption>> = {
  'mask-policy': {
    type: 'string',
    value: 'file',
    description:
      'Masking policy JSON ("fields" rules by feature) applied to rows and background first',
  },
  'mask-key-file': {
    type: 'string',
    value: 'file',
    description: 'Master key of keyed mask operators (default: MODELGATE_MASK_KEY)',
  },
}

/**
 * Reads the model and rows of `modelgate explain` and, with a mask policy, masks the rows and
 * background before anything else sees them (the policy of `@modelgate/mask`, applied to each row
 * as a record keyed by feature name). Returns the inputs and the policy's hash prefix.
 *
 * @example
 * ```ts
 * const { inputs, masked } = await readCommandInputs({ model: 'xgb.json', data: 'rows.csv', policy: 'policy.json' })
 * ```
 */
export async function readCommandInputs(o: {
  model: string
  data: string
  background?: string
  output?: string
  policy?: string
  keyFile?: string
  tenant?: string
}): Promise<{ inputs: ExplainInputs; masked?: string }> {
  const policy = o.policy === undefined ? undefined : await readJson(o.policy, '--mask-policy')
  const key =
    o.keyFile === undefined
      ? process.env.MODELGATE_MASK_KEY
      : (await readInput(o.keyFile, '--mask-key-file')).trim()
  const { readExplainInputs } = await importPackage(
    () => import('@modelgate/explain/node'),
    '@modelgate/explain',
    'explain',
  )
  const inputs = await readExplainInputs({
    model: o.model,
    data: o.data,
    ...(o.background !== undefined ? { background: o.background } : {}),
    ...(o.output !== undefined ? { output: o.output } : {}),
  })
  if (policy === undefined) return { inputs }
  const { createMasker } = await importPackage(
    () => import('@modelgate/mask'),
    '@modelgate/mask',
    '--mask-policy',
  )
  let masker
  try {
    masker = createMasker({ policy: policy as never, vault: false, ...(key ? { key } : {}) })
  } catch (error) {
    throw new ConfigError(`--mask-policy: ${(error as Error).message}`, { cause: error })
  }
  const names = inputs.featureNames
  if (!names || names.length !== inputs.model.width)
    throw new ConfigError(
      '--mask-policy: the rows need feature names (a CSV header, JSON objects, or a model that names its features)',
    )
  const mask = async (rows: Array<Array<number | null>>) => {
    const records = rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])))
    const { value } = await masker.applyPolicy(records, { tenant: o.tenant ?? 'default' })
    return (value as Array<Record<string, number | null>>).map((record) =>
      names.map((n) => record[n]),
    )
  }
  return {
    inputs: {
      ...inputs,
      rows: await mask(inputs.rows),
      ...(inputs.background ? { background: await mask(inputs.background) } : {}),
    },
    masked: sha256(JSON.stringify(policy)).slice(0, 16),
  }
}

/**
 * Writes a command's JSON result as `modelgate explain` always has: indented to `out`, one line
 * on stdout without it.
 *
 * @example
 * ```ts
 * await writeOutput(explanation, 'shap.json', io)
 * ```
 */
export async function writeOutput(
  value: unknown,
  out: string | undefined,
  io: CommandIO,
): Promise<void> {
  if (out === undefined) io.stdout(`${JSON.stringify(value)}\n`)
  else await writeFile(out, JSON.stringify(value, null, 1))
}

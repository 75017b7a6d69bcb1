import type { ExplainerName } from '@modelgate/explain'
import { importPackage, messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import { loadQueueModule, queueOptions, queueTarget } from '../queue/connection.js'
import { choiceOption, numberOption, requireFile, stringOption } from './args.js'
import { maskOptions, readCommandInputs, writeOutput } from './explain-inputs.js'
import type { Command } from './types.js'

const METHODS = [
  'auto',
  'exact_shap',
  'kernel_shap',
  'permutation_shap',
  'tree_shap',
  'integrated_gradients',
] as const
const QUEUE_ONLY = [
  'chunk-size',
  'attempts',
  'backoff-ms',
  'detach',
  'redis-ca',
  'redis-cert',
  'redis-key',
]

/**
 * A one-line progress bar redrawn on a terminal; nothing when stderr is not a TTY.
 *
 * @example
 * ```ts
 * const bar = progressBar(process.stderr)
 * bar?.update(3, 10)
 * bar?.done()
 * ```
 */
export function progressBar(stream: NodeJS.WriteStream) {
  if (!stream.isTTY) return undefined
  const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 30))
  let last = -1
  return {
    update(done: number, total: number) {
      const filled = total > 0 ? Math.round((width * done) / total) : width
      if (filled === last && done !== total) return
      last = filled
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
      stream.write(`\rexplaining [${bar}] ${done}/${total} rows`)
    },
    done() {
      if (last >= 0) stream.write('\n')
    },
  }
}

/**
 * `modelgate explain --model FILE --data FILE [--background FILE] [--method METHOD]
 * [--nsamples N] [--seed N] [--out FILE]`: explains the rows of a file with a model file
 * (XGBoost or LightGBM JSON, ONNX, TF.js) and prints or writes shap's layout.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['explain', '--model', 'xgb.json', '--data', 'rows.csv', '--method', 'tree_shap', '--out', 'shap.json'])
 * ```
 */
export const explainCommand: Command = {
  name: 'explain',
  summary: 'Explain the rows of a data file with a model file (SHAP, IG)',
  usage:
    'explain --model <file> --data <file> [--background <file>] [--method <method>] [--nsamples <n>] [--seed <n>] [--output <name>] [--out <file>] [--mask-policy <file>] [--queue <redis-url> [--tenant <id>] [--chunk-size <n>] [--detach]]',
  description: [
    'Models: XGBoost save_model JSON, LightGBM dump_model JSON, .onnx, TF.js model.json. Rows: a',
    'JSON array of arrays (null = missing), a JSON array of objects keyed by feature name, or CSV',
    'with a header. Methods: auto (the default: tree_shap for tree models, exact_shap for at most',
    '12 features, else kernel_shap), exact_shap, kernel_shap, permutation_shap, tree_shap,',
    'integrated_gradients. The result ({values, base_values, data, feature_names, method,',
    'additivity, stats, ...}) goes to --out or stdout. A progress bar is drawn on a terminal.',
    '',
    'With --queue the rows are split into chunks and enqueued on Redis (BullMQ) for',
    "'modelgate worker' processes on any number of machines; the command follows the batch",
    '(rows/s, ETA, failed chunks) and writes the same output a local run writes, with the same',
    "values for the same --seed. --detach prints the batch id and exits ('modelgate jobs').",
    'With --mask-policy the rows and background are masked before they are explained or leave',
    'this machine.',
    '',
    'Exit codes: 0 explained, 1 failure (an unreadable model, an explainer error), 2 bad options.',
  ].join('\n'),
  options: {
    model: { type: 'string', value: 'file', description: 'Model file (required)' },
    data: { type: 'string', value: 'file', description: 'Rows to explain (required)' },
    background: { type: 'string', value: 'file', description: 'Background rows (same formats)' },
    method: { type: 'string', value: METHODS.join('|'), description: 'Explainer (default auto)' },
    nsamples: { type: 'string', value: 'n', description: 'Kernel SHAP coalitions per row' },
    seed: { type: 'string', value: 'n', description: 'Seed of every random choice (default 0)' },
    output: {
      type: 'string',
      value: 'name',
      description: 'Output explained; tree models: margin (default) or prediction',
    },
    out: { type: 'string', value: 'file', description: 'Write the JSON here instead of stdout' },
    ...maskOptions,
    ...queueOptions,
    tenant: {
      type: 'string',
      value: 'id',
      description:
        'Tenant of the queue (keys modelgate:<tenant>:*) and of keyed masking (default "default")',
    },
    'chunk-size': {
      type: 'string',
      value: 'n',
      description: 'Rows per queued chunk (default 100; 5000 for tree_shap)',
    },
    attempts: { type: 'string', value: 'n', description: 'Tries per queued chunk (default 3)' },
    'backoff-ms': {
      type: 'string',
      value: 'ms',
      description: 'First retry delay of a queued chunk, doubled each time (default 1000)',
    },
    detach: { type: 'boolean', description: 'With --queue: print the batch id and exit' },
  },
  async run({ values }, io) {
    const model = stringOption(values, 'model', true)
    const data = stringOption(values, 'data', true)
    const background = stringOption(values, 'background')
    const method = choiceOption(values, 'method', METHODS) ?? 'auto'
    const nsamples = numberOption(values, 'nsamples', { integer: true, min: 1 })
    const seed = numberOption(values, 'seed', { integer: true, min: 0 })
    const output = stringOption(values, 'output')
    const out = stringOption(values, 'out')
    const queue = stringOption(values, 'queue')
    for (const flag of QUEUE_ONLY)
      if (queue === undefined && values[flag] !== undefined)
        throw new ConfigError(`--${flag} needs --queue`)
    if (values.detach === true && out !== undefined)
      throw new ConfigError('--detach writes no output: give --out to modelgate jobs resume')
    const chunkSize = numberOption(values, 'chunk-size', { integer: true, min: 1, max: 1_000_000 })
    const attempts = numberOption(values, 'attempts', { integer: true, min: 1, max: 100 })
    const backoffMs = numberOption(values, 'backoff-ms', { integer: true, min: 0 })
    const tenant = stringOption(values, 'tenant')
    const target = queue === undefined ? undefined : await queueTarget(values)
    await requireFile(model, '--model')
    await requireFile(data, '--data')
    if (background !== undefined) await requireFile(background, '--background')
    const policy = stringOption(values, 'mask-policy')
    const keyFile = stringOption(values, 'mask-key-file')
    if (policy !== undefined) await requireFile(policy, '--mask-policy')
    let read
    try {
      read = await readCommandInputs({
        model,
        data,
        ...(background !== undefined ? { background } : {}),
        ...(output !== undefined ? { output } : {}),
        ...(policy !== undefined ? { policy } : {}),
        ...(keyFile !== undefined ? { keyFile } : {}),
        ...(target ? { tenant: target.queue } : tenant !== undefined ? { tenant } : {}),
      })
    } catch (error) {
      if (error instanceof CliError) throw error
      throw new CliError(`explain: ${messageOf(error)}`, 1, { cause: error })
    }
    const { inputs, masked } = read
    if (target) {
      const { submitExplain, defaultChunkSize } = await loadQueueModule(
        () => import('../queue/submit.js'),
      )
      return submitExplain(
        target,
        {
          path: model,
          inputs,
          method: method as ExplainerName | 'auto',
          seed: seed ?? 0,
          ...(output !== undefined ? { output } : {}),
          ...(nsamples !== undefined ? { nsamples } : {}),
          ...(masked ? { masked } : {}),
        },
        {
          chunkSize: chunkSize ?? defaultChunkSize(method, inputs.model),
          attempts: attempts ?? 3,
          backoffMs: backoffMs ?? 1000,
          detach: values.detach === true,
          ...(out !== undefined ? { out } : {}),
        },
        io,
      )
    }
    const { explainInputs } = await importPackage(
      () => import('@modelgate/explain/node'),
      '@modelgate/explain',
      'explain',
    )
    const bar = progressBar(process.stderr)
    let explanation
    try {
      explanation = await explainInputs(inputs, {
        method: method as ExplainerName | 'auto',
        ...(nsamples !== undefined ? { nsamples } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {}),
      })
    } catch (error) {
      throw new CliError(`explain: ${messageOf(error)}`, 1, { cause: error })
    } finally {
      bar?.done()
    }
    await writeOutput(explanation, out, io)
    return 0
  },
}

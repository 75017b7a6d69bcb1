import type { QuantizeDtype } from '@modelgate/backend-tfjs'
import { importPackage, messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import { choiceOption, listOption, requireFile, stringOption } from './args.js'
import type { Command } from './types.js'

const DTYPES: readonly QuantizeDtype[] = ['uint8', 'uint16', 'float16']
const OVERRIDES = [...DTYPES, 'float32'] as const

/**
 * `modelgate quantize --in model.json --out DIR --dtype uint8|uint16|float16`: writes a TF.js
 * model with quantised weights that stock TF.js loads, and prints the size and largest errors.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['quantize', '--in', 'model/model.json', '--out', 'model-uint8', '--dtype', 'uint8'])
 * ```
 */
export const quantize: Command = {
  name: 'quantize',
  summary: 'Quantise the weights of a TF.js model (uint8, uint16, float16)',
  usage:
    'quantize --in <model.json> --out <dir> --dtype uint8|uint16|float16 [--override <weight>=<dtype> ...]',
  description: [
    'Reads a TF.js layers or graph model (model.json and its shards) and writes <dir>/model.json',
    'and <dir>/weights.bin with TF.js quantization entries: uint8 stores a quarter of the weight',
    'bytes, uint16 and float16 half. --override keeps chosen weights at another dtype (float32',
    'keeps them as they are). Prints the sizes and the largest rounding error per weight; check',
    'accuracy on your own data.',
    '',
    'Exit codes: 0 written, 1 the model cannot be read or written, 2 bad options.',
  ].join('\n'),
  options: {
    in: { type: 'string', value: 'model.json', description: 'TF.js model.json (required)' },
    out: { type: 'string', value: 'dir', description: 'Output directory (required)' },
    dtype: { type: 'string', value: DTYPES.join('|'), description: 'Storage type (required)' },
    override: {
      type: 'string',
      multiple: true,
      value: 'weight=dtype',
      description: `Another dtype for one weight (${OVERRIDES.join(', ')})`,
    },
  },
  async run({ values }, io) {
    const input = stringOption(values, 'in', true)
    const out = stringOption(values, 'out', true)
    const dtype = choiceOption(values, 'dtype', DTYPES, true)!
    const overrides: Record<string, (typeof OVERRIDES)[number]> = {}
    for (const entry of listOption(values, 'override')) {
      const at = entry.lastIndexOf('=')
      const name = entry.slice(0, at)
      const type = entry.slice(at + 1) as (typeof OVERRIDES)[number]
      if (at <= 0 || !OVERRIDES.includes(type)) {
        throw new ConfigError(
          `--override: expected <weight>=<${OVERRIDES.join('|')}>, got "${entry}"`,
        )
      }
      overrides[name] = type
    }
    await requireFile(input, '--in')
    const { quantizeTfjsModel } = await importPackage(
      () => import('@modelgate/backend-tfjs'),
      '@modelgate/backend-tfjs',
      'quantize',
    )
    let result
    try {
      result = await quantizeTfjsModel({
        in: input,
        out,
        dtype,
        ...(Object.keys(overrides).length ? { overrides } : {}),
      })
    } catch (error) {
      throw new CliError(`quantize: ${messageOf(error)}`, 1, { cause: error })
    }
    const percent = ((100 * result.weightBytes) / result.originalWeightBytes).toFixed(1)
    io.stdout(
      `wrote ${result.modelJson}: weights ${result.originalWeightBytes} -> ${result.weightBytes} bytes (${percent} %), model ${result.originalBytes} -> ${result.bytes} bytes\n`,
    )
    for (const w of result.weights) {
      io.stdout(
        `  ${w.name}  ${w.dtype}  max error ${w.maxError.toPrecision(3)} (relative ${w.maxRelativeError.toPrecision(3)})\n`,
      )
    }
    return 0
  },
}

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, root, run } from '../test/cli.js'

let dir: string
const model = join(root, 'examples/credit-risk/model/model.json')

beforeAll(async () => {
  await buildCli()
  dir = await mkdtemp(join(tmpdir(), 'modelgate-quantize-'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('modelgate quantize', () => {
  it('writes a uint8 model with TF.js quantization entries and reports the sizes', async () => {
    const result = await run(
      [
        'quantize',
        '--in',
        model,
        '--out',
        'q8',
        '--dtype',
        'uint8',
        '--override',
        'standardize/gamma=float32',
      ],
      { cwd: dir },
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^wrote q8\/model\.json: weights \d+ -> \d+ bytes \(\d+\.\d %\)/)
    const written = JSON.parse(await readFile(join(dir, 'q8/model.json'), 'utf8'))
    const weights = written.weightsManifest.flatMap(
      (g: { weights: unknown[] }) => g.weights,
    ) as Array<{
      name: string
      quantization?: { dtype: string }
    }>
    expect(weights.find((w) => w.name === 'hidden_1/kernel')?.quantization?.dtype).toBe('uint8')
    expect(weights.find((w) => w.name === 'standardize/gamma')?.quantization).toBeUndefined()
  })

  it('bad options exit 2, an unreadable model exits 1', async () => {
    for (const args of [
      ['quantize', '--in', model, '--out', 'q', '--dtype', 'int4'],
      ['quantize', '--in', model, '--out', 'q'],
      ['quantize', '--in', 'missing.json', '--out', 'q', '--dtype', 'uint8'],
      ['quantize', '--in', model, '--out', 'q', '--dtype', 'uint8', '--override', 'x'],
    ]) {
      expect((await run(args, { cwd: dir })).code, args.join(' ')).toBe(2)
    }
    const notModel = await run(
      ['quantize', '--in', join(root, 'package.json'), '--out', 'q', '--dtype', 'uint8'],
      { cwd: dir },
    )
    expect(notModel.code).toBe(1)
  })
})

import { quantizeTfjsModel } from '@modelgate/backend-tfjs'
import { MODEL_PATH } from '@modelgate/example-credit-risk'
import { dirname } from 'node:path'
import { EDGE_MODEL_PATH } from './paths.js'

const result = await quantizeTfjsModel({
  in: MODEL_PATH,
  out: dirname(EDGE_MODEL_PATH),
  dtype: 'uint8',
  // 1/std of income and loan amount (~1e-5) beside 1.0 for one-hot columns: uint8 would zero them.
  overrides: { 'standardize/kernel': 'float16' },
})
process.stdout.write(
  `wrote ${result.modelJson}: weights ${result.weightBytes} of ${result.originalWeightBytes} bytes, ` +
    `model ${result.bytes} of ${result.originalBytes} bytes\n`,
)

import { quantizeTfjsModel } from '@modelgate/backend-tfjs'
import { MODEL_PATH } from '@modelgate/example-credit-risk'
import { dirname } from 'node:path'
import { EDGE_MODEL_PATH } from './paths.js'

const result = await quantizeTfjsModel({
  in: MODEL_PATH,
  out: dirname(EDGE_MODEL_PATH),
  dtype: 'uint8',
  // 1/std per feature: ~3e-5 for income and loan amount beside ~6 for debt-to-income. One uint8
  // scale for the vector would round the small ones to 0; these 14 values stay float16.
  overrides: { 'standardize/gamma': 'float16' },
})
process.stdout.write(
  `wrote ${result.modelJson}: weights ${result.weightBytes} of ${result.originalWeightBytes} bytes, ` +
    `model ${result.bytes} of ${result.originalBytes} bytes\n`,
)

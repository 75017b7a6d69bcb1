export {
  generateApplications,
  trueDefaultProbability,
  PURPOSES,
  makeSsn,
  makePhone,
  makeCardNumber,
  isValidSsn,
  luhnValid,
} from './data.js'
export type { LoanApplication, LabelledApplication, Purpose } from './data.js'
export { Random } from './random.js'
export { creditSchema, MODEL_INPUT, MODEL_OUTPUT } from './schema.js'
export { createCreditGate, MODEL_PATH } from './gate.js'
export type { CreditGateOptions } from './gate.js'
export { startDemo, usage, PortInUseError, SAMPLE_APPLICATION } from './serve.js'
export type { Demo, DemoEndpoint, DemoOptions } from './serve.js'
export {
  trainCreditModel,
  buildCreditModel,
  encodeApplications,
  fileSaveHandler,
  auc,
} from './train.js'
export type { TrainOptions, TrainMetrics } from './train.js'

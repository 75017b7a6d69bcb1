export { conformanceCases, MLP_REFERENCE, MLP_ROWS } from './cases.js'
export { runConformance } from './runner.js'
export { fixturePath } from './fixture-path.js'
export type {
  CaseBody,
  CheckedResponse,
  ConformanceCase,
  ConformanceResult,
  ConformanceTarget,
  RunConformanceOptions,
} from './types.js'

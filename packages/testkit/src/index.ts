export { conformanceCases, MLP_REFERENCE, MLP_ROWS } from './cases.js'
export { runConformance } from './runner.js'
export { fixturePath } from './fixtures.js'
export type {
  CaseBody,
  CheckedResponse,
  ConformanceCase,
  ConformanceResult,
  ConformanceTarget,
  RunConformanceOptions,
} from './types.js'

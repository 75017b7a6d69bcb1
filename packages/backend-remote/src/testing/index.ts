export { startStandInServer } from './standin.js'
export type {
  StandInCompute,
  StandInFault,
  StandInOptions,
  StandInServer,
  StandInStats,
} from './standin.js'
export { LINEAR_MODEL, linearCompute, createLinearBackend } from './linear.js'

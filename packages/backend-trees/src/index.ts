export { createTreesBackend } from './backend.js'
export { parseXGBoost } from './xgboost.js'
export { parseLightGBM } from './lightgbm.js'
export { parseTreeModel, isTreeModelDocument } from './load.js'
export { predictMargin, transformMargin, childOf } from './predict.js'
export type {
  Tree,
  TreeEnsemble,
  TreeObjective,
  TreesBackendOptions,
  TreesFileBackendOptions,
  TreesBackend,
} from './types.js'

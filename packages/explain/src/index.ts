export { explain } from './explain.js'
export { kmeans, sampleBackground } from './background.js'
export { modelFromBackend, modelFromEnsemble, modelFromInfer } from './models.js'
export type {
  ExplainerName,
  LinkName,
  KernelSampler,
  IntegrationRule,
  ExplainableModel,
  BackgroundData,
  FeatureGroupSpec,
  ExplainOptions,
  Explanation,
} from './types.js'

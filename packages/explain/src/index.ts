export { explainModel } from './explain.js'
export { concatExplanations } from './concat.js'
export { kmeans, sampleBackground } from './background.js'
export { modelFromBackend, modelFromEnsemble, modelFromInfer } from './models.js'
export type {
  ExplainerName,
  LinkName,
  KernelSampler,
  KernelSurrogate,
  IntegrationRule,
  ExplainableModel,
  BackgroundData,
  FeatureGroupSpec,
  ExplainOptions,
  Explanation,
} from './types.js'
export { explain } from './explain/index.js'
export { renderPlot } from './plots/index.js'
export type { PlotInput, PlotKind } from './plots/index.js'
export type {
  WireExplanation,
  OutputExplanation,
  ExplanationResult,
  ExplanationFact,
  ExplainRunner,
  ModelExplainConfig,
  ExplainPluginOptions,
  NodeExplainPluginOptions,
} from './types.js'
export { parseRows } from './rows.js'

export { llm, llmRoutes } from './llm/index.js'
export { llmBackend } from './backend.js'
export { createUpstream, ClientGoneError } from './upstream.js'
export {
  PlaceholderVault,
  PlaceholderSession,
  StreamRestorer,
  PLACEHOLDER_LABELS,
  PLACEHOLDER_PATTERN,
} from './placeholders.js'
export type { PlaceholderVaultOptions } from './placeholders.js'
export { RequestMasker, TECHNICAL_WORDS } from './masking.js'
export type { PlaceholderSource, TextPolicy, WordLists } from './masking.js'
export {
  maskChatBody,
  maskCompletionBody,
  maskEmbeddingBody,
  maskSchema,
  restoreOpenAiAnswer,
  openAiHandler,
} from './openai.js'
export { maskMessagesBody, restoreMessagesAnswer, anthropicHandler } from './anthropic.js'
export { maskResponsesBody, restoreResponsesAnswer, responsesHandler } from './responses.js'
export { relay } from './relay.js'
export type { EventHandler, StreamSummary, StreamUsage } from './relay.js'
export { SseDecoder, encodeSse } from './sse.js'
export type { SseEvent } from './sse.js'
export { TokenBudgets, estimatePromptTokens, tokenCounter } from './budget.js'
export type { BudgetCharge } from './budget.js'
export { segmentPrompt } from './attribution/segments.js'
export type {
  PromptKind,
  PromptSegment,
  SegmentedPrompt,
  SegmentUnit,
} from './attribution/segments.js'
export { attributeSegments } from './attribution/methods.js'
export type { AttributionMethod, PromptGame, SegmentAttribution } from './attribution/methods.js'
export { lasso } from './attribution/lasso.js'
export type { LassoFit } from './attribution/lasso.js'
export type { ScoreName } from './attribution/scores.js'
export type {
  PromptExplainLimits,
  PromptExplainRequest,
  PromptExplanation,
} from './attribution/explain.js'
export type {
  LlmProtocol,
  UpstreamConfig,
  UpstreamCall,
  UpstreamResult,
  LlmUpstream,
  LlmModel,
  TokenBudgetRule,
  TenantPolicy,
  UpstreamSelection,
  UpstreamChoice,
  LlmOptions,
  LlmFacts,
} from './types.js'

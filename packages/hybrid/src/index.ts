export { createHybridBackend } from './hybrid.js'
export { createCircuitBreaker } from './breaker.js'
export { forwardExplain } from './forward-explain/index.js'
export { routeHeaders } from './route-headers/index.js'
export { createSealedFetch } from './sealed-fetch/index.js'
export { privacyRouting } from './privacy-route/index.js'
export type {
  BreakerState,
  CircuitBreaker,
  CircuitBreakerOptions,
  ConfidencePolicy,
  DegradedReason,
  ForwardExplainOptions,
  HybridBackend,
  HybridBackendOptions,
  HybridRoute,
  HybridStatus,
  LlmRouteEvent,
  LlmRouteFact,
  MtlsFetch,
  MtlsFetchOptions,
  OutboundPayload,
  OutboundTransform,
  PrivacyRoutingOptions,
  RouteEvent,
  RoutingPolicy,
  SealedFetchOptions,
} from './types.js'

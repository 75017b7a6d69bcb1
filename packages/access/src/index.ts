export { authenticate } from './authenticate/index.js'
export { authorize } from './authorize/index.js'
export { compilePolicy, validatePolicy, PolicyError } from './authorize/policy.js'
export { createCedarEngine } from './authorize/cedar.js'
export { rateLimit } from './rateLimit/index.js'
export type { CedarModule } from './authorize/cedar.js'
export { createJwtVerifier, JWT_ALGORITHMS } from './jwt/verifier.js'
export type { JwtVerifier } from './jwt/verifier.js'
export { TokenError, KeysUnavailableError } from './jwt/errors.js'
export type { TokenErrorCode } from './jwt/errors.js'
export { createApiKey, rotateApiKey, createApiKeyVerifier, constantTimeEqual } from './apikeys.js'
export {
  peerCertificateFromRequest,
  parseForwardedClientCert,
  defaultCertificatePrincipal,
} from './mtls.js'
export type {
  JwtAlgorithm,
  IssuerConfig,
  JwksCacheOptions,
  JwtVerifierOptions,
  VerifiedToken,
  ApiKeyRecord,
  ApiKeyPrincipal,
  ApiKeyOptions,
  ClientCertificate,
  MtlsOptions,
  AuthenticateOptions,
  PolicyAction,
  Scalar,
  PolicyCondition,
  Weekday,
  PolicyRule,
  PolicyDocument,
  PolicyRequest,
  PolicyEngine,
  AuthorizeOptions,
  RateLimitRule,
  RateLimitOptions,
} from './types.js'

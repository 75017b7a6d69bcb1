import type {
  GateContext,
  KeyValueStore,
  Operation,
  Principal,
  RateLimitStore,
} from '@modelgate/core'
import type { JSONWebKeySet, JWTPayload } from 'jose'

declare module '@modelgate/core' {
  interface GateFacts {
    /** Id of the authenticated principal. */
    principal?: string
    /** Tenant of the authenticated principal. */
    tenant?: string
    /** How the principal was authenticated: `jwt`, `api_key`, `mtls` (or `nested_jwt`). */
    authMethod?: string
    /** Why authentication failed (a stable code such as `expired` or `no_credentials`). */
    authFailure?: string
    /** The authorization decision: the action decided, the outcome and the rules behind it. */
    decision?: { allow: boolean; action: string; reasons: string[] }
    /** Name of the rate-limit rule whose bucket was empty. */
    rateLimited?: string
  }
}

/**
 * JWS algorithms a verifier may be configured to accept. `none` is not among them.
 *
 * @example
 * ```ts
 * const algorithms: JwtAlgorithm[] = ['ES256', 'RS256']
 * ```
 */
export type JwtAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'
  | 'HS256'
  | 'HS384'
  | 'HS512'

/**
 * Where an issuer's verification keys come from. Exactly one of `jwks`, `jwksUri` or `discovery`.
 * A key location named inside a token (`jku`, `x5u`, `jwk`, `x5c`) is never used.
 *
 * @example
 * ```ts
 * const viaUrl: IssuerConfig = { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', audience: 'api' }
 * const viaDiscovery: IssuerConfig = { issuer: 'https://idp.example', discovery: true, audience: 'api' }
 * ```
 */
export interface IssuerConfig {
  /** Exact `iss` value. */
  issuer: string
  /** Inline key set (public keys, or `oct` secrets for HS*). */
  jwks?: JSONWebKeySet
  /** JWKS endpoint: `https:`, or `http:` on a loopback address only. */
  jwksUri?: string
  /**
   * OIDC discovery: `true` reads `{issuer}/.well-known/openid-configuration`, a string names the
   * document. Its `issuer` must equal {@link IssuerConfig.issuer}.
   */
  discovery?: boolean | string
  /** Accepted `aud` values; the token must name at least one. */
  audience: string | string[]
  /** Overrides {@link JwtVerifierOptions.algorithms} for this issuer. */
  algorithms?: JwtAlgorithm[]
  /** Maps verified claims to principal fields; defaults read `sub`, `roles`, `scope`/`scp`, `tenant`. */
  principal?: (claims: JWTPayload) => Partial<Principal>
}

/**
 * Remote JWKS caching.
 *
 * @example
 * ```ts
 * const jwksCache: JwksCacheOptions = { cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 3_000 }
 * ```
 */
export interface JwksCacheOptions {
  /** Minimum time between two fetches (an unknown `kid` refetches at most once per cooldown). Default 30 s. */
  cooldownMs?: number
  /** Keys older than this are refetched before use; if that fails, requests get 503. Default 10 min. */
  maxAgeMs?: number
  /** Abort a JWKS or discovery fetch after this long. Default 5 s. */
  timeoutMs?: number
  /** Largest accepted JWKS or discovery document. Default 64 KiB. */
  maxBytes?: number
}

/**
 * Options of {@link createJwtVerifier}; also the `jwt` option of {@link authenticate}.
 *
 * @example
 * ```ts
 * const jwt: JwtVerifierOptions = {
 *   issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', audience: 'credit-api' }],
 *   algorithms: ['ES256'],
 * }
 * ```
 */
export interface JwtVerifierOptions {
  issuers: IssuerConfig[]
  /** Accepted `alg` values. Required; there is no default that could let `HS256` in by accident. */
  algorithms: JwtAlgorithm[]
  /** Claims that must be present. Default `['exp', 'iat', 'sub']` (`iss` and `aud` always are). */
  requiredClaims?: string[]
  /** Seconds of leeway for `exp`, `nbf` and `iat`; at most 60. Default 30. */
  clockToleranceSeconds?: number
  /** Reject tokens whose `iat` is older than this many seconds. */
  maxTokenAgeSeconds?: number
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  clock?: () => number
  jwksCache?: JwksCacheOptions
  /** Verified-token cache. Default on: 10,000 entries, at most 60 s each. */
  tokenCache?: false | { maxEntries?: number; ttlSeconds?: number }
  /** `crit` header extensions this deployment understands and checks itself. Default none. */
  criticalHeaders?: string[]
  /** Revoked tokens: a key `jwt-revoked:{iss}:{jti}` present in this store rejects the token. */
  revocations?: KeyValueStore
  /** One-time tokens: each `iss` + `jti` is accepted once (requires `jti`). */
  replay?: KeyValueStore
  /** Structural checks in front of jose (see README). Default on; turning them off is for experiments only. */
  hardening?: boolean
  /** Largest accepted token in bytes. Default 8192. */
  maxTokenBytes?: number
  /**
   * Required `typ` header, e.g. `at+jwt` for RFC 9068 access tokens (compared as RFC 9068 says:
   * case-insensitively, with an optional `application/` prefix). Default: any `typ`.
   */
  typ?: string
  /**
   * ECDSA (`ES256`…) tokens whose signature is high-S, the malleated twin of a low-S token with
   * the same claims: `normalize` (default) verifies, caches and identifies them as that token
   * (the same `tokenHash`), `refuse` rejects them (`signature_high_s`). Key any list of tokens
   * you keep (a denylist) on `tokenHash`, never on the raw token string.
   */
  highS?: 'normalize' | 'refuse'
  /** Fetch used for JWKS and discovery; defaults to the global one. */
  fetch?: typeof fetch
}

/**
 * A verified token's outcome.
 *
 * @example
 * ```ts
 * const { claims, principal } = await verifier.verify(token)
 * ```
 */
export interface VerifiedToken {
  claims: JWTPayload
  principal: Principal
  issuer: string
  kid: string
  /**
   * SHA-256 (hex) of the token in canonical form (an ECDSA signature in low-S form): the same
   * for a token and its malleated twin, so it is the key to use for lists of tokens.
   */
  tokenHash: string
  /** True when the result came from the verified-token cache. */
  cached: boolean
}

/**
 * A stored API key: never the key itself, only its salted HMAC-SHA-256 under a server-side pepper.
 * JSON-serialisable, so records can live in a file, a database or a secret manager.
 *
 * @example
 * ```ts
 * const { key, record } = await createApiKey({ pepper, principal: { id: 'batch-scorer', roles: ['service'] } })
 * ```
 */
export interface ApiKeyRecord {
  /** Public key id, the part of the key before the secret; used to find the record. */
  id: string
  /** base64url salt. */
  salt: string
  /** base64url HMAC-SHA-256(pepper, salt ‖ secret). */
  hash: string
  principal: ApiKeyPrincipal
  /** Milliseconds since the epoch; the key is refused before this. */
  notBefore?: number
  /** Milliseconds since the epoch; the key is refused from this on (rotation overlap ends here). */
  expiresAt?: number
}

/**
 * Who an API key stands for.
 *
 * @example
 * ```ts
 * const p: ApiKeyPrincipal = { id: 'batch-scorer', roles: ['service'], scopes: ['predict'], tenant: 'acme' }
 * ```
 */
export interface ApiKeyPrincipal {
  id: string
  roles?: string[]
  scopes?: string[]
  tenant?: string
  claims?: Record<string, unknown>
}

/**
 * API key authentication settings.
 *
 * @example
 * ```ts
 * const apiKeys: ApiKeyOptions = { pepper: process.env.API_KEY_PEPPER!, records }
 * ```
 */
export interface ApiKeyOptions {
  /** Server-side secret mixed into every hash; at least 32 bytes. Keep it out of the record store. */
  pepper: string | Uint8Array
  /** The records, or a lookup by key id (database, KV store). */
  records: ApiKeyRecord[] | ((id: string) => Promise<ApiKeyRecord | undefined>)
  /** Header carrying the key. Default `x-api-key`; `Authorization: ApiKey <key>` is also read. */
  header?: string
}

/**
 * A client certificate as the transport verified it.
 *
 * @example
 * ```ts
 * const cert: ClientCertificate = { subject: { CN: 'scorer' }, sans: ['URI:spiffe://acme/scorer'], fingerprint256: 'AB:CD:…' }
 * ```
 */
export interface ClientCertificate {
  subject: Record<string, string>
  /** Subject alternative names as `DNS:…`, `URI:…`, `email:…`, `IP Address:…`. */
  sans: string[]
  /** SHA-256 fingerprint, upper-case hex pairs joined by `:`. */
  fingerprint256: string
}

/**
 * mTLS client identity. In Express the verified peer certificate is read from the request (set by
 * `@modelgate/express`); at the edge, from `header`, which only the platform may set.
 *
 * @example
 * ```ts
 * const mtls: MtlsOptions = { header: 'x-forwarded-client-cert', principal: (c) => ({ id: c.subject.CN!, roles: ['service'] }) }
 * ```
 */
export interface MtlsOptions {
  /**
   * Header carrying the platform-verified certificate in Envoy's `x-forwarded-client-cert` form
   * (`Hash=…;Subject="…";URI=…;DNS=…`). The platform must strip it from client requests.
   */
  header?: string
  /** Maps a certificate to a principal; `undefined` refuses it. Default: id from the first URI SAN, else the CN. */
  principal?: (
    cert: ClientCertificate,
  ) => Partial<Principal> | undefined | Promise<Partial<Principal> | undefined>
}

/**
 * Options of the {@link authenticate} plugin. At least one method must be configured.
 *
 * @example
 * ```ts
 * authenticate({ jwt: { issuers: [...], algorithms: ['ES256'] }, apiKeys: { pepper, records } })
 * ```
 */
export interface AuthenticateOptions {
  jwt?: JwtVerifierOptions
  apiKeys?: ApiKeyOptions
  mtls?: MtlsOptions
  /**
   * Operations that need no credentials. Default `['health', 'console']` (liveness and
   * readiness, and the console's static pages). Per-model readiness (`GET /v2/models/{m}/ready`)
   * names a model, so it is public only when `metadata` is too. `metrics` is not public unless
   * listed here; give Prometheus an API key instead.
   */
  publicOperations?: Operation[]
  /** `realm` of the `WWW-Authenticate` challenge. Default `modelgate`. */
  realm?: string
}

/**
 * Actions of the policy model: one per operation (`chat` and `embed` are the LLM routes'), and
 * `unmask:<field>` grants seeing one field unmasked (`unmask:*` all).
 *
 * @example
 * ```ts
 * const a: PolicyAction = 'unmask:email'
 * ```
 */
export type PolicyAction =
  | 'predict'
  | 'explain'
  | 'chat'
  | 'embed'
  | 'metadata'
  | 'metrics'
  | 'admin'
  | `unmask:${string}`
  | '*'

/**
 * A literal a condition compares against.
 *
 * @example
 * ```ts
 * const v: Scalar = 'acme'
 * ```
 */
export type Scalar = string | number | boolean

/**
 * A condition on attributes. Attribute paths: `principal.id|kind|tenant|roles|scopes`,
 * `principal.claims.<name>`, `resource.model|version`, `resource.labels.<name>`, `context.<name>`.
 *
 * @example
 * ```ts
 * const sameTenant: PolicyCondition = { attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }
 * const officeHours: PolicyCondition = { timeWindow: { start: '08:00', end: '18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] } }
 * ```
 */
export type PolicyCondition =
  | { attribute: string; equals: Scalar }
  | { attribute: string; notEquals: Scalar }
  | { attribute: string; in: Scalar[] }
  | { attribute: string; contains: Scalar }
  | { attribute: string; exists: boolean }
  | { attribute: string; equalsAttribute: string }
  | { attribute: string; greaterOrEqual: number }
  | { attribute: string; lessOrEqual: number }
  | { timeWindow: { start: string; end: string; days?: Weekday[] } }

/** Lower-case weekday names, UTC. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'

/**
 * One rule. Every present matcher must match (a list matches when any entry does); absent
 * matchers match everything. `deny` overrides `allow`.
 *
 * @example
 * ```ts
 * const rule: PolicyRule = {
 *   id: 'underwriters-predict',
 *   effect: 'allow',
 *   principal: { roles: ['underwriter'] },
 *   actions: ['predict', 'explain', 'unmask:income'],
 *   resource: { models: ['credit-risk'] },
 *   conditions: [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }],
 * }
 * ```
 */
export interface PolicyRule {
  id: string
  effect: 'allow' | 'deny'
  description?: string
  principal?: {
    ids?: string[]
    kinds?: string[]
    roles?: string[]
    scopes?: string[]
    tenants?: string[]
  }
  actions: PolicyAction[]
  /** Model names and versions; `*` matches any, a trailing `*` matches a prefix. */
  resource?: { models?: string[]; versions?: string[] }
  conditions?: PolicyCondition[]
}

/**
 * A policy document, in code or JSON (`version` 1).
 *
 * @example
 * ```ts
 * const policy: PolicyDocument = { version: 1, rules: [{ id: 'admins', effect: 'allow', principal: { roles: ['admin'] }, actions: ['*'] }] }
 * ```
 */
export interface PolicyDocument {
  version: 1
  rules: PolicyRule[]
}

/**
 * One authorization question.
 *
 * @example
 * ```ts
 * engine.decide({ principal, action: 'predict', resource: { model: 'credit-risk' }, unmaskFields: ['email'] })
 * ```
 */
export interface PolicyRequest {
  principal: Principal
  action: Exclude<PolicyAction, '*' | `unmask:${string}`>
  resource: { model?: string; version?: string; labels?: Record<string, string> }
  /** Free attributes for `context.<name>` conditions. */
  context?: Record<string, unknown>
  /** Milliseconds since the epoch, for time windows. Default `Date.now()`. */
  now?: number
  /** Fields to decide `unmask:<field>` for; used to expand `unmask:*` when a deny removes a field. */
  unmaskFields?: string[]
}

/**
 * Anything that answers {@link PolicyRequest}s: a compiled {@link PolicyDocument} or the Cedar adapter.
 *
 * @example
 * ```ts
 * const engine: PolicyEngine = compilePolicy(policy)
 * const d = engine.decide(request)
 * ```
 */
export interface PolicyEngine {
  decide(request: PolicyRequest): { allow: boolean; reasons: string[]; unmask: string[] }
}

/**
 * Options of the {@link authorize} plugin.
 *
 * @example
 * ```ts
 * authorize({ policy: { version: 1, rules } })
 * ```
 */
export interface AuthorizeOptions {
  policy: PolicyDocument | PolicyEngine
  /**
   * Operations decided without a policy (allowed). Default `['health', 'console']`, with the
   * same rule for per-model readiness as `authenticate`.
   */
  publicOperations?: Operation[]
  /**
   * Maps a request to an action; default: the operation for `predict`, `explain`, `metadata`
   * and `metrics` (per-model readiness is `metadata`), `admin` for anything else.
   */
  action?: (ctx: GateContext) => PolicyRequest['action']
  /** Extra `context.<name>` attributes per request. */
  context?: (ctx: GateContext) => Record<string, unknown>
  clock?: () => number
  realm?: string
}

/**
 * One token bucket of the {@link rateLimit} plugin.
 *
 * @example
 * ```ts
 * const perTenant: RateLimitRule = { by: 'tenant', capacity: 100, refillPerSecond: 20 }
 * ```
 */
export interface RateLimitRule {
  /** What the bucket is keyed on; a function returning `undefined` skips the bucket. */
  by: 'principal' | 'tenant' | 'model' | 'global' | ((ctx: GateContext) => string | undefined)
  capacity: number
  refillPerSecond: number
  /**
   * Tokens one request takes. Default 1. `'bytes'` charges the request body's size in KiB
   * (rounded up, at least 1), `'records'` the number of V1 instances or V2 rows, so one large
   * request costs what many small ones do; a function may charge anything (it may be async).
   */
  cost?: number | 'bytes' | 'records' | ((ctx: GateContext) => number | Promise<number>)
  /** Bucket-name prefix, to keep several rules on the same key apart. */
  name?: string
}

/**
 * Options of the {@link rateLimit} plugin.
 *
 * @example
 * ```ts
 * rateLimit({ rules: [{ by: 'principal', capacity: 20, refillPerSecond: 5 }], store: new MemoryStore() })
 * ```
 */
export interface RateLimitOptions {
  rules: RateLimitRule[]
  /** Default: a new in-process `MemoryStore`. */
  store?: RateLimitStore
  /** Operations never limited. Default `['health']`. */
  exemptOperations?: Operation[]
}

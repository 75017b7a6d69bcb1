import {
  checkOptionKeys,
  NotReadyError,
  UnauthorizedError,
  type GateContext,
  type Plugin,
  type Principal,
} from '@modelgate/core'
import { createApiKeyVerifier } from '../apikeys.js'
import { KeysUnavailableError, TokenError } from '../jwt/errors.js'
import { createJwtVerifier, JWT_OPTIONS } from '../jwt/verifier.js'
import { clientCertificateOf, defaultCertificatePrincipal } from '../mtls.js'
import { publicRequests } from '../public.js'
import type { AuthenticateOptions } from '../types.js'

const BEARER = /^Bearer(?:\s+(.*))?$/is
const API_KEY_SCHEME = /^ApiKey +([^\s]+)\s*$/i
const REALM = /^[\x20-\x7e]{1,64}$/
const OPTIONS = {
  jwt: JWT_OPTIONS,
  apiKeys: { pepper: true, records: true, header: true },
  mtls: { header: true, principal: true },
  publicOperations: true,
  realm: true,
} as const

/**
 * Authentication plugin: bearer JWTs (hardened, see README), API keys and mTLS client identity.
 * Sets `ctx.principal` (never the token) and the facts `principal`, `tenant` and `authMethod`
 * (`authFailure` on a refusal). A principal already set by an outer plugin (the `decrypt` plugin
 * of `@modelgate/crypto` verifying a nested JWT with this package's verifier) is kept as it is.
 * Failures are RFC 6750 401s with a generic description; an identity provider that cannot be
 * reached gives 503. Operations in `publicOperations` (`health` and `console` by default) pass
 * without credentials, except per-model readiness, which is public only when `metadata` is;
 * `metrics` needs credentials unless listed.
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { authenticate, authorize } from '@modelgate/access'
 *
 * const gate = createGate({
 *   models,
 *   plugins: [
 *     authenticate({
 *       jwt: {
 *         issuers: [{ issuer: 'https://idp.example', discovery: true, audience: 'credit-api' }],
 *         algorithms: ['ES256'],
 *       },
 *       apiKeys: { pepper: process.env.API_KEY_PEPPER!, records },
 *     }),
 *     authorize({ policy }),
 *   ],
 * })
 * ```
 */
export const authenticate = (options: AuthenticateOptions): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('authenticate needs an options object')
  checkOptionKeys('authenticate', options, OPTIONS)
  if (!options.jwt && !options.apiKeys && !options.mtls)
    throw new TypeError('authenticate: configure jwt, apiKeys or mtls')
  const realm = options.realm ?? 'modelgate'
  if (!REALM.test(realm) || realm.includes('"') || realm.includes('\\'))
    throw new TypeError('authenticate: realm must be short printable ASCII without quotes')
  const isPublic = publicRequests(options.publicOperations, 'authenticate')
  const jwt = options.jwt ? createJwtVerifier(options.jwt) : undefined
  const clock = options.jwt?.clock ?? Date.now
  const apiKey = options.apiKeys ? createApiKeyVerifier(options.apiKeys, clock) : undefined
  const apiKeyHeader = (options.apiKeys?.header ?? 'x-api-key').toLowerCase()
  const mtls = options.mtls
  const mapCert = mtls?.principal ?? defaultCertificatePrincipal
  if (mtls?.header !== undefined && !/^[a-z0-9-]+$/i.test(mtls.header))
    throw new TypeError('authenticate: mtls.header is not a header name')

  const challenge = (error?: 'invalid_token') =>
    error
      ? `Bearer realm="${realm}", error="${error}", error_description="the access token is invalid"`
      : `Bearer realm="${realm}"`
  const refuse = (ctx: GateContext, reason: string, error?: 'invalid_token'): never => {
    ctx.facts.authFailure = reason
    throw new UnauthorizedError(
      error === undefined ? 'authentication required' : 'invalid credentials',
      { 'www-authenticate': challenge(error), 'cache-control': 'no-store' },
      error ?? 'unauthorized',
    )
  }
  const accept = (ctx: GateContext, principal: Principal, method: string) => {
    ctx.principal = principal
    ctx.facts.principal = principal.id
    ctx.facts.authMethod = method
    if (principal.tenant !== undefined) ctx.facts.tenant = principal.tenant
  }

  return async function authenticate(ctx, next) {
    if (isPublic(ctx)) return next()
    // Already authenticated by an outer plugin (a nested JWT verified by `decrypt`).
    if (ctx.principal) return next()
    const authorization = ctx.requestHeaders.get('authorization')
    const bearer = authorization === null ? null : BEARER.exec(authorization)
    if (bearer) {
      if (!jwt) refuse(ctx, 'jwt_not_configured', 'invalid_token')
      try {
        const verified = await jwt!.verify((bearer[1] ?? '').trim())
        accept(ctx, verified.principal, 'jwt')
      } catch (error) {
        if (error instanceof TokenError) refuse(ctx, error.code, 'invalid_token')
        if (error instanceof KeysUnavailableError) {
          ctx.facts.authFailure = error.code
          throw new NotReadyError('authentication is temporarily unavailable', 'auth_unavailable', {
            'retry-after': '5',
          })
        }
        throw error
      }
      return next()
    }
    const keyText =
      ctx.requestHeaders.get(apiKeyHeader) ??
      (authorization === null ? null : (API_KEY_SCHEME.exec(authorization)?.[1] ?? null))
    if (keyText !== null) {
      if (!apiKey) return refuse(ctx, 'api_keys_not_configured', 'invalid_token')
      const found = await apiKey(keyText.trim())
      if (!found) return refuse(ctx, 'api_key_invalid', 'invalid_token')
      accept(
        ctx,
        {
          id: found.id,
          kind: 'api_key',
          roles: found.roles ?? [],
          scopes: found.scopes ?? [],
          ...(found.tenant !== undefined ? { tenant: found.tenant } : {}),
          ...(found.claims ? { claims: found.claims } : {}),
        },
        'api_key',
      )
      return next()
    }
    if (authorization !== null) return refuse(ctx, 'unsupported_scheme')
    if (mtls) {
      const cert = clientCertificateOf(ctx, mtls)
      if (cert) {
        const mapped = await mapCert(cert)
        if (!mapped || typeof mapped.id !== 'string' || mapped.id === '')
          return refuse(ctx, 'certificate_not_mapped', 'invalid_token')
        accept(
          ctx,
          {
            roles: [],
            scopes: [],
            ...mapped,
            id: mapped.id,
            kind: 'mtls',
            claims: {
              ...mapped.claims,
              subject: cert.subject,
              sans: cert.sans,
              fingerprint256: cert.fingerprint256,
            },
          },
          'mtls',
        )
        return next()
      }
    }
    return refuse(ctx, 'no_credentials')
  }
}

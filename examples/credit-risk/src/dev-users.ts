import type { JwtVerifierOptions, PolicyDocument } from '@modelgate/access'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose'

/** DEVELOPMENT ONLY. Issuer of the demo's tokens; the `.invalid` TLD is no real IdP. */
export const DEV_ISSUER = 'https://dev.modelgate.invalid'
/** DEVELOPMENT ONLY. Audience of the demo's tokens. */
export const DEV_AUDIENCE = 'modelgate-dev'

/**
 * DEVELOPMENT ONLY. The demo users of the credit-risk console.
 *
 * @example
 * ```ts
 * const user: DevUser = 'underwriter'
 * ```
 */
export type DevUser = 'applicant' | 'underwriter' | 'auditor' | 'admin'

/**
 * DEVELOPMENT ONLY. Claims of each demo user, all in the demo bank.
 *
 * @example
 * ```ts
 * DEV_USERS.auditor.scope // 'explain metadata'
 * ```
 */
export const DEV_USERS: Readonly<Record<DevUser, { sub: string; roles: string[]; scope: string }>> =
  Object.freeze({
    applicant: { sub: 'applicant-0001', roles: ['applicant'], scope: 'predict' },
    underwriter: {
      sub: 'underwriter-0001',
      roles: ['underwriter'],
      scope: 'predict explain metadata',
    },
    auditor: { sub: 'auditor-0001', roles: ['auditor'], scope: 'explain metadata' },
    admin: { sub: 'admin-0001', roles: ['admin'], scope: 'predict explain metadata admin' },
  })

/** The demo bank: the tenant of every demo user. */
export const DEMO_TENANT = 'demo-bank'

/**
 * DEVELOPMENT ONLY. The demo's token signing key (made at every start, never stored) and its
 * public key set.
 *
 * @example
 * ```ts
 * const keys: DevKeys = await generateDevKeys()
 * ```
 */
export interface DevKeys {
  privateJwk: JWK
  jwks: JSONWebKeySet
}

/**
 * Throws when `NODE_ENV` says production, compared case-insensitively after trimming
 * (`Production`, ` production ` count): development users and endpoints never start there.
 *
 * @example
 * ```ts
 * refuseInProduction('the demo console')
 * ```
 */
export function refuseInProduction(what: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV?.trim().toLowerCase() === 'production')
    throw new Error(`${what} is for development only and refuses to run with NODE_ENV=production`)
}

/**
 * DEVELOPMENT ONLY. A fresh ES256 key pair for the demo's tokens.
 *
 * @example
 * ```ts
 * const keys = await generateDevKeys()
 * ```
 */
export async function generateDevKeys(): Promise<DevKeys> {
  refuseInProduction('generateDevKeys')
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = `dev-${crypto.randomUUID().slice(0, 8)}`
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
  }
}

/**
 * DEVELOPMENT ONLY. A signed token for one demo user, valid for `ttlSeconds` (default 3600).
 *
 * @example
 * ```ts
 * const token = await issueDevToken({ user: 'underwriter', keys })
 * ```
 */
export async function issueDevToken(options: {
  user: DevUser
  keys: DevKeys
  ttlSeconds?: number
}): Promise<string> {
  refuseInProduction('issueDevToken')
  const user = DEV_USERS[options.user]
  if (!user) throw new TypeError(`unknown development user "${String(options.user)}"`)
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ roles: user.roles, scope: user.scope, tenant: DEMO_TENANT, dev: true })
    .setProtectedHeader({ alg: 'ES256', kid: options.keys.privateJwk.kid!, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(user.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(await importJWK(options.keys.privateJwk, 'ES256'))
}

/**
 * DEVELOPMENT ONLY. `jwt` options of `authenticate` that accept the demo's tokens.
 *
 * @example
 * ```ts
 * authenticate({ jwt: devJwtOptions(keys) })
 * ```
 */
export function devJwtOptions(keys: DevKeys): JwtVerifierOptions {
  return {
    issuers: [{ issuer: DEV_ISSUER, jwks: keys.jwks, audience: DEV_AUDIENCE }],
    algorithms: ['ES256'],
    maxTokenAgeSeconds: 86_400,
  }
}

/**
 * DEVELOPMENT ONLY (a starting point for real policies). The demo policy: applicants predict;
 * underwriters predict, explain and see name and contact fields; auditors explain and see every
 * field but SSN and card number; admins do everything. Everyone but admins only in the demo bank.
 *
 * @example
 * ```ts
 * authorize({ policy: devPolicy('credit') })
 * ```
 */
export function devPolicy(model: string): PolicyDocument {
  const demoBank = [{ attribute: 'principal.tenant', equals: DEMO_TENANT }]
  return {
    version: 1,
    rules: [
      {
        id: 'applicant-predict',
        effect: 'allow',
        principal: { roles: ['applicant'] },
        actions: ['predict'],
        resource: { models: [model] },
        conditions: demoBank,
      },
      {
        id: 'underwriter',
        effect: 'allow',
        principal: { roles: ['underwriter'] },
        actions: [
          'predict',
          'explain',
          'metadata',
          'unmask:name',
          'unmask:email',
          'unmask:phone',
          'unmask:applicant_id',
        ],
        resource: { models: [model] },
        conditions: demoBank,
      },
      {
        id: 'auditor',
        effect: 'allow',
        principal: { roles: ['auditor'] },
        actions: ['explain', 'metadata', 'unmask:*'],
        resource: { models: [model] },
        conditions: demoBank,
      },
      {
        id: 'auditor-no-ssn-or-card',
        effect: 'deny',
        principal: { roles: ['auditor'] },
        actions: ['unmask:ssn', 'unmask:card_number'],
      },
      { id: 'admin', effect: 'allow', principal: { roles: ['admin'] }, actions: ['*'] },
    ],
  }
}

import { exportJWK, generateKeyPair, importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose'
import type { JwtVerifierOptions, PolicyDocument } from '../types.js'

/**
 * DEVELOPMENT ONLY. Issuer of development tokens; the `.invalid` TLD guarantees it is no real IdP.
 *
 * @example
 * ```ts
 * DEV_ISSUER // 'https://dev.modelgate.invalid'
 * ```
 */
export const DEV_ISSUER = 'https://dev.modelgate.invalid'

/**
 * DEVELOPMENT ONLY. Audience of development tokens.
 *
 * @example
 * ```ts
 * DEV_AUDIENCE // 'modelgate-dev'
 * ```
 */
export const DEV_AUDIENCE = 'modelgate-dev'

/**
 * DEVELOPMENT ONLY. The credit-risk demo users a development token can be issued for.
 *
 * @example
 * ```ts
 * const user: DevUser = 'underwriter'
 * ```
 */
export type DevUser = 'applicant' | 'underwriter' | 'auditor' | 'admin'

/**
 * DEVELOPMENT ONLY. Claims of each demo user (subject, roles, scopes, tenant).
 *
 * @example
 * ```ts
 * DEV_USERS.underwriter.roles // ['underwriter']
 * ```
 */
export const DEV_USERS: Readonly<
  Record<DevUser, { sub: string; roles: string[]; scope: string; tenant: string }>
> = Object.freeze({
  applicant: { sub: 'applicant-0001', roles: ['applicant'], scope: 'predict', tenant: 'demo-bank' },
  underwriter: {
    sub: 'underwriter-0001',
    roles: ['underwriter'],
    scope: 'predict explain metadata',
    tenant: 'demo-bank',
  },
  auditor: {
    sub: 'auditor-0001',
    roles: ['auditor'],
    scope: 'explain metadata',
    tenant: 'demo-bank',
  },
  admin: {
    sub: 'admin-0001',
    roles: ['admin'],
    scope: 'predict explain metadata admin',
    tenant: 'demo-bank',
  },
})

/**
 * DEVELOPMENT ONLY. An ES256 signing key and the matching public JWKS, as JSON.
 *
 * @example
 * ```ts
 * const keys: DevKeys = await generateDevKeys()
 * ```
 */
export interface DevKeys {
  /** Private signing key. Development only: never deploy it. */
  privateJwk: JWK
  jwks: JSONWebKeySet
}

function refuseInProduction(what: string): void {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env
  if (env?.NODE_ENV === 'production')
    throw new Error(`${what} is for development only and refuses to run with NODE_ENV=production`)
}

/**
 * DEVELOPMENT ONLY. Generates a fresh ES256 key pair for development tokens.
 *
 * @example
 * ```ts
 * const keys = await generateDevKeys()
 * await writeFile('dev-keys.json', JSON.stringify(keys))
 * ```
 */
export async function generateDevKeys(): Promise<DevKeys> {
  refuseInProduction('generateDevKeys')
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = `dev-${crypto.randomUUID().slice(0, 8)}`
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' }
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  return { privateJwk, jwks: { keys: [publicJwk] } }
}

/**
 * DEVELOPMENT ONLY. Reads development keys from a JSON file, creating the file (mode 0600) when it
 * does not exist. Node only.
 *
 * @example
 * ```ts
 * const keys = await loadOrCreateDevKeys('.modelgate/dev-keys.json')
 * ```
 */
export async function loadOrCreateDevKeys(path: string): Promise<DevKeys> {
  refuseInProduction('loadOrCreateDevKeys')
  const fs = await import('node:fs/promises')
  try {
    const keys = JSON.parse(await fs.readFile(path, 'utf8')) as DevKeys
    if (!keys?.privateJwk || !Array.isArray(keys.jwks?.keys))
      throw new Error(`${path} does not hold development keys`)
    return keys
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error
  }
  const keys = await generateDevKeys()
  const { dirname } = await import('node:path')
  await fs.mkdir(dirname(path), { recursive: true })
  await fs.writeFile(path, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return keys
}

/**
 * DEVELOPMENT ONLY. Issues a signed token for one of the credit-risk demo users, to be verified
 * with {@link devJwtOptions}. Refuses to run with `NODE_ENV=production`. This is what
 * `modelgate token issue --user underwriter [--keys FILE] [--ttl 3600]` prints.
 *
 * @example
 * ```ts
 * const keys = await generateDevKeys()
 * const token = await issueDevToken({ user: 'underwriter', keys })
 * await fetch('http://localhost:8080/v1/models/credit:predict', { headers: { authorization: `Bearer ${token}` }, … })
 * ```
 */
export async function issueDevToken(options: {
  user: DevUser
  keys: DevKeys
  ttlSeconds?: number
  /** Seconds since the epoch. */
  now?: number
  audience?: string
  claims?: Record<string, unknown>
}): Promise<string> {
  refuseInProduction('issueDevToken')
  const user = DEV_USERS[options?.user]
  if (!user)
    throw new TypeError(
      `unknown development user "${String(options?.user)}" (applicant, underwriter, auditor, admin)`,
    )
  const ttl = options.ttlSeconds ?? 3600
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 86_400)
    throw new TypeError('ttlSeconds must be an integer in 1..86400')
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const { privateJwk } = options.keys
  const key = await importJWK(privateJwk, 'ES256')
  return new SignJWT({
    ...options.claims,
    roles: user.roles,
    scope: user.scope,
    tenant: user.tenant,
    dev: true,
  })
    .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid!, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setSubject(user.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(key)
}

/**
 * DEVELOPMENT ONLY. `jwt` options of `authenticate` that accept development tokens of these keys.
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
 * DEVELOPMENT ONLY (a starting point for real policies). The credit-risk demo policy: applicants
 * predict; underwriters predict, explain and see name and contact fields; auditors explain and see
 * every field but SSN and card number; admins do everything. All within their tenant.
 *
 * @example
 * ```ts
 * authorize({ policy: devPolicy() })
 * ```
 */
export function devPolicy(model = 'credit'): PolicyDocument {
  const sameTenant = [{ attribute: 'principal.tenant', equalsAttribute: 'resource.labels.tenant' }]
  return {
    version: 1,
    rules: [
      {
        id: 'applicant-predict',
        effect: 'allow',
        principal: { roles: ['applicant'] },
        actions: ['predict'],
        resource: { models: [model] },
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
        conditions: sameTenant,
      },
      {
        id: 'auditor',
        effect: 'allow',
        principal: { roles: ['auditor'] },
        actions: ['explain', 'metadata', 'unmask:*'],
        resource: { models: [model] },
        conditions: sameTenant,
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

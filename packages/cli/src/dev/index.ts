import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose'

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
 * DEVELOPMENT ONLY. The credit-risk demo users: `modelgate token issue --user` knows them, and the
 * demo (`examples/credit-risk`) signs in with them.
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
 * DEVELOPMENT ONLY. An ES256 signing key and the matching public JWKS, as kept in the key file.
 *
 * @example
 * ```ts
 * const keys: DevKeys = await loadOrCreateDevKeys('.modelgate/dev-keys.json')
 * ```
 */
export interface DevKeys {
  /** Private signing key. Development only: never deploy it. */
  privateJwk: JWK
  jwks: JSONWebKeySet
}

/**
 * Refuses to go on in production. `NODE_ENV` is compared case-insensitively after trimming, so
 * `Production` and ` production ` count as production too.
 *
 * @example
 * ```ts
 * refuseInProduction('token issue')
 * ```
 */
export function refuseInProduction(what: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV?.trim().toLowerCase() === 'production')
    throw new Error(`${what} is for development only and refuses to run with NODE_ENV=production`)
}

/**
 * DEVELOPMENT ONLY. A fresh ES256 key pair for development tokens, kept in memory (a demo that
 * makes its keys at every start); {@link loadOrCreateDevKeys} keeps one in a file.
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
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' },
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
  }
}

/**
 * DEVELOPMENT ONLY. Reads development keys from a JSON file, creating the file (mode 0600, a
 * fresh ES256 key) when it does not exist.
 *
 * @example
 * ```ts
 * const keys = await loadOrCreateDevKeys('.modelgate/dev-keys.json')
 * ```
 */
export async function loadOrCreateDevKeys(path: string): Promise<DevKeys> {
  refuseInProduction('token issue')
  try {
    const keys = JSON.parse(await readFile(path, 'utf8')) as DevKeys
    if (!keys?.privateJwk || !Array.isArray(keys.jwks?.keys))
      throw new Error(`${path} does not hold development keys`)
    return keys
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error
  }
  const keys = await generateDevKeys()
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return keys
}

/**
 * DEVELOPMENT ONLY. Signs a token for one of the demo users (issuer {@link DEV_ISSUER},
 * audience {@link DEV_AUDIENCE}, `typ: JWT`, a `dev: true` claim). Refuses to run in production.
 *
 * @example
 * ```ts
 * const token = await issueDevToken({ user: 'underwriter', keys, ttlSeconds: 600 })
 * ```
 */
export async function issueDevToken(options: {
  user: DevUser
  keys: DevKeys
  ttlSeconds?: number
  /** Seconds since the epoch. */
  now?: number
}): Promise<string> {
  refuseInProduction('issueDevToken')
  const user = DEV_USERS[options.user]
  if (!user) throw new TypeError(`unknown development user "${String(options.user)}"`)
  const ttl = options.ttlSeconds ?? 3600
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const { privateJwk } = options.keys
  return new SignJWT({ roles: user.roles, scope: user.scope, tenant: user.tenant, dev: true })
    .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid!, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(user.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(await importJWK(privateJwk, 'ES256'))
}

import type { JwtVerifierOptions, PolicyDocument } from '@modelgate/access'
import { DEV_AUDIENCE, DEV_ISSUER, DEV_USERS, type DevKeys } from '@modelgate/cli/dev'

// The demo users, their claims and tokens are the CLI's (`modelgate token issue --user` knows the
// same users); the demo makes its keys at every start and never stores them.
export { DEV_USERS, generateDevKeys, issueDevToken, refuseInProduction } from '@modelgate/cli/dev'
export type { DevKeys, DevUser } from '@modelgate/cli/dev'

/** The demo bank: the tenant of every demo user. */
const DEMO_TENANT = DEV_USERS.applicant.tenant

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

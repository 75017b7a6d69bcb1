import { UnauthorizedError, type Plugin } from '@modelgate/core'

/** Lets through only `Authorization: Bearer t-1` (health checks pass). */
export const requireToken: Plugin = async function requireToken(ctx, next) {
  if (ctx.operation !== 'health' && ctx.requestHeaders.get('authorization') !== 'Bearer t-1')
    throw new UnauthorizedError()
  await next()
}

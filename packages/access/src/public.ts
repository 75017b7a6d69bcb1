import type { GateContext, Operation } from '@modelgate/core'

const DEFAULT_PUBLIC: readonly Operation[] = ['health', 'console']

/**
 * @internal Which requests pass without credentials (authenticate) or without a policy decision
 * (authorize): those whose operation is listed, except health routes that name a model (model
 * readiness enumerates model names), which are public only when `metadata` is.
 */
export function publicRequests(
  operations: readonly Operation[] | undefined,
  where: string,
): (ctx: GateContext) => boolean {
  if (
    operations !== undefined &&
    (!Array.isArray(operations) || operations.some((o) => typeof o !== 'string'))
  )
    throw new TypeError(`${where}: publicOperations must be an array of operation names`)
  const listed = new Set<string>(operations ?? DEFAULT_PUBLIC)
  const modelsPublic = listed.has('metadata')
  return (ctx) =>
    listed.has(ctx.operation) &&
    (modelsPublic || ctx.operation !== 'health' || ctx.route.model === undefined)
}

/**
 * Test helpers of `@modelgate/backend-remote/testing` (not part of the library entry): the
 * stand-in model server (`startStandInServer`, Node only; `node:http` is imported when a server
 * starts) and the reference linear model.
 *
 * @example
 * ```ts
 * import { startStandInServer } from '@modelgate/backend-remote/testing'
 * const standIn = await startStandInServer({ protocol: 'tfserving' })
 * ```
 */
export { startStandInServer } from './standin.js'
export type {
  StandInCompute,
  StandInFault,
  StandInOptions,
  StandInServer,
  StandInStats,
} from './standin.js'
export { LINEAR_MODEL, linearCompute, createLinearBackend } from './linear.js'

export { createRemoteBackend } from './remote.js'
export { ClientClosedError } from './upstream.js'
export type { RemoteBackendOptions, RemoteProtocol } from './types.js'
/**
 * Test helpers: the stand-in model server (`startStandInServer`) and the reference linear model.
 * Node only; `node:http` is imported when a server starts, so importing the package stays edge-safe.
 *
 * @example
 * ```ts
 * const standIn = await testing.startStandInServer({ protocol: 'tfserving' })
 * ```
 */
export * as testing from './testing/index.js'

export { createRemoteBackend } from './remote.js'
export { ClientClosedError } from './upstream.js'
export type { RemoteBackendOptions, RemoteProtocol } from './types.js'

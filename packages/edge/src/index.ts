export { toFetchModule } from './fetch-module.js'
export type { ExecutionContextLike, FetchHandler, FetchModule } from './types.js'

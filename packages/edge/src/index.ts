export { toFetchModule } from './fetch-module.js'
export { nodeListener, serveNode } from './node.js'
export type {
  ExecutionContextLike,
  FetchHandler,
  FetchModule,
  NodeServer,
  ServeNodeOptions,
} from './types.js'

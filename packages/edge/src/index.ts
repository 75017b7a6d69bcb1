export { toFetchModule } from './fetch-module.js'
export { nodeListener, serveListener, serveNode, toNodeRequest, writeNodeReply } from './node.js'
export type {
  ExecutionContextLike,
  FetchHandler,
  FetchModule,
  NodeRequestOptions,
  NodeServer,
  ServeNodeOptions,
} from './types.js'

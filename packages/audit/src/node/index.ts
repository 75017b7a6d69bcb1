export { jsonlSink } from './sinks/jsonl.js'
export { sqliteSink } from './sinks/sqlite.js'
export { verifyAuditFile } from './verify.js'
export { metrics } from './metrics/index.js'
export { createLogger, logErrors, requestLog } from './logging/index.js'
export type {
  AuditFileVerifyOptions,
  JsonlSinkOptions,
  LoggerFactoryOptions,
  MetricsOptions,
  MetricsPlugin,
  RequestLogOptions,
  SqliteSinkOptions,
} from './types.js'

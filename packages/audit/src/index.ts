export { audit } from './audit/index.js'
export { AuditTrail, AuditUnavailableError, createAuditTrail } from './trail.js'
export { jsonlSink } from './sinks/jsonl.js'
export { sqliteSink } from './sinks/sqlite.js'
export { GENESIS_HASH, parseAuditLine } from './chain.js'
export { auditVerifyCommand, verifyAuditFile, verifyAuditLines } from './verify.js'
export type {
  AuditCheckpoint,
  AuditEntry,
  AuditFields,
  AuditHead,
  AuditHealth,
  AuditKey,
  AuditLine,
  AuditOptions,
  AuditProblem,
  AuditRecord,
  AuditSink,
  AuditTrailOptions,
  AuditVerifyOptions,
  AuditVerifyResult,
  CheckpointOptions,
  JsonlSinkOptions,
  LoggerFactoryOptions,
  MetricsOptions,
  MetricsPlugin,
  RequestLogOptions,
  SqliteSinkOptions,
  TracingOptions,
} from './types.js'
export { metrics } from './metrics/index.js'
export { tracing, traced, tracedBackend } from './tracing/index.js'
export { createLogger, logErrors, requestLog } from './logging/index.js'

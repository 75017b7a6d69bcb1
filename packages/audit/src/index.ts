export { audit } from './audit/index.js'
export { AuditTrail, AuditUnavailableError, createAuditTrail } from './trail.js'
export { jsonlSink } from './sinks/jsonl.js'
export type { JsonlSinkOptions } from './sinks/jsonl.js'
export { sqliteSink } from './sinks/sqlite.js'
export type { SqliteSinkOptions } from './sinks/sqlite.js'
export { GENESIS_HASH, parseAuditLine } from './chain.js'
export { auditVerifyCommand, verifyAuditFile, verifyAuditLines } from './verify.js'
export type { AuditLine } from './verify.js'
export type {
  AuditCheckpoint,
  AuditEntry,
  AuditFields,
  AuditHead,
  AuditHealth,
  AuditKey,
  AuditOptions,
  AuditProblem,
  AuditRecord,
  AuditSink,
  AuditTrailOptions,
  AuditVerifyOptions,
  AuditVerifyResult,
  CheckpointOptions,
} from './types.js'
export { metrics } from './metrics/index.js'
export type { MetricsOptions, MetricsPlugin } from './metrics/index.js'
export { tracing, traced, tracedBackend } from './tracing/index.js'
export type { TracingOptions } from './tracing/index.js'
export { createLogger, logErrors, requestLog } from './logging/index.js'
export type { LoggerFactoryOptions, RequestLogOptions } from './logging/index.js'

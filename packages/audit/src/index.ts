export { audit } from './audit/index.js'
export { AuditTrail, AuditUnavailableError, createAuditTrail } from './trail.js'
export { GENESIS_HASH, parseAuditLine } from './chain.js'
export { verifyAuditLines } from './verify.js'
export { tracing, traced, tracedBackend } from './tracing/index.js'
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
  AuditSinkOpenOptions,
  AuditTrailOptions,
  AuditValue,
  AuditVerifyOptions,
  AuditVerifyResult,
  CheckpointOptions,
  TracingOptions,
} from './types.js'

export { SqliteKeyValueStore } from './sqlite.js'
export type { SqliteKeyValueStoreOptions } from './sqlite.js'
export { detectFile, applyPolicyFile } from './files.js'
export type { DetectFileOptions, ApplyPolicyFileOptions, FileResult, JsonlTarget } from './files.js'

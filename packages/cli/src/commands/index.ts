import { auditCommand } from './audit.js'
import { ca } from './ca.js'
import { explainCommand } from './explain.js'
import { jobsCommand } from './jobs.js'
import { jwe } from './jwe.js'
import { keys } from './keys.js'
import { maskCommand } from './mask.js'
import { quantize } from './quantize.js'
import { serve } from './serve.js'
import { token } from './token.js'
import type { Command } from './types.js'
import { workerCommand } from './worker.js'

/**
 * Every `modelgate` subcommand, in help order. A new command is one file in `src/commands/` and
 * one entry here.
 *
 * @example
 * ```ts
 * commands.map((c) => c.name) // ['serve', 'token', 'jwe', 'keys', 'ca', 'mask', 'explain', 'worker', 'jobs', 'audit', 'quantize']
 * ```
 */
export const commands: readonly Command[] = [
  serve,
  token,
  jwe,
  keys,
  ca,
  maskCommand,
  explainCommand,
  workerCommand,
  jobsCommand,
  auditCommand,
  quantize,
]

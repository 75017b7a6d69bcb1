import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { messageOf } from './modules.js'
import type { ConfigRegistries } from './registries.js'
import { parseGateConfig } from './schema.js'
import type { GateConfig } from './types.js'

/**
 * Reads a JSON gate config file and validates all of it before anything is loaded. Paths inside
 * stay as written; {@link buildGate} resolves them against the file's directory.
 *
 * @throws {ConfigError} when the file is missing, is not JSON, or does not validate; the message
 *   names the file or the bad field path.
 * @example
 * ```ts
 * import { dirname } from 'node:path'
 * import { buildGate, loadGateConfig } from '@modelgate/cli'
 *
 * const config = await loadGateConfig('deploy/gate.json')
 * const gate = await buildGate(config, dirname('deploy/gate.json'))
 * await gate.ready()
 * ```
 */
export async function loadGateConfig(
  path: string,
  registries: ConfigRegistries = {},
): Promise<GateConfig> {
  const file = resolve(path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : messageOf(error)
    throw new ConfigError(`cannot read config ${file}: ${reason}`, { cause: error })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`cannot parse config ${file}: ${messageOf(error)}`, { cause: error })
  }
  return parseGateConfig(value, registries)
}

import { CliError, ConfigError } from '../errors.js'

/**
 * Runs a dynamic import of an optional package; a package that is not installed becomes a
 * configuration error naming the field that needs it.
 *
 * @example
 * ```ts
 * const edge = await importPackage(() => import('@modelgate/edge'), '@modelgate/edge', '--runtime edge')
 * ```
 */
export async function importPackage<M>(
  load: () => Promise<M>,
  specifier: string,
  field: string,
): Promise<M> {
  try {
    return await load()
  } catch (error) {
    throw importError(error, specifier, field)
  }
}

/**
 * Imports `name` from `specifier` (a package name or a file URL) and checks it is a function.
 * A package that is not installed is a configuration problem (exit 2); a package without the
 * export is a broken installation (exit 1).
 *
 * @example
 * ```ts
 * const factory = await importFunction<PluginFactory>('@modelgate/access', 'authenticate', 'plugins[0].use')
 * ```
 */
export async function importFunction<T>(
  specifier: string,
  name: string,
  field: string,
): Promise<T> {
  let mod: Record<string, unknown>
  try {
    mod = (await import(specifier)) as Record<string, unknown>
  } catch (error) {
    throw importError(error, specifier, field)
  }
  const value = mod[name]
  if (typeof value !== 'function') {
    throw new CliError(`${field}: ${specifier} does not export a function "${name}"`, 1)
  }
  return value as T
}

/**
 * The message of anything thrown.
 *
 * @example
 * ```ts
 * messageOf(new Error('boom')) // 'boom'
 * ```
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function importError(error: unknown, specifier: string, field: string): CliError {
  const missing = missingPackage(error)
  if (missing !== undefined) {
    const needs = missing === packageOf(specifier) ? '' : ` (${specifier} needs it)`
    return new ConfigError(
      `${field}: needs the package ${missing}${needs}, which is not installed; add it with \`npm install ${missing}\``,
      { cause: error },
    )
  }
  return new CliError(`${field}: cannot load ${specifier}: ${messageOf(error)}`, 1, {
    cause: error,
  })
}

/**
 * The package a failed import could not find: the one imported, or one it imports (an optional
 * peer such as onnxruntime-node or @tensorflow/tfjs). A missing file inside an installed package
 * is a broken installation, not a missing package.
 */
function missingPackage(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined
  const name = /Cannot find (?:package|module) '([^']+)'/.exec(messageOf(error))?.[1]
  if (name === undefined || /^(\.|\/|[A-Za-z]:|file:|node:)/.test(name)) return undefined
  return packageOf(name)
}

function packageOf(specifier: string): string {
  return specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/')
}

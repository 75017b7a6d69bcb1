import type { Plugin } from '@modelgate/core'

/**
 * Where a plugin factory named in a config (`{"use": "<name>", ...options}`) comes from: the
 * package (or file URL) to import, its export, and which option keys are file paths to resolve
 * against the config directory.
 *
 * @example
 * ```ts
 * const ref: PluginFactoryRef = { package: '@modelgate/access', export: 'authenticate' }
 * ```
 */
export interface PluginFactoryRef {
  package: string
  export: string
  /** Top-level option keys holding file paths (keys, certificates, audit logs). */
  files?: readonly string[]
}

/**
 * A map from the `use` name of a plugin entry to its factory.
 *
 * @example
 * ```ts
 * const registry: PluginRegistry = {
 *   ...pluginFactories,
 *   tenant: { package: pathToFileURL('./tenant.js').href, export: 'tenant' },
 * }
 * ```
 */
export type PluginRegistry = Readonly<Record<string, PluginFactoryRef>>

/**
 * The signature every plugin factory has: options in, middleware out; throws on bad options.
 *
 * @example
 * ```ts
 * const requireHeader: PluginFactory = (options) => {
 *   if (typeof options.name !== 'string') throw new TypeError('"name" must be a string')
 *   return async function requireHeader(ctx, next) { await next() }
 * }
 * ```
 */
export type PluginFactory = (options: Record<string, unknown>) => Plugin

/**
 * The plugin factories a config may name.
 *
 * @example
 * ```ts
 * Object.keys(pluginFactories) // names usable as `"use"` in a config
 * ```
 */
export const pluginFactories: PluginRegistry = Object.freeze({})

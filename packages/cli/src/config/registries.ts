import { backendTypes, type BackendRegistry } from './backends.js'
import { pluginFactories, type PluginRegistry } from './plugins.js'

/**
 * Registries a config is checked and built against. Both default to the built-in ones.
 *
 * @example
 * ```ts
 * const registries: ConfigRegistries = { plugins: { ...pluginFactories, tenant: tenantRef } }
 * ```
 */
export interface ConfigRegistries {
  backends?: BackendRegistry
  plugins?: PluginRegistry
}

/**
 * Fills in the built-in registries where none is given.
 *
 * @example
 * ```ts
 * const { backends, plugins } = withDefaults({})
 * ```
 */
export function withDefaults(registries: ConfigRegistries): Required<ConfigRegistries> {
  return {
    backends: registries.backends ?? backendTypes,
    plugins: registries.plugins ?? pluginFactories,
  }
}

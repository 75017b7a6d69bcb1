export { runCli, cliVersion } from './cli.js'
export { commands } from './commands/index.js'
export type { Command, CommandArgs, CommandIO, CommandOption } from './commands/types.js'
export { serve } from './commands/serve.js'
export { loadGateConfig } from './config/load.js'
export type { ConfigRegistries } from './config/registries.js'
export { parseGateConfig } from './config/schema.js'
export { buildGate } from './config/build.js'
export { backendTypes, defineBackendType } from './config/backends.js'
export type { BackendContext, BackendRegistry, BackendType } from './config/backends.js'
export { pluginFactories } from './config/plugins.js'
export type {
  GateStores,
  PluginContext,
  PluginFactory,
  PluginFactoryRef,
  PluginRegistry,
} from './config/plugins.js'
export type {
  BackendConfig,
  GateConfig,
  ModelConfig,
  PluginConfig,
  Runtime,
  ServerConfig,
  StoresConfig,
} from './config/types.js'
export { serveGate } from './server.js'
export type { GateServer, ServeOptions } from './server.js'
export { CliError, ConfigError } from './errors.js'

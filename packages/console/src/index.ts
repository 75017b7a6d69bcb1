export { consoleHandler, webConsole, CONSOLE_CSP } from './handler.js'
export { loadConsoleAssets } from './assets.js'
export { echoRecords } from './echo/index.js'
export type {
  ConsoleAssets,
  ConsoleRole,
  DecisionThresholds,
  ConsoleOptions,
  ConsoleFetchHandler,
  EchoRecordsOptions,
} from './types.js'

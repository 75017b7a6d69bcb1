/** Per-request hooks the metrics plugin leaves in `ctx.state` for `traced` wrappers. */
export const PLUGIN_TIMER = Symbol.for('modelgate.observe.pluginTimer')
/** The OpenTelemetry context of the current request or plugin span, in `ctx.state`. */
export const SPAN_CONTEXT = Symbol.for('modelgate.observe.spanContext')

export type PluginTimer = (plugin: string, seconds: number, failed: boolean) => void

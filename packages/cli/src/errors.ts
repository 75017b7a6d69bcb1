/**
 * An error the `modelgate` command reports as one line on stderr, then exits with `exitCode`.
 * Exit codes: `1` runtime failure (a model that does not load, a port in use), `2` usage or
 * configuration error.
 *
 * @example
 * ```ts
 * throw new CliError('cannot listen on 127.0.0.1:80: permission denied', 1)
 * ```
 */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.exitCode = exitCode
  }
}

/**
 * A bad command line or config file (exit code 2). The message names the offending flag or field
 * path, such as `invalid config: models[0].backend.type: expected one of onnx, tfjs, remote`.
 *
 * @example
 * ```ts
 * try {
 *   await loadGateConfig('gate.json')
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message)
 * }
 * ```
 */
export class ConfigError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options)
  }
}

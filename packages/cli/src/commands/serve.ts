import { dirname, resolve } from 'node:path'
import type { Gate } from '@modelgate/core'
import { buildGate } from '../config/build.js'
import { loadGateConfig } from '../config/load.js'
import { messageOf } from '../config/modules.js'
import type { Runtime } from '../config/types.js'
import { CliError, ConfigError } from '../errors.js'
import { serveGate } from '../server.js'
import type { Command, CommandIO } from './types.js'

const RUNTIMES: readonly Runtime[] = ['cloud', 'edge']
const SIGNALS = ['SIGTERM', 'SIGINT'] as const

/**
 * `modelgate serve --config gate.json [--port N] [--host H] [--runtime cloud|edge]`: validates
 * the config, loads every model, then serves the gate until SIGTERM or SIGINT, and shuts down
 * cleanly (in-flight requests finish, backends close, exit code 0).
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * process.exitCode = await runCli(['serve', '--config', 'gate.json', '--port', '0'])
 * ```
 */
export const serve: Command = {
  name: 'serve',
  summary: 'Serve a gate from a JSON config file',
  usage: 'serve --config <file> [--port <n>] [--host <host>] [--runtime cloud|edge]',
  description: [
    'Validates the config, loads every model, then serves the Open Inference Protocol (V2) and',
    'KServe V1 routes until SIGTERM or SIGINT. Flags override the config\'s "server" section.',
    'Prints "modelgate listening on <url> (...)" once ready.',
    '',
    'Exit codes: 0 after a clean shutdown, 1 when a model fails to load or the port cannot be',
    'bound, 2 for a bad command line or config.',
  ].join('\n'),
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'file',
      description: 'Gate config file (required)',
    },
    port: {
      type: 'string',
      short: 'p',
      value: 'n',
      description: 'Port; 0 picks a free one (default 8080)',
    },
    host: { type: 'string', value: 'host', description: 'Address to bind (default 127.0.0.1)' },
    runtime: {
      type: 'string',
      value: 'cloud|edge',
      description: 'cloud: Express adapter; edge: Web fetch handler (default cloud)',
    },
  },
  async run({ values }, io) {
    const configPath = values.config
    if (typeof configPath !== 'string' || configPath === '') {
      throw new ConfigError('missing --config <file>')
    }
    const port = values.port === undefined ? undefined : parsePort(values.port)
    const runtime = values.runtime === undefined ? undefined : parseRuntime(values.runtime)
    const host = values.host === undefined ? undefined : parseHost(values.host)

    const config = await loadGateConfig(configPath)
    const settings = {
      host: host ?? config.server?.host ?? '127.0.0.1',
      port: port ?? config.server?.port ?? 8080,
      runtime: runtime ?? config.server?.runtime ?? 'cloud',
    }

    const stop = stopSignal(io)
    try {
      const gate = await buildGate(config, dirname(resolve(configPath)))
      try {
        if (!(await untilStopped(waitForModels(gate), stop.signal))) return 0
        const server = await serveGate(gate, settings)
        const names = [...new Set(gate.models.all().map((m) => m.name))].join(', ')
        io.stdout(
          `modelgate listening on ${server.url} (${settings.runtime} runtime, models: ${names})\n`,
        )
        const signal = await stop.stopped
        io.stdout(`modelgate received ${signal}, shutting down\n`)
        await server.close()
        return 0
      } finally {
        await gate.close()
      }
    } finally {
      stop.dispose()
    }
  },
}

function parsePort(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`--port: expected an integer from 0 to 65535, got "${String(value)}"`)
  }
  return Number(value)
}

function parseRuntime(value: unknown): Runtime {
  if (!RUNTIMES.includes(value as Runtime)) {
    throw new ConfigError(
      `--runtime: expected one of ${RUNTIMES.join(', ')}, got "${String(value)}"`,
    )
  }
  return value as Runtime
}

function parseHost(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new ConfigError('--host: expected an address')
  return value
}

async function waitForModels(gate: Gate): Promise<void> {
  const results = await Promise.allSettled(gate.models.all().map((m) => m.load()))
  const failures = results.flatMap((r, i) => {
    if (r.status === 'fulfilled') return []
    const m = gate.models.all()[i]!
    const label = m.version === undefined ? `"${m.name}"` : `"${m.name}" version "${m.version}"`
    return [`model ${label} failed to load: ${messageOf(r.reason)}`]
  })
  if (failures.length) throw new CliError(failures.join('\n'), 1)
}

async function untilStopped(work: Promise<void>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  const aborted = new Promise<false>((resolve) => {
    signal.addEventListener('abort', () => resolve(false), { once: true })
  })
  return Promise.race([work.then(() => true as const), aborted])
}

function stopSignal(io: CommandIO): {
  signal: AbortSignal
  stopped: Promise<string>
  dispose(): void
} {
  const controller = new AbortController()
  let resolveStopped: (signal: string) => void = () => undefined
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve))
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      io.stderr(`modelgate received ${signal} again, exiting without waiting\n`)
      process.exit(1)
    }
    controller.abort(signal)
    resolveStopped(signal)
  }
  for (const s of SIGNALS) process.on(s, onSignal)
  return {
    signal: controller.signal,
    stopped,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, onSignal)
    },
  }
}

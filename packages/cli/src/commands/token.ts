import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { JwtAlgorithm } from '@modelgate/access'
import { importPackage } from '../config/modules.js'
import { ConfigError } from '../errors.js'
import {
  choiceOption,
  failure,
  inputLines,
  numberOption,
  positionals,
  stringOption,
} from './args.js'
import { DEV_USERS, issueDevToken, loadOrCreateDevKeys, type DevUser } from '../dev/index.js'
import { verifyTokenLines } from './token-lines.js'
import type { Command } from './types.js'

const USERS = Object.keys(DEV_USERS) as DevUser[]
const DEFAULT_KEYS = '.modelgate/dev-keys.json'

const access = (field: string) =>
  importPackage(() => import('@modelgate/access'), '@modelgate/access', field)

/**
 * `modelgate token issue --user applicant|underwriter|auditor|admin [--keys FILE|DIR] [--ttl S]`:
 * DEVELOPMENT ONLY. Prints a signed ES256 token for one of the credit-risk demo users, creating
 * the development key file (mode 0600) when it does not exist.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['token', 'issue', '--user', 'underwriter', '--keys', '.modelgate'])
 * ```
 */
export const tokenIssue: Command = {
  name: 'issue',
  summary: 'DEVELOPMENT ONLY: issue a token for a credit-risk demo user',
  usage: 'token issue --user applicant|underwriter|auditor|admin [--keys <file|dir>] [--ttl <s>]',
  description: [
    'DEVELOPMENT ONLY. Signs an ES256 token (issuer https://dev.modelgate.invalid, audience',
    'modelgate-dev, tenant demo-bank) with a development key kept in a local file, created with',
    'mode 0600 when missing. The public key set is the "jwks" member of that file (token verify',
    '--jwks reads it there). Refuses to run with NODE_ENV=production (in any case). Never use',
    'these keys or tokens outside development.',
    '',
    'Prints the token. Exit codes: 0 printed, 1 the key file cannot be used, 2 bad options.',
  ].join('\n'),
  options: {
    user: { type: 'string', value: USERS.join('|'), description: 'Demo user (required)' },
    keys: {
      type: 'string',
      value: 'file|dir',
      description: `Development key file, or a directory holding dev-keys.json (default ${DEFAULT_KEYS})`,
    },
    ttl: {
      type: 'string',
      value: 's',
      description: 'Lifetime in seconds, 1..86400 (default 3600)',
    },
  },
  async run({ values }, io) {
    const user = choiceOption(values, 'user', USERS, true)!
    const ttlSeconds = numberOption(values, 'ttl', { integer: true, min: 1, max: 86_400 })
    const keysFile = await keyFile(stringOption(values, 'keys') ?? DEFAULT_KEYS)
    try {
      const keys = await loadOrCreateDevKeys(keysFile)
      const token = await issueDevToken({
        user,
        keys,
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      })
      io.stdout(`${token}\n`)
      return 0
    } catch (error) {
      throw failure(error, 'token issue')
    }
  },
}

async function keyFile(path: string): Promise<string> {
  if (path.endsWith('/')) return join(path, 'dev-keys.json')
  try {
    if ((await stat(path)).isDirectory()) return join(path, 'dev-keys.json')
  } catch {
    // a file still to be created
  }
  return path
}

/**
 * `modelgate token verify --jwks FILE|URL --issuer ISS --audience AUD [--algorithms …]
 * [--clock-tolerance S] [--max-token-age S] [--now UNIX_SECONDS] [TOKEN]`: verifies the token,
 * or one token per stdin line, with the checks of the `authenticate` plugin, writing one JSON line
 * each. Exit 0 when all are valid, 1 otherwise, 2 for bad options.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['token', 'verify', '--jwks', 'jwks.json', '--issuer', 'https://idp', '--audience', 'api', token])
 * ```
 */
export const tokenVerify: Command = {
  name: 'verify',
  summary: 'Verify JWTs as the authenticate plugin does, one JSON line each',
  usage:
    'token verify --jwks <file|url> --issuer <iss> --audience <aud> [--algorithms <list>] [--clock-tolerance <s>] [--max-token-age <s>] [--now <unix-seconds>] [TOKEN]',
  description: [
    'Without TOKEN, reads one token per line from stdin (blank lines are skipped). For each it',
    'writes {"valid":true,"claims":{...}} or {"valid":false,"code":"...","message":"..."}.',
    'Same checks as the authenticate plugin (structural hardening, algorithm allowlist, key type,',
    'issuer, audience, exp/nbf/iat, required claims), without the token cache. The JWKS may hold',
    'oct keys for HS256/HS384/HS512, which are accepted only when listed in --algorithms.',
    '',
    'Exit codes: 0 all tokens valid, 1 at least one invalid, 2 bad options or unreadable JWKS.',
  ].join('\n'),
  positionals: true,
  options: {
    jwks: {
      type: 'string',
      value: 'file|url',
      description:
        'Key set: a JWKS file, the key file or directory of token issue --keys, or an https URL (http on loopback) (required)',
    },
    issuer: { type: 'string', value: 'iss', description: 'Expected "iss" (required)' },
    audience: {
      type: 'string',
      value: 'aud',
      description: 'Accepted "aud"; comma-separated for several (required)',
    },
    algorithms: {
      type: 'string',
      value: 'list',
      description: 'Comma-separated allowlist (default RS256,PS256,ES256,EdDSA)',
    },
    'clock-tolerance': {
      type: 'string',
      value: 's',
      description: 'Leeway for exp, nbf and iat, 0..60 (default 30)',
    },
    'max-token-age': {
      type: 'string',
      value: 's',
      description: 'Refuse tokens whose iat is older than this',
    },
    now: {
      type: 'string',
      value: 'unix-seconds',
      description: 'Verify as of this time (default now)',
    },
  },
  async run(args, io) {
    const { values } = args
    const [token] = positionals(args, 1)
    const jwksOption = stringOption(values, 'jwks', true)
    const jwks = /^https?:\/\//i.test(jwksOption) ? jwksOption : await keyFile(jwksOption)
    const issuer = stringOption(values, 'issuer', true)
    const audiences = stringOption(values, 'audience', true)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean)
    if (audiences.length === 0) throw new ConfigError('--audience: expected a value')
    const algorithms = stringOption(values, 'algorithms')
      ?.split(',')
      .map((a) => a.trim())
    const clockToleranceSeconds = numberOption(values, 'clock-tolerance', { min: 0, max: 60 })
    const maxTokenAgeSeconds = numberOption(values, 'max-token-age', { min: 1 })
    const now = numberOption(values, 'now', { min: 0 })
    const { JWT_ALGORITHMS } = await access('token verify')
    for (const alg of algorithms ?? []) {
      if (!JWT_ALGORITHMS.includes(alg as JwtAlgorithm)) {
        throw new ConfigError(
          `--algorithms: unknown algorithm "${alg}" (${JWT_ALGORITHMS.join(', ')})`,
        )
      }
    }

    let allValid = true
    try {
      for await (const line of verifyTokenLines(
        {
          jwks,
          issuer,
          audience: audiences.length === 1 ? audiences[0]! : audiences,
          ...(algorithms ? { algorithms: algorithms as JwtAlgorithm[] } : {}),
          ...(clockToleranceSeconds !== undefined ? { clockToleranceSeconds } : {}),
          ...(maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds } : {}),
          ...(now !== undefined ? { now } : {}),
        },
        inputLines(token),
      )) {
        if (!line.startsWith('{"valid":true')) allValid = false
        io.stdout(`${line}\n`)
      }
    } catch (error) {
      throw new ConfigError(`token verify: ${(error as Error).message}`, { cause: error })
    }
    return allValid ? 0 : 1
  },
}

/**
 * `modelgate token issue|verify`.
 *
 * @example
 * ```ts
 * token.subcommands?.map((c) => c.name) // ['issue', 'verify']
 * ```
 */
export const token: Command = {
  name: 'token',
  summary: 'Issue development tokens and verify JWTs',
  usage: 'token <issue|verify> [options]',
  options: {},
  subcommands: [tokenIssue, tokenVerify],
  async run() {
    return 2
  },
}

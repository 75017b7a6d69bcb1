import type { DecryptionKey, KeyManagementAlgorithm } from '@modelgate/crypto'
import { importPackage } from '../config/modules.js'
import { ConfigError } from '../errors.js'
import {
  choiceOption,
  failure,
  inputLines,
  listOption,
  numberOption,
  positionals,
  readInputBytes,
  readJson,
  stringOption,
} from './args.js'
import type { Command } from './types.js'

const KEY_ALGORITHMS: readonly KeyManagementAlgorithm[] = ['ECDH-ES+A256KW', 'RSA-OAEP-256', 'dir']

const crypto = (field: string) =>
  importPackage(() => import('@modelgate/crypto'), '@modelgate/crypto', field)

async function readJwk(file: string, option: string): Promise<Record<string, unknown>> {
  const jwk = await readJson(file, option)
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw new ConfigError(`${option}: ${file} does not hold a JWK object`)
  }
  return jwk as Record<string, unknown>
}

/**
 * `modelgate jwe decrypt --key JWK_FILE [--key JWK_FILE …] [--now UNIX_SECONDS] [--raw] [JWE]`:
 * opens compact JWEs with the decrypt plugin's policy, one JSON line each (with `--raw`, one JWE
 * and its plaintext itself); exit 0 when all opened.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['jwe', 'decrypt', '--key', 'gate.jwk.json', jwe])
 * ```
 */
export const jweDecrypt: Command = {
  name: 'decrypt',
  summary: 'Decrypt compact JWEs as the decrypt plugin does, one JSON line each',
  usage: 'jwe decrypt --key <jwk-file> [--key <jwk-file> ...] [--now <unix-seconds>] [--raw] [JWE]',
  description: [
    'Without JWE, reads one compact JWE per line from stdin (blank lines are skipped). For each',
    'it writes {"ok":true,"plaintext_b64":"..."} or {"ok":false,"code":"...","message":"..."}.',
    "Same policy as the decrypt plugin: each key's alg is bound to its kid, A256GCM only, size",
    'limit, and jti/iat freshness (a jti repeated within one run is jwe_replayed).',
    'With --raw it opens one JWE and writes its plaintext as it is (jwe encrypt in reverse); a',
    'refusal goes to stderr as "jwe decrypt: <code>: <message>".',
    '',
    'Exit codes: 0 all opened, 1 at least one refused, 2 bad options or unusable keys.',
  ].join('\n'),
  positionals: true,
  options: {
    key: {
      type: 'string',
      multiple: true,
      value: 'jwk-file',
      description: 'Private JWK with kid and alg; repeat for several (required)',
    },
    now: {
      type: 'string',
      value: 'unix-seconds',
      description: 'Check iat against this time (default now)',
    },
    raw: { type: 'boolean', description: 'Write the plaintext itself (one JWE only)' },
  },
  async run(args, io) {
    const [jwe] = positionals(args, 1)
    const files = listOption(args.values, 'key')
    if (files.length === 0) throw new ConfigError('missing --key <jwk-file>')
    const now = numberOption(args.values, 'now', { min: 0 })
    const keys = (await Promise.all(
      files.map((f) => readJwk(f, '--key')),
    )) as unknown as DecryptionKey[]
    const { createJweDecryptor, JweError } = await crypto('jwe decrypt')
    let open
    try {
      // A jti seen twice within one run counts as replayed, as it would at the gate.
      open = createJweDecryptor({ keys, ...(now !== undefined ? { clock: () => now * 1000 } : {}) })
    } catch (error) {
      throw new ConfigError(`jwe decrypt: ${(error as Error).message}`, { cause: error })
    }
    const refusal = (error: unknown) =>
      error instanceof JweError
        ? { code: error.code, message: error.message }
        : { code: 'jwe_error', message: 'the JWE could not be processed' }
    if (args.values.raw === true) {
      const lines: string[] = []
      for await (const text of inputLines(jwe)) if (text.trim() !== '') lines.push(text.trim())
      if (lines.length !== 1) throw new ConfigError(`--raw: takes one JWE, got ${lines.length}`)
      let plaintext: Uint8Array
      try {
        plaintext = (await open(lines[0]!)).plaintext
      } catch (error) {
        const { code, message } = refusal(error)
        io.stderr(`jwe decrypt: ${code}: ${message}\n`)
        return 1
      }
      if (io.stdoutBytes) io.stdoutBytes(plaintext)
      else io.stdout(new TextDecoder().decode(plaintext))
      return 0
    }
    let allOk = true
    for await (const text of inputLines(jwe)) {
      const line = text.trim()
      if (line === '') continue
      let out
      try {
        out = { ok: true, plaintext_b64: toBase64((await open(line)).plaintext) }
      } catch (error) {
        allOk = false
        out = { ok: false, ...refusal(error) }
      }
      io.stdout(`${JSON.stringify(out)}\n`)
    }
    return allOk ? 0 : 1
  },
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/**
 * `modelgate jwe encrypt --key JWK_FILE [--alg ALG] [--cty TYPE] [IN]`: encrypts a file (or
 * stdin) to the compact JWE a gate's decrypt plugin accepts.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['jwe', 'encrypt', '--key', 'gate.pub.jwk.json', 'request.json'])
 * ```
 */
export const jweEncrypt: Command = {
  name: 'encrypt',
  summary: 'Encrypt a request body to a compact JWE for a gate',
  usage: 'jwe encrypt --key <jwk-file> [--alg <alg>] [--cty <type>] [IN]',
  description: [
    "Encrypts the bytes of IN (default stdin) to the gate key: A256GCM, the key's alg and kid, a fresh jti",
    'and iat. Prints the compact JWE. --alg sets the algorithm of a JWK without "alg" (it must',
    'match when the JWK has one).',
    '',
    'Exit codes: 0 printed, 1 failure, 2 bad options or key.',
  ].join('\n'),
  positionals: true,
  options: {
    key: {
      type: 'string',
      value: 'jwk-file',
      description: 'Recipient JWK (public, or the oct key for dir) with kid (required)',
    },
    alg: {
      type: 'string',
      value: KEY_ALGORITHMS.join('|'),
      description: 'Key management algorithm',
    },
    cty: { type: 'string', value: 'type', description: 'Content type (default application/json)' },
  },
  async run(args, io) {
    const [input] = positionals(args, 1)
    const key = await readJwk(stringOption(args.values, 'key', true), '--key')
    const alg = choiceOption(args.values, 'alg', KEY_ALGORITHMS)
    if (alg !== undefined && key.alg !== undefined && key.alg !== alg) {
      throw new ConfigError(`--alg: the key is for ${String(key.alg)}, not ${alg}`)
    }
    if (alg !== undefined) key.alg = alg
    const cty = stringOption(args.values, 'cty')
    const plaintext = await readInputBytes(input ?? '-', input === undefined ? 'stdin' : 'IN')
    const { encryptJwe } = await crypto('jwe encrypt')
    try {
      const jwe = await encryptJwe({
        key: key as Parameters<typeof encryptJwe>[0]['key'],
        plaintext,
        ...(cty !== undefined ? { cty } : {}),
      })
      io.stdout(`${jwe}\n`)
      return 0
    } catch (error) {
      throw failure(error, 'jwe encrypt')
    }
  },
}

/**
 * `modelgate jwe decrypt|encrypt`.
 *
 * @example
 * ```ts
 * jwe.subcommands?.map((c) => c.name) // ['decrypt', 'encrypt']
 * ```
 */
export const jwe: Command = {
  name: 'jwe',
  summary: 'Decrypt and encrypt compact JWE payloads',
  usage: 'jwe <decrypt|encrypt> [options]',
  options: {},
  subcommands: [jweDecrypt, jweEncrypt],
  async run() {
    return 2
  },
}

import type { JwkAlgorithm, KeyProvider, KeyringFile, KeyringPurpose } from '@modelgate/crypto'
import { importPackage } from '../config/modules.js'
import { messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import {
  choiceOption,
  failure,
  numberOption,
  positionals,
  readInput,
  readJson,
  refuseOverwrite,
  stringOption,
  writeFileAtomic,
} from './args.js'
import type { Command, CommandArgs } from './types.js'

const JWK_ALGORITHMS: readonly JwkAlgorithm[] = [
  'ECDH-ES+A256KW',
  'RSA-OAEP-256',
  'dir',
  'ES256',
  'EdDSA',
]
const PURPOSES: readonly KeyringPurpose[] = ['aead', 'deterministic']

const crypto = (field: string) =>
  importPackage(() => import('@modelgate/crypto'), '@modelgate/crypto', field)

async function provider(
  values: CommandArgs['values'],
  defaultId: string | undefined,
): Promise<KeyProvider | undefined> {
  const file = stringOption(values, 'kek')
  const id = stringOption(values, 'kek-id') ?? defaultId ?? 'local'
  if (file === undefined) {
    if (values['kek-id'] !== undefined) throw new ConfigError('--kek-id needs --kek <file>')
    return undefined
  }
  const { localKeyProvider } = await crypto('--kek')
  try {
    return localKeyProvider({ id, key: (await readInput(file, '--kek')).trim() })
  } catch (error) {
    throw new ConfigError(`--kek: ${(error as Error).message}`, { cause: error })
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/**
 * `modelgate keys generate --alg ALG [--kid ID] [--out FILE] [--public-out FILE]` makes a JWK
 * pair; `modelgate keys generate --keyring aead|deterministic [--kek FILE] [--out FILE]` a
 * keyring file. Private material is written with mode 0600.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['keys', 'generate', '--alg', 'ECDH-ES+A256KW', '--kid', 'gate-1', '--out', 'gate.jwk.json'])
 * ```
 */
export const keysGenerate: Command = {
  name: 'generate',
  summary: 'Generate a JWK pair or a keyring file',
  usage:
    'keys generate (--alg <alg> [--kid <id>] | --keyring aead|deterministic [--kek <file>] [--kek-id <id>]) [--out <file>] [--public-out <file>] [--force]',
  description: [
    'With --alg: a JWK pair with kid (default: the RFC 7638 thumbprint), alg and use.',
    'ECDH-ES+A256KW and ES256 use P-256, RSA-OAEP-256 3072-bit RSA, EdDSA Ed25519, dir a',
    '256-bit secret. --out writes the private JWK (mode 0600) and --public-out the public one;',
    'without --out both are printed as {"privateJwk":...,"publicJwk":...}.',
    '',
    'With --keyring: a keyring file with one primary key, its material wrapped by the key',
    'encryption key in --kek (32 bytes, base64url) when given. Written to --out (mode 0600) or',
    'printed.',
    '',
    'Exit codes: 0 written, 1 failure, 2 bad options.',
  ].join('\n'),
  options: {
    alg: { type: 'string', value: JWK_ALGORITHMS.join('|'), description: 'Key algorithm' },
    kid: { type: 'string', value: 'id', description: 'Key id (default: the JWK thumbprint)' },
    keyring: {
      type: 'string',
      value: PURPOSES.join('|'),
      description: 'Make a keyring file for field encryption instead',
    },
    kek: {
      type: 'string',
      value: 'file',
      description: 'Key encryption key (base64url of 32 bytes) wrapping keyring keys',
    },
    'kek-id': { type: 'string', value: 'id', description: 'Id recorded for --kek (default local)' },
    out: { type: 'string', value: 'file', description: 'Private JWK or keyring file (mode 0600)' },
    'public-out': { type: 'string', value: 'file', description: 'Public JWK file' },
    force: { type: 'boolean', description: 'Replace existing files at --out and --public-out' },
  },
  async run({ values }, io) {
    const alg = choiceOption(values, 'alg', JWK_ALGORITHMS)
    const purpose = choiceOption(values, 'keyring', PURPOSES)
    const out = stringOption(values, 'out')
    if ((alg === undefined) === (purpose === undefined)) {
      throw new ConfigError('give exactly one of --alg <alg> or --keyring <purpose>')
    }
    await refuseOverwrite(
      [out, stringOption(values, 'public-out')],
      values.force === true,
      'keys generate',
    )
    const { generateJwk, Keyring, serializeKeyring } = await crypto('keys generate')
    if (purpose !== undefined) {
      for (const flag of ['kid', 'public-out']) {
        if (values[flag] !== undefined) throw new ConfigError(`--${flag} is for --alg keys`)
      }
      const file = await serializeKeyring(
        Keyring.generate(purpose),
        await provider(values, undefined),
      )
      if (out === undefined) io.stdout(json(file))
      else await writeFileAtomic(out, json(file), 0o600)
      return 0
    }
    for (const flag of ['kek', 'kek-id']) {
      if (values[flag] !== undefined) throw new ConfigError(`--${flag} is for --keyring`)
    }
    const publicOut = stringOption(values, 'public-out')
    if (publicOut !== undefined && out === undefined) {
      throw new ConfigError('--public-out needs --out <file> for the private key')
    }
    let pair
    try {
      pair = await generateJwk(alg!, stringOption(values, 'kid'))
    } catch (error) {
      throw failure(error, 'keys generate')
    }
    if (out === undefined) {
      io.stdout(json(pair))
      return 0
    }
    await writeFileAtomic(out, json(pair.privateJwk), 0o600)
    if (publicOut !== undefined) await writeFileAtomic(publicOut, json(pair.publicJwk))
    return 0
  },
}

/**
 * `modelgate keys rotate KEYRING_FILE [--stage] [--promote ID] [--kek FILE] [--out FILE]`:
 * adds a key to a keyring file and makes it primary (or only stages it, or promotes a staged one).
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['keys', 'rotate', 'fields.keyring.json', '--stage'])
 * ```
 */
export const keysRotate: Command = {
  name: 'rotate',
  summary: 'Rotate a keyring file without downtime',
  usage:
    'keys rotate <keyring-file> [--stage | --promote <id>] [--kek <file>] [--kek-id <id>] [--out <file>]',
  description: [
    'Default: adds a fresh key and makes it primary; the old primary stays for decryption.',
    'Without downtime across replicas: --stage adds the key as decrypt-only, deploy the file to',
    'every replica, then --promote <id> makes it primary. The file is rewritten in place (mode',
    '0600) unless --out names another. Wrapped keyrings need their --kek (its id defaults to the',
    'one the file records).',
    '',
    'Exit codes: 0 written, 1 the keyring cannot be read or rotated, 2 bad options.',
  ].join('\n'),
  positionals: true,
  options: {
    stage: { type: 'boolean', description: 'Add the new key without making it primary' },
    promote: { type: 'string', value: 'id', description: 'Make this staged key primary' },
    kek: { type: 'string', value: 'file', description: 'Key encryption key of a wrapped keyring' },
    'kek-id': { type: 'string', value: 'id', description: "Id of --kek (default: the file's)" },
    out: { type: 'string', value: 'file', description: 'Write here instead of in place' },
  },
  async run(args) {
    const [file] = positionals(args, 1)
    if (file === undefined) throw new ConfigError('missing <keyring-file>')
    const promote = numberOption(args.values, 'promote', { integer: true, min: 0 })
    const stage = args.values.stage === true
    if (stage && promote !== undefined) throw new ConfigError('give --stage or --promote, not both')
    const keyring = (await readJson(file, 'keyring')) as KeyringFile
    const kek = await provider(
      args.values,
      typeof keyring?.kek === 'string' ? keyring.kek : undefined,
    )
    const { parseKeyring, serializeKeyring } = await crypto('keys rotate')
    let next
    try {
      // --promote makes a staged key primary, --stage adds a decrypt-only key, else both at once.
      const ring = await parseKeyring(keyring, kek)
      const rotated =
        promote !== undefined ? ring.promote(promote) : stage ? ring.addKey() : ring.rotate()
      next = await serializeKeyring(rotated, kek)
    } catch (error) {
      throw new CliError(`keys rotate: ${file}: ${messageOf(error)}`, 1, { cause: error })
    }
    await writeFileAtomic(stringOption(args.values, 'out') ?? file, json(next), 0o600)
    return 0
  },
}

/**
 * `modelgate keys generate|rotate`.
 *
 * @example
 * ```ts
 * keys.subcommands?.map((c) => c.name) // ['generate', 'rotate']
 * ```
 */
export const keys: Command = {
  name: 'keys',
  summary: 'Generate JWKs and keyrings, rotate keyrings',
  usage: 'keys <generate|rotate> [options]',
  options: {},
  subcommands: [keysGenerate, keysRotate],
  async run() {
    return 2
  },
}

import { mkdir } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { importPackage, messageOf } from '../config/modules.js'
import { CliError, ConfigError } from '../errors.js'
import {
  choiceOption,
  failure,
  listOption,
  numberOption,
  positionals,
  readInput,
  stringOption,
  refuseOverwrite,
  writeFileAtomic,
} from './args.js'
import type { Command } from './types.js'

const KEY_BITS = ['2048', '3072', '4096'] as const
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

const crypto = (field: string) =>
  importPackage(() => import('@modelgate/crypto/node'), '@modelgate/crypto/node', field)

async function outDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new CliError(`cannot create ${dir}: ${messageOf(error)}`, 1, { cause: error })
  }
}

/**
 * `modelgate ca init --out DIR [--cn NAME] [--org ORG] [--days N] [--key-bits BITS]`: a new CA
 * for mTLS between gates, written as `DIR/ca.crt` and `DIR/ca.key` (mode 0600).
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['ca', 'init', '--out', 'pki', '--cn', 'acme modelgate CA'])
 * ```
 */
export const caInit: Command = {
  name: 'init',
  summary: 'Create a certificate authority for mTLS between gates',
  usage:
    'ca init --out <dir> [--cn <name>] [--org <org>] [--days <n>] [--key-bits 2048|3072|4096] [--force]',
  description: [
    'Writes <dir>/ca.crt (certificate) and <dir>/ca.key (private key, mode 0600): RSA (3072 bits',
    'by default), SHA-256, basicConstraints critical with pathLen 0. An existing CA is never',
    'replaced (its certificates would stop verifying) unless --force is given.',
    '',
    'Exit codes: 0 written, 1 failure, 2 bad options.',
  ].join('\n'),
  options: {
    out: { type: 'string', value: 'dir', description: 'Output directory (required)' },
    cn: { type: 'string', value: 'name', description: 'Common name (default "modelgate CA")' },
    org: { type: 'string', value: 'org', description: 'Organization' },
    days: { type: 'string', value: 'n', description: 'Validity in days (default 3650)' },
    'key-bits': { type: 'string', value: KEY_BITS.join('|'), description: 'RSA key size' },
    force: { type: 'boolean', description: 'Replace an existing CA in <dir>' },
  },
  async run({ values }, io) {
    const dir = stringOption(values, 'out', true)
    await refuseOverwrite(
      [join(dir, 'ca.key'), join(dir, 'ca.crt')],
      values.force === true,
      'ca init',
    )
    const days = numberOption(values, 'days', { integer: true, min: 1, max: 36_500 })
    const bits = choiceOption(values, 'key-bits', KEY_BITS)
    const org = stringOption(values, 'org')
    const { createCa } = await crypto('ca init')
    let ca
    try {
      ca = await createCa({
        commonName: stringOption(values, 'cn') ?? 'modelgate CA',
        ...(org !== undefined ? { organization: org } : {}),
        ...(days !== undefined ? { validityDays: days } : {}),
        ...(bits !== undefined ? { keyBits: Number(bits) as 2048 } : {}),
      })
    } catch (error) {
      throw failure(error, 'ca init')
    }
    await outDir(dir)
    await writeFileAtomic(join(dir, 'ca.key'), ca.keyPem, 0o600)
    await writeFileAtomic(join(dir, 'ca.crt'), ca.certPem)
    io.stdout(`wrote ${join(dir, 'ca.crt')} and ${join(dir, 'ca.key')}\n`)
    return 0
  },
}

/**
 * `modelgate ca issue --server|--client --ca DIR --name NAME [--san …] --out DIR`: a leaf
 * certificate signed by the CA in `DIR`, written as `<out>/<name>.crt` and `<out>/<name>.key`.
 *
 * @example
 * ```ts
 * import { runCli } from '@modelgate/cli'
 *
 * await runCli(['ca', 'issue', '--server', '--ca', 'pki', '--name', 'cloud-gate', '--san', 'cloud-gate.internal', '--out', 'pki'])
 * ```
 */
export const caIssue: Command = {
  name: 'issue',
  summary: 'Issue a server or client certificate from a CA directory',
  usage:
    'ca issue --server|--client --ca <dir> --name <name> [--san <name> ...] [--org <org>] [--days <n>] [--key-bits 2048|3072|4096] --out <dir>',
  description: [
    'Reads <ca>/ca.crt and <ca>/ca.key and writes <out>/<name>.crt and <out>/<name>.key (mode',
    '0600). --name is the common name and the file name. Each --san is a DNS name, an IP address,',
    'or a URI (spiffe://...); a prefix DNS:, IP: or URI: forces the kind. Server certificates',
    'get serverAuth, client certificates clientAuth; the default validity is 397 days, capped at',
    "the CA's.",
    '',
    'Exit codes: 0 written, 1 failure, 2 bad options or an unreadable CA.',
  ].join('\n'),
  options: {
    server: { type: 'boolean', description: 'A server certificate (serverAuth)' },
    client: { type: 'boolean', description: 'A client certificate (clientAuth)' },
    ca: { type: 'string', value: 'dir', description: 'CA directory from "ca init" (required)' },
    name: { type: 'string', value: 'name', description: 'Common name and file name (required)' },
    san: {
      type: 'string',
      multiple: true,
      value: 'name',
      description: 'Subject alternative name; repeat for several',
    },
    org: { type: 'string', value: 'org', description: 'Organization' },
    days: { type: 'string', value: 'n', description: 'Validity in days (default 397)' },
    'key-bits': { type: 'string', value: KEY_BITS.join('|'), description: 'RSA key size' },
    out: { type: 'string', value: 'dir', description: 'Output directory (required)' },
  },
  async run(args, io) {
    const { values } = args
    positionals(args, 0)
    if ((values.server === true) === (values.client === true)) {
      throw new ConfigError('give exactly one of --server or --client')
    }
    const caDir = stringOption(values, 'ca', true)
    const name = stringOption(values, 'name', true)
    if (!NAME.test(name)) throw new ConfigError(`--name: expected a name matching ${NAME}`)
    const dir = stringOption(values, 'out', true)
    const days = numberOption(values, 'days', { integer: true, min: 1, max: 36_500 })
    const bits = choiceOption(values, 'key-bits', KEY_BITS)
    const org = stringOption(values, 'org')
    const sans = { dnsNames: [] as string[], ipAddresses: [] as string[], uris: [] as string[] }
    for (const san of listOption(values, 'san')) {
      const [, kind, value] = /^(DNS|IP|URI):(.+)$/i.exec(san) ?? [undefined, undefined, san]
      const k = kind?.toUpperCase()
      if (k === 'IP' || (k === undefined && isIP(value!))) {
        if (!isIP(value!)) throw new ConfigError(`--san: not an IP address: ${value}`)
        sans.ipAddresses.push(value!)
      } else if (k === 'URI' || (k === undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(value!))) {
        sans.uris.push(value!)
      } else sans.dnsNames.push(value!)
    }
    const ca = {
      certPem: await readInput(join(caDir, 'ca.crt'), '--ca'),
      keyPem: await readInput(join(caDir, 'ca.key'), '--ca'),
    }
    const { issueCertificate } = await crypto('ca issue')
    let cert
    try {
      cert = await issueCertificate(ca, {
        kind: values.server === true ? 'server' : 'client',
        commonName: name,
        ...(org !== undefined ? { organization: org } : {}),
        ...(sans.dnsNames.length ? { dnsNames: sans.dnsNames } : {}),
        ...(sans.ipAddresses.length ? { ipAddresses: sans.ipAddresses } : {}),
        ...(sans.uris.length ? { uris: sans.uris } : {}),
        ...(days !== undefined ? { validityDays: days } : {}),
        ...(bits !== undefined ? { keyBits: Number(bits) as 2048 } : {}),
      })
    } catch (error) {
      throw failure(error, 'ca issue')
    }
    await outDir(dir)
    await writeFileAtomic(join(dir, `${name}.key`), cert.keyPem, 0o600)
    await writeFileAtomic(join(dir, `${name}.crt`), cert.certPem)
    io.stdout(`wrote ${join(dir, `${name}.crt`)} and ${join(dir, `${name}.key`)}\n`)
    return 0
  },
}

/**
 * `modelgate ca init|issue`.
 *
 * @example
 * ```ts
 * ca.subcommands?.map((c) => c.name) // ['init', 'issue']
 * ```
 */
export const ca: Command = {
  name: 'ca',
  summary: 'A small PKI for mTLS between edge and cloud gates',
  usage: 'ca <init|issue> [options]',
  options: {},
  subcommands: [caInit, caIssue],
  async run() {
    return 2
  },
}

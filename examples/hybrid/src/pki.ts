import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateJwk } from '@modelgate/crypto'
import { createCa, issueCertificate } from '@modelgate/crypto/node'

type JWK = Awaited<ReturnType<typeof generateJwk>>['privateJwk']

/**
 * Keys and certificates of the demo's edge → cloud hop, as PEM text and JWKs.
 *
 * @example
 * ```ts
 * const pki = await readDemoPki(dir)
 * pki.edge.certPem
 * ```
 */
export interface DemoPki {
  /** The demo CA's certificate (the CA key is not kept). */
  caPem: string
  /** The cloud gate's server certificate (`localhost`, `127.0.0.1`) and key. */
  cloud: { certPem: string; keyPem: string }
  /** The edge gate's client certificate (`spiffe://modelgate-demo/edge-1`) and key. */
  edge: { certPem: string; keyPem: string }
  /** The cloud gate's JWE key pair (`ECDH-ES+A256KW`, kid `cloud-1`). */
  jwe: { privateJwk: JWK; publicJwk: JWK }
}

const FILES = {
  caPem: 'ca.pem',
  cloudCert: 'cloud-cert.pem',
  cloudKey: 'cloud-key.pem',
  edgeCert: 'edge-cert.pem',
  edgeKey: 'edge-key.pem',
  jwePrivate: 'cloud-jwe.private.json',
  jwePublic: 'cloud-jwe.public.json',
} as const

/**
 * Makes the demo's PKI with `createCa` / `issueCertificate` (what `modelgate ca init|issue` run)
 * and the cloud's JWE key, and writes them into a new temporary directory (private keys with mode
 * 0600). Nothing of it is committed: every start makes a new one. Remove the directory with
 * {@link removeDemoPki}.
 *
 * @example
 * ```ts
 * const dir = await createDemoPki()
 * const cloud = await spawnCloud({ pkiDir: dir })
 * ```
 */
export async function createDemoPki(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-hybrid-pki-'))
  const ca = await createCa({ commonName: 'modelgate hybrid demo CA', keyBits: 2048 })
  const [cloud, edge, jwe] = await Promise.all([
    issueCertificate(ca, {
      kind: 'server',
      commonName: 'cloud-gate',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    }),
    issueCertificate(ca, {
      kind: 'client',
      commonName: 'edge-1',
      uris: ['spiffe://modelgate-demo/edge-1'],
    }),
    generateJwk('ECDH-ES+A256KW', 'cloud-1'),
  ])
  const put = async (name: string, text: string, secret = false) => {
    await writeFile(join(dir, name), text, { mode: secret ? 0o600 : 0o644 })
    if (secret) await chmod(join(dir, name), 0o600)
  }
  await put(FILES.caPem, ca.certPem)
  await put(FILES.cloudCert, cloud.certPem)
  await put(FILES.cloudKey, cloud.keyPem, true)
  await put(FILES.edgeCert, edge.certPem)
  await put(FILES.edgeKey, edge.keyPem, true)
  await put(FILES.jwePrivate, JSON.stringify(jwe.privateJwk), true)
  await put(FILES.jwePublic, JSON.stringify(jwe.publicJwk))
  return dir
}

/**
 * Reads what {@link createDemoPki} wrote.
 *
 * @example
 * ```ts
 * const { caPem, edge, jwe } = await readDemoPki(process.env.PKI_DIR!)
 * ```
 */
export async function readDemoPki(dir: string): Promise<DemoPki> {
  const read = (name: string) => readFile(join(dir, name), 'utf8')
  const [caPem, cloudCert, cloudKey, edgeCert, edgeKey, jwePrivate, jwePublic] = await Promise.all(
    Object.values(FILES).map(read),
  )
  return {
    caPem: caPem!,
    cloud: { certPem: cloudCert!, keyPem: cloudKey! },
    edge: { certPem: edgeCert!, keyPem: edgeKey! },
    jwe: { privateJwk: JSON.parse(jwePrivate!), publicJwk: JSON.parse(jwePublic!) },
  }
}

/**
 * Deletes a directory made by {@link createDemoPki}.
 *
 * @example
 * ```ts
 * await removeDemoPki(dir)
 * ```
 */
export async function removeDemoPki(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

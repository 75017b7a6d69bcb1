import type { GateContext, Principal } from '@modelgate/core'
import type { ClientCertificate, MtlsOptions } from './types.js'

/** The registered symbol under which `@modelgate/express` attaches the verified peer certificate. */
const PEER_CERTIFICATE = Symbol.for('modelgate.peerCertificate')

interface PeerCertificateLike {
  subject?: Record<string, string | string[]>
  subjectaltname?: string
  fingerprint256?: string
}

/**
 * The client certificate that the Express adapter verified and attached to the request, in the
 * neutral {@link ClientCertificate} shape; `undefined` when there is none.
 *
 * @example
 * ```ts
 * const cert = peerCertificateFromRequest(ctx.request)
 * if (cert) console.log(cert.subject.CN, cert.sans, cert.fingerprint256)
 * ```
 */
export function peerCertificateFromRequest(request: Request): ClientCertificate | undefined {
  const peer = (request as unknown as Record<symbol, PeerCertificateLike | undefined>)[
    PEER_CERTIFICATE
  ]
  if (
    !peer ||
    typeof peer !== 'object' ||
    typeof peer.fingerprint256 !== 'string' ||
    peer.fingerprint256 === ''
  )
    return undefined
  const subject: Record<string, string> = {}
  for (const [k, v] of Object.entries(peer.subject ?? {}))
    subject[k] = Array.isArray(v) ? v.join('+') : String(v)
  const sans = (peer.subjectaltname ?? '')
    .split(/,\s*/)
    .map((s) => s.trim())
    .filter(Boolean)
  return { subject, sans, fingerprint256: peer.fingerprint256.toUpperCase() }
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i]
    } else if (c === '"') {
      quoted = !quoted
      cur += c
    } else if (c === sep && !quoted) {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  if (quoted) throw new SyntaxError('unbalanced quotes')
  out.push(cur)
  return out
}

function unquote(v: string): string {
  const t = v.trim()
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t
}

function parseDn(dn: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of dn.split(/(?<!\\),/)) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    out[part.slice(0, eq).trim()] = part
      .slice(eq + 1)
      .trim()
      .replace(/\\(.)/g, '$1')
  }
  return out
}

/**
 * Parses an Envoy-style `x-forwarded-client-cert` value holding exactly one element
 * (`Hash=<sha256 hex>;Subject="CN=…";URI=…;DNS=…`). Several elements (a chain of proxies that
 * appended instead of replacing) are refused as ambiguous.
 *
 * @example
 * ```ts
 * parseForwardedClientCert('Hash=ab12…;Subject="CN=scorer,O=Acme";URI=spiffe://acme/scorer')
 * ```
 */
export function parseForwardedClientCert(value: string): ClientCertificate | undefined {
  if (value.length > 16_384) return undefined
  let elements: string[]
  try {
    elements = splitOutsideQuotes(value, ',')
  } catch {
    return undefined
  }
  if (elements.length !== 1) return undefined
  const sans: string[] = []
  let hash: string | undefined
  let subject: Record<string, string> = {}
  for (const pair of splitOutsideQuotes(elements[0]!, ';')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const key = pair.slice(0, eq).trim().toLowerCase()
    const v = unquote(pair.slice(eq + 1))
    if (key === 'hash') hash = v
    else if (key === 'subject') subject = parseDn(v)
    else if (key === 'uri') sans.push(`URI:${v}`)
    else if (key === 'dns') sans.push(`DNS:${v}`)
  }
  if (!hash || !/^[0-9a-fA-F]{64}$/.test(hash)) return undefined
  const fingerprint256 = hash.toUpperCase().match(/../g)!.join(':')
  return { subject, sans, fingerprint256 }
}

/** Default mapping: id from the first URI SAN (SPIFFE ids), else the subject CN. */
export function defaultCertificatePrincipal(
  cert: ClientCertificate,
): Partial<Principal> | undefined {
  const uri = cert.sans.find((s) => s.startsWith('URI:'))
  const id = uri ? uri.slice(4) : cert.subject.CN
  return id ? { id } : undefined
}

/** @internal Reads the certificate of a request: the adapter's peer certificate, else the header. */
export function clientCertificateOf(
  ctx: GateContext,
  options: MtlsOptions,
): ClientCertificate | undefined {
  const peer = peerCertificateFromRequest(ctx.request)
  if (peer) return peer
  if (!options.header) return undefined
  const raw = ctx.requestHeaders.get(options.header)
  return raw ? parseForwardedClientCert(raw) : undefined
}

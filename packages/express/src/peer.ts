import type { DetailedPeerCertificate } from 'node:tls'

/**
 * Property under which the adapter stores the verified TLS client certificate on the Web
 * `Request` it builds. It is a registered symbol, so a plugin can read it without importing this
 * package: `request[Symbol.for('modelgate.peerCertificate')]`.
 *
 * @example
 * ```ts
 * const cert = (ctx.request as any)[PEER_CERTIFICATE]
 * ```
 */
export const PEER_CERTIFICATE: unique symbol = Symbol.for('modelgate.peerCertificate') as never

/**
 * The client certificate of a request that arrived over mutual TLS and passed verification
 * (`socket.authorized`), as `tls.TLSSocket#getPeerCertificate(true)` reports it; `undefined` for
 * plain HTTP, for TLS without a client certificate, and for certificates that failed verification.
 *
 * @example
 * ```ts
 * const requireClientCert: Plugin = async function requireClientCert(ctx, next) {
 *   const cert = peerCertificateOf(ctx.request)
 *   if (!cert) throw new UnauthorizedError('client certificate required')
 *   ctx.principal = { id: cert.subject.CN, kind: 'mtls', roles: [], scopes: [] }
 *   await next()
 * }
 * ```
 */
export function peerCertificateOf(request: Request): DetailedPeerCertificate | undefined {
  return (request as unknown as Record<symbol, DetailedPeerCertificate | undefined>)[
    PEER_CERTIFICATE
  ]
}

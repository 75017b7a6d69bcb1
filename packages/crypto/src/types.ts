import type { KeyValueStore, Principal } from '@modelgate/core'
import type { JWK } from 'jose'

declare module '@modelgate/core' {
  interface GateFacts {
    /** How the request body was encrypted (set by `decrypt`); never key material. */
    encryption?: { alg: KeyManagementAlgorithm; kid: string; jti?: string }
    /** How the answer was sealed (set by `encrypt`). */
    responseEncryption?: { alg: KeyManagementAlgorithm; kid: string }
    /** Id of the authenticated principal (here: the subject of a nested JWT). */
    principal?: string
    /** How the principal was authenticated (`nested_jwt` here). */
    authMethod?: string
    /** Why authentication failed (a token error code). */
    authFailure?: string
  }
}

/**
 * JWE key management algorithms this package accepts. RSA1_5, RSA-OAEP (SHA-1), AES-KW with a
 * shared key, ECDH-ES without key wrapping and every PBES2 variant are refused.
 *
 * @example
 * ```ts
 * const alg: KeyManagementAlgorithm = 'ECDH-ES+A256KW'
 * ```
 */
export type KeyManagementAlgorithm = 'ECDH-ES+A256KW' | 'RSA-OAEP-256' | 'dir'

/**
 * The only JWE content encryption this package produces or accepts.
 *
 * @example
 * ```ts
 * const enc: ContentEncryptionAlgorithm = 'A256GCM'
 * ```
 */
export type ContentEncryptionAlgorithm = 'A256GCM'

/**
 * Response signature algorithms.
 *
 * @example
 * ```ts
 * const alg: SignatureAlgorithm = 'EdDSA'
 * ```
 */
export type SignatureAlgorithm = 'ES256' | 'EdDSA'

/**
 * A private JWE decryption key of the gate. `kid` and `alg` are required: a JWE is decrypted only
 * with the key its `kid` names and only under that key's `alg`.
 *
 * @example
 * ```ts
 * const key: DecryptionKey = { kty: 'EC', crv: 'P-256', x: '…', y: '…', d: '…', kid: 'gate-2024-06', alg: 'ECDH-ES+A256KW' }
 * ```
 */
export type DecryptionKey = JWK & { kid: string; alg: KeyManagementAlgorithm }

/**
 * Replay protection for encrypted requests: the protected header must carry `jti` and `iat`,
 * `iat` must lie within `windowSeconds` of the gate's clock, and a `jti` is accepted once.
 *
 * @example
 * ```ts
 * const replay: ReplayOptions = { store: new MemoryStore(), windowSeconds: 120 }
 * ```
 */
export interface ReplayOptions {
  /** Where seen `jti`s are kept; a `MemoryStore` by default (use a shared store with replicas). */
  store?: KeyValueStore
  /** Allowed distance between `iat` and the gate's clock. Default 300 s. */
  windowSeconds?: number
}

/**
 * What a nested JWT verifier returns; `createJwtVerifier` from `@modelgate/access` fits.
 *
 * @example
 * ```ts
 * const verified: NestedJwtResult = { principal: { id: 'u1', kind: 'jwt', roles: [], scopes: [] }, claims: { body: {} } }
 * ```
 */
export interface NestedJwtResult {
  principal: Principal
  claims: Record<string, unknown>
}

/**
 * Handling of a JWE whose content is a signed JWT (`cty: "JWT"`).
 *
 * @example
 * ```ts
 * import { createJwtVerifier } from '@modelgate/access'
 * const nestedJwt: NestedJwtOptions = { verifier: createJwtVerifier(jwtOptions), bodyClaim: 'req' }
 * ```
 */
export interface NestedJwtOptions {
  /** Verifies the inner JWS (signature, issuer, audience, expiry, its own replay rules). */
  verifier: { verify(token: string): Promise<NestedJwtResult> }
  /** Claim holding the request body (a JSON object). Default `body`. */
  bodyClaim?: string
}

/**
 * Options of the {@link decrypt} plugin.
 *
 * @example
 * ```ts
 * const options: DecryptOptions = { keys: [gateKey], replay: { windowSeconds: 120 } }
 * ```
 */
export interface DecryptOptions {
  /** Private keys, each with a unique `kid` and its `alg`. At least one. */
  keys: DecryptionKey[]
  /** Accepted key management algorithms. Default: all three. */
  algorithms?: KeyManagementAlgorithm[]
  /** Largest JWE in bytes, checked before any cryptography. Default 1 MiB. */
  maxBytes?: number
  /** Replay protection; `false` turns it off (not recommended). */
  replay?: ReplayOptions | false
  /** Refuse plaintext bodies on `predict` and `explain`. Default true. */
  required?: boolean
  /** Accept nested JWTs (JWS inside the JWE); refused when absent. */
  nestedJwt?: NestedJwtOptions
  /**
   * Refuse JWEs whose protected header does not name the request they were sealed for (`htm`:
   * HTTP method, `htp`: path as the gate sees it, e.g. `/v2/models/credit/versions/2/infer`).
   * When the header names them they must always match; this makes them mandatory. Default false
   * (JWEs from senders that do not bind, e.g. generic JOSE libraries, are accepted).
   */
  requireBinding?: boolean
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number
}

/**
 * What the {@link decrypt} plugin leaves in `ctx.state` under {@link DECRYPTED_REQUEST} for the
 * {@link encrypt} plugin: never key material.
 *
 * @example
 * ```ts
 * const info = ctx.state.get(DECRYPTED_REQUEST) as DecryptedRequest | undefined
 * ```
 */
export interface DecryptedRequest {
  kid: string
  alg: KeyManagementAlgorithm
  jti?: string
  iat?: number
  /** The client's public key for the response, from the `rjwk` header. */
  responseKey?: JWK
  /** The registered client key named by the `rkid` header. */
  responseKeyId?: string
}

/**
 * Options of the {@link encrypt} plugin.
 *
 * @example
 * ```ts
 * const options: EncryptOptions = { clientKeys: [partnerPublicKey], allowEphemeral: true }
 * ```
 */
export interface EncryptOptions {
  /**
   * Registered client public keys (each with `kid`), or a lookup by `kid`; a request names its
   * key with the `rkid` protected header.
   */
  clientKeys?: JWK[] | ((kid: string) => Promise<JWK | undefined>)
  /** Accept a public key sent in the request's protected `rjwk` header. Default true. */
  allowEphemeral?: boolean
}

/**
 * Options of the {@link sign} plugin.
 *
 * @example
 * ```ts
 * const options: SignOptions = { key: { ...privateJwk, kid: 'sig-1', alg: 'EdDSA' } }
 * ```
 */
export interface SignOptions {
  /** Private signing JWK with `kid` and `alg` (`ES256` on P-256, `EdDSA` on Ed25519). */
  key: JWK & { kid: string; alg: SignatureAlgorithm }
  /** Response header carrying the compact detached JWS. Default `x-modelgate-signature`. */
  header?: string
  /** Seconds since the epoch for `iat`. Default from `Date.now`. */
  clock?: () => number
}

/**
 * Claims a verified response signature asserts (from its protected header).
 *
 * @example
 * ```ts
 * const v: VerifiedSignature = { kid: 'sig-1', alg: 'EdDSA', requestId: 'r-1', clientRequestId: 'c-1', status: 200, issuedAt: 1718000000, method: 'POST', path: '/v2/models/m/infer' }
 * ```
 */
export interface VerifiedSignature {
  kid: string
  alg: SignatureAlgorithm
  /** The gate's id of the request it answered (`x-request-id` of the answer). */
  requestId: string
  /** The `x-request-id` the client sent, when it sent a valid one. */
  clientRequestId?: string
  status: number
  issuedAt: number
  /** HTTP method of the request the gate answered. */
  method: string
  /** Path of the request the gate answered, as the gate saw it. */
  path: string
}

/**
 * State of a keyring key, as in Tink: the `primary` encrypts, `enabled` keys only decrypt,
 * `disabled` keys do neither (kept so that they can be re-enabled).
 *
 * @example
 * ```ts
 * const s: KeyStatus = 'enabled'
 * ```
 */
export type KeyStatus = 'primary' | 'enabled' | 'disabled'

/**
 * What a keyring's keys are for: `aead` (AES-256-GCM, random IV) or `deterministic` (equal
 * inputs give equal ciphertexts, for joinable fields).
 *
 * @example
 * ```ts
 * const p: KeyringPurpose = 'deterministic'
 * ```
 */
export type KeyringPurpose = 'aead' | 'deterministic'

/**
 * Public facts about one keyring key (never its material).
 *
 * @example
 * ```ts
 * const info: KeyInfo = { id: 0x1a2b3c4d, status: 'primary', createdAt: '2024-06-01T00:00:00.000Z' }
 * ```
 */
export interface KeyInfo {
  /** 32-bit key id, written into every ciphertext. */
  id: number
  status: KeyStatus
  createdAt: string
}

/**
 * A key-encryption key service (a KMS, an HSM, a file): wraps and unwraps data keys
 * (envelope encryption). Implementations never return or log the key-encryption key.
 *
 * @example
 * ```ts
 * const provider: KeyProvider = {
 *   id: 'kms://projects/p/keys/k1',
 *   wrap: (dataKey, aad) => kms.encrypt(dataKey, aad),
 *   unwrap: (wrapped, aad) => kms.decrypt(wrapped, aad),
 * }
 * ```
 */
export interface KeyProvider {
  /** Names the key-encryption key; stored beside wrapped keys. */
  readonly id: string
  wrap(dataKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array>
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>
}

/**
 * The JSON layout of a keyring file. Key material is either `material` (base64url, plaintext:
 * protect the file) or `wrapped` by the key provider named in `kek`.
 *
 * @example
 * ```ts
 * const file: KeyringFile = { version: 1, purpose: 'aead', keys: [] }
 * ```
 */
export interface KeyringFile {
  version: 1
  purpose: KeyringPurpose
  kek?: string
  keys: Array<KeyInfo & { material?: string; wrapped?: string }>
}

/**
 * One JSON field to encrypt: a dot path inside each record, and the mode.
 *
 * @example
 * ```ts
 * const f: FieldSpec = { path: 'applicant.ssn', mode: 'deterministic' }
 * ```
 */
export interface FieldSpec {
  path: string
  /** `random` (default) or `deterministic` (joinable: equal values give equal ciphertexts). */
  mode?: 'random' | 'deterministic'
}

/**
 * Options of {@link createFieldCipher}.
 *
 * @example
 * ```ts
 * const o: FieldCipherOptions = { keyring, deterministicKeyring, tenant: 'acme', model: 'credit' }
 * ```
 */
export interface FieldCipherOptions {
  /** An `aead` keyring for random mode. */
  keyring?: import('./keyring/index.js').Keyring
  /** A `deterministic` keyring for deterministic mode. */
  deterministicKeyring?: import('./keyring/index.js').Keyring
  /** Bound into every ciphertext's associated data together with the model and field path. */
  tenant: string
  model: string
}

/**
 * Subject and validity of a certificate authority made by {@link createCa}.
 *
 * @example
 * ```ts
 * const o: CaOptions = { commonName: 'modelgate internal CA', organization: 'Acme', validityDays: 3650 }
 * ```
 */
export interface CaOptions {
  commonName: string
  organization?: string
  /** Default 3650. */
  validityDays?: number
  /** RSA modulus size. Default 3072. */
  keyBits?: 2048 | 3072 | 4096
}

/**
 * A certificate and its private key, both PEM.
 *
 * @example
 * ```ts
 * const { certPem, keyPem }: CertificateBundle = createCa({ commonName: 'ca' })
 * ```
 */
export interface CertificateBundle {
  certPem: string
  keyPem: string
}

/**
 * A leaf certificate request for {@link issueCertificate}.
 *
 * @example
 * ```ts
 * const o: IssueOptions = { kind: 'server', commonName: 'gate.internal', dnsNames: ['gate.internal'], ipAddresses: ['10.0.0.5'] }
 * ```
 */
export interface IssueOptions {
  /** `server` (serverAuth) or `client` (clientAuth). */
  kind: 'server' | 'client'
  commonName: string
  organization?: string
  dnsNames?: string[]
  ipAddresses?: string[]
  /** URI SANs, for example SPIFFE ids (`spiffe://acme/edge-1`). */
  uris?: string[]
  /** Default 397 (the browser limit for server certificates). */
  validityDays?: number
  /** RSA modulus size. Default 2048. */
  keyBits?: 2048 | 3072 | 4096
}

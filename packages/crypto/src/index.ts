export { decrypt, DECRYPTED_REQUEST, NESTED_JWT } from './decrypt/index.js'
export { encrypt } from './encrypt/index.js'
export { sign, signingPublicKey, verifyResponseSignature } from './sign/index.js'
export { encryptJwe } from './jwe/policy.js'
export type { EncryptJweOptions } from './jwe/policy.js'
export { Keyring, serializeKeyring, parseKeyring, localKeyProvider } from './keyring/index.js'
export { createFieldCipher } from './field/index.js'
export type { FieldCipher } from './field/index.js'
export { createCa, issueCertificate } from './pki/index.js'
export { decryptJweLines, generateJwk, generateKeyringFile, rotateKeyringFile } from './cli.js'
export type { DecryptLinesOptions, JwkAlgorithm } from './cli.js'
export { JweError, KeyringError } from './errors.js'
export type { JweErrorCode } from './errors.js'
export type {
  KeyManagementAlgorithm,
  ContentEncryptionAlgorithm,
  SignatureAlgorithm,
  DecryptionKey,
  ReplayOptions,
  NestedJwtResult,
  NestedJwtOptions,
  DecryptOptions,
  DecryptedRequest,
  EncryptOptions,
  SignOptions,
  VerifiedSignature,
  KeyStatus,
  KeyringPurpose,
  KeyInfo,
  KeyProvider,
  KeyringFile,
  FieldSpec,
  FieldCipherOptions,
  CaOptions,
  CertificateBundle,
  IssueOptions,
} from './types.js'

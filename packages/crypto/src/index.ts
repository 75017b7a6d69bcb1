export { decrypt, DECRYPTED_REQUEST, NESTED_JWT } from './decrypt/index.js'
export { encrypt } from './encrypt/index.js'
export { sign, signingPublicKey, verifyResponseSignature } from './sign/index.js'
export { createJweDecryptor, encryptJwe } from './jwe/policy.js'
export type {
  EncryptJweOptions,
  JweDecryptor,
  JweDecryptorOptions,
  OpenedJwe,
} from './jwe/policy.js'
export { generateJwk } from './jwk.js'
export type { JwkAlgorithm } from './jwk.js'
export { Keyring, serializeKeyring, parseKeyring, localKeyProvider } from './keyring/index.js'
export { createFieldCipher } from './field/index.js'
export type { FieldCipher } from './field/index.js'
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
} from './types.js'

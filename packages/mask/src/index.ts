export { createDetector, ENTITY_TYPES } from './detector.js'
export {
  luhn,
  cardNetwork,
  ibanValid,
  ibanLength,
  ssnValid,
  ipv4Valid,
  ipv6Valid,
  base58checkValid,
  bech32Valid,
} from './validators.js'
export type {
  EntityType,
  Span,
  CustomRecognizer,
  DetectorOptions,
  Detector,
  OperatorConfig,
  OperatorName,
  MaskPolicy,
  KeyInput,
  MaskerOptions,
  MaskOptions,
  MaskCounts,
  MaskScope,
} from './types.js'

export { createDetector, ENTITY_TYPES } from './detector.js'
export { DEFAULT_ID_TYPES, ID_RECOGNIZERS, idTypesFor } from './national.js'
export { BudgetMeter, DEFAULT_BUDGET, MaskingBudgetError } from './budget.js'
export type { DetectionBudget } from './budget.js'
export type { IdRecognizer } from './national.js'
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
export { mask } from './mask/index.js'
export { textMaskingOf, textMaskingFor, provideTextMasking } from './text.js'
export type { TextMasking } from './text.js'
export { maskText, maskError } from './log.js'
export type { MaskTextOptions } from './log.js'
export { FF1 } from './ff1.js'
export { createMasker, validatePolicy, validateRule } from './masker.js'
export type { Masker, MaskTextResult, ApplyOptions } from './masker.js'
export { TokenVault, TOKEN_PATTERN } from './vault.js'
export type { TokenVaultOptions, TokenizeOptions, VaultRecord } from './vault.js'
export { TokenLedger, grantsCover } from './ledger.js'
export { ScanBudget, DEFAULT_SCAN_BYTES, DEFAULT_SCAN_MS } from './budget.js'
export type {
  FieldRule,
  EntityType,
  Span,
  DetectHints,
  CustomRecognizer,
  DetectorOptions,
  Detector,
  OperatorConfig,
  OperatorName,
  MaskPolicy,
  KeyInput,
  MaskerOptions,
  MaskOptions,
  MaskBudget,
  MaskCounts,
  MaskScope,
  TokenOrigin,
} from './types.js'

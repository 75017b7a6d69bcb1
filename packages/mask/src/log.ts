import { createDetector } from './detector.js'
import type { Detector } from './types.js'

let shared: Detector | undefined

/**
 * Options of {@link maskText}.
 *
 * @example
 * ```ts
 * maskText(line, { op: 'mask' })
 * ```
 */
export interface MaskTextOptions {
  detector?: Detector
  /** `replace` (default) writes `<TYPE>`, `redact` removes, `mask` stars all but the last 4. */
  op?: 'replace' | 'redact' | 'mask'
}

/**
 * Synchronous masking for log lines and error messages: every detected entity becomes `<TYPE>`
 * (or is removed or starred). Other packages call it before writing anything to a log.
 *
 * @example
 * ```ts
 * import { maskText } from '@modelgate/mask'
 * logger.info(maskText(`login failed for ana@example.org from 10.1.2.3`))
 * // 'login failed for <EMAIL_ADDRESS> from <IP_ADDRESS>'
 * ```
 */
export function maskText(text: string, options: MaskTextOptions = {}): string {
  const detector = options.detector ?? (shared ??= createDetector())
  const spans = detector.detect(text)
  if (spans.length === 0) return text
  let out = ''
  let at = 0
  for (const s of spans) {
    const value = text.slice(s.start, s.end)
    const masked =
      options.op === 'redact'
        ? ''
        : options.op === 'mask'
          ? value.replace(/[\p{L}\p{N}]/gu, (c, i: number) => (i >= value.length - 4 ? c : '*'))
          : `<${s.type}>`
    out += text.slice(at, s.start) + masked
    at = s.end
  }
  return out + text.slice(at)
}

/**
 * Masks an error's message and stack in place (keeping its class, code and status) and returns
 * it, so that whatever logs or sends it carries no detected PII.
 *
 * @example
 * ```ts
 * try { await work() } catch (e) { throw maskError(e) }
 * ```
 */
export function maskError<E>(error: E, options: MaskTextOptions = {}): E {
  if (error instanceof Error) {
    error.message = maskText(error.message, options)
    if (typeof error.stack === 'string') error.stack = maskText(error.stack, options)
  }
  return error
}

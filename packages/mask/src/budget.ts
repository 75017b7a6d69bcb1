import { GateError } from '@modelgate/core'

/** Default text scanned per request: 1 MiB. */
export const DEFAULT_SCAN_BYTES = 1 << 20
/** Default time spent scanning per request: 2 s. */
export const DEFAULT_SCAN_MS = 2000
/** How long masking runs before it lets other work (health probes, other requests) run. */
const SLICE_MS = 10

/**
 * The answer to a request whose masking would cost more than its budget: 413 for too much text
 * to scan, 422 for too much scanning time; code `masking_budget_exceeded`.
 *
 * @example
 * ```ts
 * throw new MaskingBudgetError(413, 'the text to scan exceeds 1048576 bytes')
 * ```
 */
export class MaskingBudgetError extends GateError {
  constructor(status: 413 | 422, message: string) {
    super('masking_budget_exceeded', status, message)
  }
}

/**
 * Counts the scanning work of one request against its limits and lets the event loop run
 * between pieces of work, so a large request ends in a clear error and never stalls the
 * process.
 *
 * @example
 * ```ts
 * const budget = new ScanBudget({ maxScanBytes: 1 << 20 })
 * budget.charge(text)
 * const spans = budget.time(() => detector.detect(text))
 * await budget.pause()
 * ```
 */
export class ScanBudget {
  readonly maxBytes: number
  readonly maxMs: number
  private bytes = 0
  private ms = 0
  private sliceStart = performance.now()

  constructor(limits: { maxScanBytes?: number; maxScanMs?: number } = {}) {
    this.maxBytes = limits.maxScanBytes ?? DEFAULT_SCAN_BYTES
    this.maxMs = limits.maxScanMs ?? DEFAULT_SCAN_MS
  }

  /** Counts `text` as scanned; throws 413 once the request's texts exceed `maxBytes`. */
  charge(text: string): void {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so a long text fails before counting.
    const left = this.maxBytes - this.bytes
    const size = text.length > left ? left + 1 : utf8Length(text)
    this.bytes += size
    if (this.bytes > this.maxBytes) {
      throw new MaskingBudgetError(
        413,
        `the text to scan for personal data exceeds this gate's masking budget of ${this.maxBytes} bytes per request`,
      )
    }
  }

  /** Runs a synchronous scan, counting its time; throws 422 once `maxMs` is spent. */
  time<T>(scan: () => T): T {
    const start = performance.now()
    const result = scan()
    this.ms += performance.now() - start
    if (this.ms > this.maxMs) {
      throw new MaskingBudgetError(
        422,
        `scanning this request for personal data took longer than this gate's masking budget of ${this.maxMs} ms`,
      )
    }
    return result
  }

  /** Yields to the event loop when masking has run for a while without a break. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return
    await new Promise((resolve) => setTimeout(resolve, 0))
    this.sliceStart = performance.now()
  }
}

function utf8Length(text: string): number {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: 2 code units, 4 bytes.
      n += 2
      i++
    } else n += 2
  }
  return n
}

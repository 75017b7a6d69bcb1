import { GateError } from '@modelgate/core'

/**
 * How much detection work one call may do: the UTF-8 bytes of the texts it scans and the
 * milliseconds it runs (detection is synchronous, so this is CPU time of the calling thread).
 * `Infinity` lifts a limit.
 *
 * @example
 * ```ts
 * const budget: DetectionBudget = { maxBytes: 1 << 20, maxCpuMs: 250 }
 * ```
 */
export interface DetectionBudget {
  /** Default 8 MiB (8,388,608 bytes). */
  maxBytes?: number
  /** Default 2,000 ms. */
  maxCpuMs?: number
}

/** Limits applied when no budget is given: 8 MiB and 2 s per call. */
export const DEFAULT_BUDGET: Required<DetectionBudget> = { maxBytes: 8 << 20, maxCpuMs: 2000 }

/**
 * A detection call went over its budget. `status` is 413 when the text was too large and 422
 * when the work took too long, with the stable code `masking_budget_exceeded`, so a gate answers
 * `{"error": …}` with that status instead of stalling.
 *
 * @example
 * ```ts
 * try {
 *   detector.detect(hugeText)
 * } catch (e) {
 *   if (e instanceof MaskingBudgetError) console.log(e.status, e.limit) // 413 'bytes'
 * }
 * ```
 */
export class MaskingBudgetError extends GateError {
  /** Which limit was exceeded. */
  readonly limit: 'bytes' | 'cpu'
  /** The amount used when the call stopped (bytes or milliseconds) and the limit. */
  readonly used: number
  readonly max: number

  constructor(limit: 'bytes' | 'cpu', used: number, max: number) {
    super(
      'masking_budget_exceeded',
      limit === 'bytes' ? 413 : 422,
      limit === 'bytes'
        ? `masking budget exceeded: ${used} bytes of text to scan, over the limit of ${max} bytes`
        : `masking budget exceeded: scanning ran ${Math.round(used)} ms, over the limit of ${max} ms`,
    )
    this.limit = limit
    this.used = used
    this.max = max
  }
}

function utf8Length(text: string): number {
  const B = (globalThis as { Buffer?: { byteLength(s: string, e: string): number } }).Buffer
  if (B) return B.byteLength(text, 'utf8')
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff)
      i++ // a surrogate pair is 4 bytes for 2 code units
    else n += 2
  }
  return n
}

/** Default text scanned per request by the mask plugin: 1 MiB. */
export const DEFAULT_SCAN_BYTES = 1 << 20
/** Default time spent scanning per request by the mask plugin: 2 s. */
export const DEFAULT_SCAN_MS = 2000
/** How long masking runs before it lets other work (health probes, other requests) run. */
const SLICE_MS = 10

/**
 * Counts the scanning work of one request (or one masker call) against its limits and lets the
 * event loop run between pieces of work, so a large request ends in a clear
 * {@link MaskingBudgetError} and never stalls the process. Time counts scanning only, not the
 * pauses in between.
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
  /**
   * When the first scan after the last break began: a slice starts with work, not when the budget
   * was made, so a request that waited in a busy process does not break before its first scan.
   */
  private sliceStart: number | undefined

  constructor(limits: { maxScanBytes?: number; maxScanMs?: number } = {}) {
    this.maxBytes = limits.maxScanBytes ?? DEFAULT_SCAN_BYTES
    this.maxMs = limits.maxScanMs ?? DEFAULT_SCAN_MS
  }

  /** Counts `text` as scanned; throws (413) once the texts exceed `maxBytes`. */
  charge(text: string): void {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so a long text fails before counting.
    const left = this.maxBytes - this.bytes
    this.bytes += text.length > left ? left + 1 : utf8Length(text)
    if (this.bytes > this.maxBytes) throw new MaskingBudgetError('bytes', this.bytes, this.maxBytes)
  }

  /** Runs a synchronous scan, counting its time; throws (422) once `maxMs` is spent. */
  time<T>(scan: () => T): T {
    const start = performance.now()
    this.sliceStart ??= start
    const result = scan()
    this.ms += performance.now() - start
    if (this.ms > this.maxMs) throw new MaskingBudgetError('cpu', this.ms, this.maxMs)
    return result
  }

  /**
   * Yields to the event loop when masking has run for a while without a break. A slice starts
   * with the first scan or pause after the last break.
   */
  async pause(): Promise<void> {
    const now = performance.now()
    this.sliceStart ??= now
    if (now - this.sliceStart < SLICE_MS) return
    await new Promise((resolve) => setTimeout(resolve, 0))
    this.sliceStart = undefined
  }
}

/**
 * Counts the bytes and time of detection against a budget; one meter can span many calls (all
 * the strings of one request). Throws {@link MaskingBudgetError} as soon as a limit is passed.
 *
 * @example
 * ```ts
 * const meter = new BudgetMeter({ maxBytes: 1 << 20 })
 * for (const text of texts) detector.detect(text, { budget: meter })
 * ```
 */
export class BudgetMeter {
  readonly maxBytes: number
  readonly maxCpuMs: number
  bytes = 0
  private readonly started: number
  private readonly now: () => number

  constructor(budget: DetectionBudget = {}, now: () => number = () => performance.now()) {
    const maxBytes = budget.maxBytes ?? DEFAULT_BUDGET.maxBytes
    const maxCpuMs = budget.maxCpuMs ?? DEFAULT_BUDGET.maxCpuMs
    if (!(maxBytes > 0) || !(maxCpuMs > 0)) {
      throw new TypeError('budget: maxBytes and maxCpuMs must be positive numbers (or Infinity)')
    }
    this.maxBytes = maxBytes
    this.maxCpuMs = maxCpuMs
    this.now = now
    this.started = now()
  }

  /**
   * Adds a text about to be scanned and returns its UTF-8 length; throws when the bytes go over
   * the limit.
   */
  charge(text: string): number {
    const n = utf8Length(text)
    this.bytes += n
    if (this.bytes > this.maxBytes) throw new MaskingBudgetError('bytes', this.bytes, this.maxBytes)
    return n
  }

  /** Throws when the time since the meter started is over the limit. */
  check(): void {
    const used = this.now() - this.started
    if (used > this.maxCpuMs) throw new MaskingBudgetError('cpu', used, this.maxCpuMs)
  }
}

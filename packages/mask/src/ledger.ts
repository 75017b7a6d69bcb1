import type { TokenOrigin } from './types.js'
import { TOKEN_PATTERN } from './vault.js'

/** How `encrypt` tokens start. */
export const ENC_PREFIX = 'enc:v2:'
/** Matches `encrypt` tokens (the prefix, then base64url of IV, ciphertext and tag). */
export const ENC_PATTERN = /enc:v2:[A-Za-z0-9_-]{38,}/g
/** `encrypt` tokens and pseudonyms, as the masker writes them. */
const PATTERNED = new RegExp(`${ENC_PATTERN.source}|${TOKEN_PATTERN.source}`, 'g')

interface Entry {
  value: string
  origins: TokenOrigin[]
}

/**
 * The tokens one request made, with the value and origin of each reversible one. A gate reverses
 * a token only when it is in the ledger of the current request and the caller is granted one of
 * its origins: tokens that arrive in requests are never in it, so they stay opaque data, and the
 * gate never decrypts or looks up a token a caller chose. Masking also leaves every value the
 * ledger knows as it is, so nothing is masked twice.
 *
 * @example
 * ```ts
 * const ledger = new TokenLedger()
 * await masker.maskValue('512-34-8821', { op: 'encrypt', type: 'US_SSN' }, { tenant: 'acme', field: 'ssn', scope: 'request:1', ledger })
 * ledger.reveal(answerText, (o) => grants.has(o.field ?? '') || grants.has(o.type))
 * ```
 */
export class TokenLedger {
  private readonly reversible = new Map<string, Entry>()
  private readonly made = new Set<string>()
  /** Reversible tokens with no recognisable shape (FF1 ciphertexts, shifted dates). */
  private readonly shapeless = new Set<string>()
  private finder: RegExp | undefined

  /** Records a token; `value` and `origin` when it is reversible. */
  record(token: string, value?: string, origin?: TokenOrigin): void {
    this.made.add(token)
    if (value === undefined || origin === undefined || value === token) return
    const entry = this.reversible.get(token)
    if (entry) {
      if (!entry.origins.some((o) => sameOrigin(o, origin))) entry.origins.push(origin)
      return
    }
    this.reversible.set(token, { value, origins: [origin] })
    PATTERNED.lastIndex = 0
    const m = PATTERNED.exec(token)
    if (!m || m[0].length !== token.length) {
      this.shapeless.add(token)
      this.finder = undefined
    }
  }

  /** True when this request made `value` (so it is masked already). */
  has(value: string): boolean {
    return this.made.has(value)
  }

  /** How many reversible tokens were made. */
  get size(): number {
    return this.reversible.size
  }

  /** Where reversible tokens of this request occur in `text`, in order, not overlapping. */
  find(text: string): Array<{ start: number; end: number; token: string }> {
    if (this.reversible.size === 0 || text.length === 0) return []
    if (this.reversible.has(text)) return [{ start: 0, end: text.length, token: text }]
    const found: Array<{ start: number; end: number; token: string }> = []
    const collect = (re: RegExp) => {
      re.lastIndex = 0
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (this.reversible.has(m[0]))
          found.push({ start: m.index, end: m.index + m[0].length, token: m[0] })
        if (m[0].length === 0) re.lastIndex++
      }
    }
    collect(PATTERNED)
    if (this.shapeless.size > 0) {
      this.finder ??= new RegExp(
        [...this.shapeless]
          .sort((a, b) => b.length - a.length)
          .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('|'),
        'g',
      )
      collect(this.finder)
    }
    if (found.length < 2) return found
    found.sort((a, b) => a.start - b.start || b.end - a.end)
    const out = [found[0]!]
    for (const f of found) if (f.start >= out[out.length - 1]!.end) out.push(f)
    return out
  }

  /**
   * `text` with every token of this request whose origins include one `granted` accepts
   * replaced by its original value; every other token stays as it is.
   */
  reveal(text: string, granted: (origin: TokenOrigin) => boolean): string {
    const found = this.find(text)
    if (found.length === 0) return text
    let out = ''
    let at = 0
    for (const f of found) {
      const entry = this.reversible.get(f.token)!
      if (!entry.origins.some(granted)) continue
      out += text.slice(at, f.start) + entry.value
      at = f.end
    }
    return at === 0 ? text : out + text.slice(at)
  }
}

function sameOrigin(a: TokenOrigin, b: TokenOrigin): boolean {
  return (
    a.tenant === b.tenant &&
    a.type === b.type &&
    a.field === b.field &&
    !!a.text === !!b.text &&
    a.scope === b.scope
  )
}

/**
 * Whether `grants` (from `ctx.decision.unmask`: field names, entity types or `*`) cover a token
 * of `origin`: `*`, its entity type, or the field it was made for (a whole field, or the free
 * text of that field).
 *
 * @example
 * ```ts
 * grantsCover(new Set(['note']), { tenant: 't', type: 'EMAIL_ADDRESS', field: 'note', text: true, scope: 's' }) // true
 * grantsCover(new Set(['note']), { tenant: 't', type: 'US_SSN', field: 'ssn', scope: 's' }) // false
 * ```
 */
export function grantsCover(grants: ReadonlySet<string>, origin: TokenOrigin): boolean {
  return (
    grants.has('*') ||
    grants.has(origin.type) ||
    (origin.field !== undefined && grants.has(origin.field))
  )
}

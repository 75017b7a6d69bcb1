import { GateError } from '@modelgate/core'
import type { Span, TextMasking } from '@modelgate/mask'

/**
 * Where the placeholders of masked values come from: a conversation's {@link PlaceholderSession}
 * (restorable), or keyed tokens with no way back (embeddings).
 *
 * @example
 * ```ts
 * const tokens: PlaceholderSource = { placeholder: (type, value) => vault.token('acme', type, value), adopt: async () => {} }
 * ```
 */
export interface PlaceholderSource {
  placeholder(type: string, value: string): Promise<string>
  adopt(text: string): Promise<void>
}

/**
 * Technical words that detectors tend to take for names or codes and that must reach the model as
 * they are (`S3`, `EKS`, …). Spans whose text is one of them are never masked; the `allow` option
 * adds to this list.
 *
 * @example
 * ```ts
 * TECHNICAL_WORDS.includes('EKS') // true
 * ```
 */
export const TECHNICAL_WORDS: readonly string[] = Object.freeze([
  'S3',
  'EC2',
  'ECS',
  'EKS',
  'AKS',
  'GKE',
  'IAM',
  'VPC',
  'AWS',
  'GCP',
  'Azure',
  'Lambda',
  'K8s',
  'Kubernetes',
  'Docker',
  'Redis',
  'Kafka',
  'Postgres',
  'Linux',
  'Python',
  'Java',
  'Rust',
  'Go',
  'Node',
  'API',
  'SDK',
  'CLI',
  'JSON',
  'YAML',
  'HTTP',
  'HTTPS',
  'TLS',
  'SSH',
  'DNS',
  'SQL',
  'CPU',
  'GPU',
  'LLM',
])

/**
 * Words and patterns that decide masking beyond the detector: `allow` entries are never masked
 * (exact text, or a pattern the whole span matches), `deny` entries always are, as their type.
 *
 * @example
 * ```ts
 * const lists: WordLists = {
 *   allow: ['Jordan Peterson Ave', /^ACME-\d+$/],
 *   deny: [{ type: 'PROJECT', values: ['Bluebird'] }],
 * }
 * ```
 */
export interface WordLists {
  allow?: Array<string | RegExp>
  deny?: Array<{ type: string; values: string[] }>
}

/**
 * How the entities of one request are masked: which types may leave as they are for this tenant,
 * which refuse the request, and the allow and deny lists.
 *
 * @example
 * ```ts
 * const policy: TextPolicy = { leave: new Set(['URL']), refuse: new Set(), lists: { allow: ['S3'] } }
 * ```
 */
export interface TextPolicy {
  leave: ReadonlySet<string>
  /** Entity types that refuse the request (422); `all` for every type. */
  refuse: ReadonlySet<string> | 'all'
  lists: WordLists
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Compiles the deny list into one search per type, matched on word boundaries. */
function compileDeny(deny: WordLists['deny']): Array<{ type: string; re: RegExp }> {
  return (deny ?? [])
    .filter((d) => d.values.length > 0)
    .map((d) => ({
      type: d.type,
      re: new RegExp(
        `(?<![\\p{L}\\p{N}_])(?:${d.values.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}_])`,
        'gu',
      ),
    }))
}

/**
 * Masks the text of one request: each entity the mask plugin's detector finds (less allowed
 * words, plus denied ones) becomes a placeholder of the request's scope, or is masked by the rule
 * the mask policy names for its type (then it is not restored). Placeholders the text quotes from
 * its own scope are registered so the answer restores them.
 *
 * @example
 * ```ts
 * const masker = new RequestMasker(textMaskingOf(ctx)!, session, policy)
 * await masker.text('mail ana@example.org') // 'mail <EMAIL_1>'
 * ```
 */
export class RequestMasker {
  private readonly allowWords: Set<string>
  private readonly allowPatterns: RegExp[]
  private readonly deny: Array<{ type: string; re: RegExp }>
  /** Entities masked in this request, by type (for routing hooks; the audit fact is the mask plugin's). */
  readonly counts: Record<string, number> = {}

  constructor(
    private readonly masking: TextMasking,
    readonly session: PlaceholderSource,
    private readonly policy: TextPolicy,
  ) {
    this.allowWords = new Set(TECHNICAL_WORDS)
    this.allowPatterns = []
    for (const a of policy.lists.allow ?? []) {
      if (typeof a === 'string') this.allowWords.add(a)
      else this.allowPatterns.push(a)
    }
    this.deny = compileDeny(policy.lists.deny)
  }

  /** Free text with its entities masked. */
  async text(text: string): Promise<string> {
    if (text === '') return text
    await this.session.adopt(text)
    const spans = await this.spans(text)
    if (spans.length === 0) return text
    let out = ''
    let at = 0
    for (const s of spans) {
      out += text.slice(at, s.start) + (await this.replace(text.slice(s.start, s.end), s.type))
      at = s.end
    }
    return out + text.slice(at)
  }

  /**
   * A participant's `name` (OpenAI messages): the whole value is a person's name, masked as a
   * placeholder without its angle brackets, since the field only allows `[A-Za-z0-9_-]`.
   */
  async name(value: string): Promise<string> {
    if (value === '' || this.allowed(value) || this.policy.leave.has('PERSON')) return value
    this.refuseIf('PERSON')
    this.tally('PERSON')
    return (await this.session.placeholder('PERSON', value)).slice(1, -1)
  }

  /** A JSON value with every string in it (values, never keys) masked as free text. */
  async json(value: unknown): Promise<unknown> {
    if (typeof value === 'string') return this.text(value)
    if (Array.isArray(value)) {
      const out: unknown[] = []
      for (const v of value) out.push(await this.json(v))
      return out
    }
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = await this.json(v)
      return out
    }
    return value
  }

  /**
   * The source of a JSON document (tool-call arguments): its string values masked, the document
   * kept valid; unchanged when nothing was found. Text that is not JSON is masked as free text.
   */
  async jsonText(source: string): Promise<string> {
    let parsed: unknown
    try {
      parsed = JSON.parse(source)
    } catch {
      return this.text(source)
    }
    const masked = await this.json(parsed)
    const out = JSON.stringify(masked)
    return out === JSON.stringify(parsed) ? source : out
  }

  private tally(type: string): void {
    this.masking.count(type)
    this.counts[type] = (this.counts[type] ?? 0) + 1
  }

  private refuseIf(type: string): void {
    const refuse = this.policy.refuse
    if (refuse === 'all' || refuse.has(type)) {
      throw new GateError(
        'entity_not_allowed',
        422,
        `the request holds a ${type}, which may not leave for this model`,
      )
    }
  }

  private async replace(value: string, type: string): Promise<string> {
    this.tally(type)
    const rule = this.masking.rule(type)
    if (rule === undefined || rule.op === 'pseudonymize')
      return this.session.placeholder(type, value)
    return this.masking.maskValue(value, rule, type)
  }

  private allowed(text: string): boolean {
    return this.allowWords.has(text) || this.allowPatterns.some((re) => wholeMatch(re, text))
  }

  /**
   * Detected and denied spans, allowed ones and types that may leave removed, without overlaps.
   * A denied word wins over a detected span that overlaps it: it is masked as its own type.
   */
  private async spans(text: string): Promise<Span[]> {
    const denied: Span[] = []
    for (const d of this.deny) {
      d.re.lastIndex = 0
      for (const m of text.matchAll(d.re))
        denied.push({ start: m.index, end: m.index + m[0].length, type: d.type, score: 1 })
    }
    const found: Span[] = [...denied]
    for (const s of await this.masking.detect(text)) {
      if (this.policy.leave.has(s.type) || this.masking.rule(s.type)?.op === 'keep') continue
      if (this.allowed(text.slice(s.start, s.end))) continue
      if (denied.some((d) => d.start < s.end && s.start < d.end)) continue
      found.push(s)
    }
    for (const s of found) this.refuseIf(s.type)
    found.sort((a, b) => a.start - b.start || b.end - a.end)
    const out: Span[] = []
    let end = -1
    for (const s of found) {
      if (s.start < end) continue
      out.push(s)
      end = s.end
    }
    return out
  }
}

function wholeMatch(re: RegExp, text: string): boolean {
  re.lastIndex = 0
  const m = re.exec(text)
  return m !== null && m.index === 0 && m[0].length === text.length
}

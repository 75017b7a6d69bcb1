import { createDetector } from './detector.js'
import { createMasker } from './masker.js'
import type { DetectorOptions, KeyInput, MaskPolicy } from './types.js'

/**
 * Where a JSONL file function reads or writes: a path, or a Node stream (`process.stdin`,
 * `process.stdout`).
 *
 * @example
 * ```ts
 * const io: JsonlTarget = 'spans.jsonl'
 * ```
 */
export type JsonlTarget = string | NodeJS.ReadableStream | NodeJS.WritableStream

/**
 * Options of {@link detectFile}.
 *
 * @example
 * ```ts
 * const opts: DetectFileOptions = { in: 'texts.jsonl', out: 'spans.jsonl' }
 * ```
 */
export interface DetectFileOptions {
  in: JsonlTarget
  out: JsonlTarget
  detector?: DetectorOptions
  /** Field holding the text; default `text`. */
  field?: string
}

/**
 * Options of {@link applyPolicyFile}.
 *
 * @example
 * ```ts
 * const opts: ApplyPolicyFileOptions = { policy: 'policy.json', in: 'records.jsonl', out: 'masked.jsonl', key: process.env.MASK_KEY }
 * ```
 */
export interface ApplyPolicyFileOptions {
  /** A policy object or the path of a JSON file holding one. */
  policy: MaskPolicy | string
  in: JsonlTarget
  out: JsonlTarget
  /** Needed by keyed operators; default the `MODELGATE_MASK_KEY` environment variable. */
  key?: KeyInput
  tenant?: string
  detector?: DetectorOptions
}

/** Lines processed by a file function. */
export interface FileResult {
  lines: number
}

async function lines(input: JsonlTarget): Promise<AsyncIterable<string>> {
  const { createReadStream } = await import('node:fs')
  const { createInterface } = await import('node:readline')
  const stream =
    typeof input === 'string' ? createReadStream(input, 'utf8') : (input as NodeJS.ReadableStream)
  return createInterface({ input: stream, crlfDelay: Infinity })
}

async function writer(
  output: JsonlTarget,
): Promise<{ write(line: string): Promise<void>; close(): Promise<void> }> {
  const { createWriteStream } = await import('node:fs')
  const once = (await import('node:events')).default.once
  const stream = (
    typeof output === 'string' ? createWriteStream(output, 'utf8') : output
  ) as NodeJS.WritableStream & NodeJS.EventEmitter
  return {
    async write(line) {
      if (!stream.write(line + '\n')) await once(stream, 'drain')
    },
    async close() {
      if (typeof output !== 'string') return
      const done = once(stream, 'finish')
      stream.end()
      await done
    },
  }
}

function parseLine(line: string, n: number): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new SyntaxError(`line ${n}: not valid JSON`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError(`line ${n}: expected a JSON object`)
  return value as Record<string, unknown>
}

/**
 * Streams a JSONL file: every input line is a JSON object with a `text` field; every output line
 * is the same object plus `spans: [{ start, end, type, score }]`, in input order. Blank lines are
 * skipped. Backs `modelgate mask detect --in FILE.jsonl --out FILE.jsonl`.
 *
 * @example
 * ```ts
 * import { detectFile } from '@modelgate/mask'
 * await detectFile({ in: 'tickets.jsonl', out: 'tickets.spans.jsonl' })
 * ```
 */
export async function detectFile(options: DetectFileOptions): Promise<FileResult> {
  if (!options || options.in === undefined || options.out === undefined)
    throw new TypeError('detectFile needs in and out')
  const detector = createDetector(options.detector)
  const field = options.field ?? 'text'
  const n = await mapRecords(options.in, options.out, (record, line) => {
    const text = record[field]
    if (typeof text !== 'string') throw new TypeError(`line ${line}: "${field}" must be a string`)
    return { ...record, spans: detector.detect(text) }
  })
  return { lines: n }
}

/**
 * Streams a JSONL file of records through a masking policy (field rules, JSON paths, free-text
 * scanning), one output line per input line, in order. Backs
 * `modelgate mask apply --policy FILE --in FILE.jsonl --out FILE.jsonl`.
 *
 * @example
 * ```ts
 * import { applyPolicyFile } from '@modelgate/mask'
 * await applyPolicyFile({ policy: 'policy.json', in: 'loans.jsonl', out: 'loans.masked.jsonl', key: process.env.MASK_KEY })
 * ```
 */
export async function applyPolicyFile(
  options: ApplyPolicyFileOptions,
): Promise<FileResult & { counts: Record<string, number> }> {
  if (
    !options ||
    options.in === undefined ||
    options.out === undefined ||
    options.policy === undefined
  ) {
    throw new TypeError('applyPolicyFile needs policy, in and out')
  }
  let policy = options.policy
  if (typeof policy === 'string') {
    const { readFile } = await import('node:fs/promises')
    policy = JSON.parse(await readFile(policy, 'utf8')) as MaskPolicy
  }
  const key =
    options.key ?? (typeof process !== 'undefined' ? process.env.MODELGATE_MASK_KEY : undefined)
  const masker = createMasker({
    policy,
    ...(key ? { key } : {}),
    ...(options.detector ? { detector: options.detector } : {}),
  })
  const counts: Record<string, number> = {}
  const tenant = options.tenant ?? 'default'
  const n = await mapRecords(
    options.in,
    options.out,
    async (record) => (await masker.applyPolicy(record, { tenant, counts })).value,
  )
  return { lines: n, counts }
}

/**
 * Streams a JSONL input to a JSONL output, one output line per non-blank input line, in order;
 * returns the number of input lines read.
 */
async function mapRecords(
  input: JsonlTarget,
  output: JsonlTarget,
  map: (record: Record<string, unknown>, line: number) => unknown,
): Promise<number> {
  const out = await writer(output)
  let n = 0
  try {
    for await (const line of await lines(input)) {
      n++
      if (line.trim() === '') continue
      await out.write(JSON.stringify(await map(parseLine(line, n), n)))
    }
  } finally {
    await out.close()
  }
  return n
}

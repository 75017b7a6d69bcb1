import { BadRequestError } from '@modelgate/core'
import { isObject, type Json } from '../openai.js'
import { PLACEHOLDER_PATTERN } from '../placeholders.js'

/**
 * What a prompt attribution credits: whole `messages`, `documents` (each text part of a message,
 * each paragraph of a text, each Anthropic document), `sentences`, or masked `entities` (each
 * distinct placeholder, wherever it occurs).
 *
 * @example
 * ```ts
 * const unit: SegmentUnit = 'sentences'
 * ```
 */
export type SegmentUnit = 'messages' | 'documents' | 'sentences' | 'entities'

/** @internal The units, in the order error messages list them. */
export const SEGMENT_UNITS: readonly SegmentUnit[] = [
  'sentences',
  'documents',
  'messages',
  'entities',
]

/**
 * One part of a prompt that an attribution credits, as the upstream saw it (masked).
 *
 * @example
 * ```ts
 * const s: PromptSegment = { index: 0, message: 1, role: 'user', text: 'Mail <EMAIL_1>. ' }
 * ```
 */
export interface PromptSegment {
  index: number
  /** Index in `messages` (`-1` for Anthropic's `system`, `0` for a completion's prompt). */
  message: number
  role: string
  /** The segment's text as sent upstream: masked. For `entities`, the placeholder. */
  text: string
}

/** A run of text in one slot: fixed (`seg < 0`) or belonging to a segment. */
interface Piece {
  seg: number
  text: string
  /** What stands in its place when its segment is left out. */
  absent: string
}

/** A string of the request body that segments are cut from. */
interface Slot {
  path: Array<string | number>
  message: number
  role: string
  /** One document on its own (a content part, an Anthropic document). */
  document: boolean
  text: string
  pieces: Piece[]
}

/**
 * The requests an attribution can perturb: chat completions, legacy completions, Anthropic
 * messages.
 *
 * @example
 * ```ts
 * const kind: PromptKind = 'messages'
 * ```
 */
export type PromptKind = 'chat' | 'completions' | 'messages'

/**
 * A prompt cut into segments: the segments, and the request body with any subset of them left out.
 *
 * @example
 * ```ts
 * const p = segmentPrompt('chat', maskedBody, 'sentences', false)
 * const withoutFirst = p.ablate(Uint8Array.from(p.segments, (_, i) => (i === 0 ? 0 : 1)))
 * ```
 */
export interface SegmentedPrompt {
  segments: PromptSegment[]
  /** The body with the segments whose flag is 0 left out (entities replaced by their type). */
  ablate(present: Uint8Array): Json
}

const sentenceSegmenter =
  typeof Intl !== 'undefined' && 'Segmenter' in Intl
    ? new Intl.Segmenter('en', { granularity: 'sentence' })
    : undefined

/** Sentences of a text with their trailing whitespace; runs of whitespace on their own. */
function sentences(text: string): string[] {
  const parts = sentenceSegmenter
    ? Array.from(sentenceSegmenter.segment(text), (s) => s.segment)
    : (text.match(/[^.!?\n]+(?:[.!?]+|$)\s*|\s+/g) ?? [text])
  return parts
}

/** Paragraphs of a text: runs separated by a blank line (the separators stay fixed). */
function paragraphs(text: string): string[] {
  return text.split(/(\n[ \t]*\n\s*)/)
}

/** Every text slot of a request body, in prompt order. */
function slotsOf(kind: PromptKind, body: Json): Slot[] {
  const slots: Slot[] = []
  const add = (
    path: Array<string | number>,
    message: number,
    role: string,
    text: unknown,
    document = false,
  ) => {
    if (typeof text === 'string' && text !== '')
      slots.push({ path, message, role, document, text, pieces: [] })
  }
  if (kind === 'completions') {
    if (typeof body.prompt !== 'string')
      throw new BadRequestError(
        'explanations need "prompt" as one string',
        'explain_unsupported_prompt',
      )
    add(['prompt'], 0, 'prompt', body.prompt)
    return slots
  }
  if (kind === 'messages') {
    if (typeof body.system === 'string') add(['system'], -1, 'system', body.system)
    else if (Array.isArray(body.system))
      body.system.forEach((b, j) => {
        if (isObject(b) && b.type === 'text') add(['system', j, 'text'], -1, 'system', b.text, true)
      })
  }
  const messages = Array.isArray(body.messages) ? body.messages : []
  messages.forEach((m, i) => {
    if (!isObject(m)) return
    const role = typeof m.role === 'string' ? m.role : 'user'
    if (typeof m.content === 'string') add(['messages', i, 'content'], i, role, m.content)
    else if (Array.isArray(m.content))
      m.content.forEach((part, j) => {
        if (!isObject(part)) return
        if (part.type === 'text')
          add(['messages', i, 'content', j, 'text'], i, role, part.text, true)
        else if (part.type === 'document' && isObject(part.source) && part.source.type === 'text')
          add(['messages', i, 'content', j, 'source', 'data'], i, role, part.source.data, true)
      })
  })
  return slots
}

/**
 * Cuts a (masked) request body into segments of one unit. With `keepLast` the last segment (the
 * question, usually) stays in every perturbation and gets no attribution.
 *
 * @example
 * ```ts
 * const { segments, ablate } = segmentPrompt('chat', maskedBody, 'sentences', true)
 * ```
 */
export function segmentPrompt(
  kind: PromptKind,
  body: Json,
  unit: SegmentUnit,
  keepLast: boolean,
): SegmentedPrompt {
  const slots = slotsOf(kind, body)
  const segments: PromptSegment[] = []
  const segment = (slot: Slot, text: string) => {
    segments.push({ index: segments.length, message: slot.message, role: slot.role, text })
    return segments.length - 1
  }
  const cut = (slot: Slot, parts: string[]) => {
    for (const text of parts) {
      if (text === '') continue
      const seg = text.trim() === '' ? -1 : segment(slot, text)
      slot.pieces.push({ seg, text, absent: '' })
    }
  }
  if (unit === 'messages') {
    const byMessage = new Map<number, number>()
    for (const slot of slots) {
      let seg = byMessage.get(slot.message)
      if (seg === undefined) {
        seg = segment(slot, '')
        byMessage.set(slot.message, seg)
      }
      segments[seg]!.text += (segments[seg]!.text ? '\n' : '') + slot.text
      slot.pieces.push({ seg, text: slot.text, absent: '' })
    }
  } else if (unit === 'entities') {
    const byPlaceholder = new Map<string, number>()
    for (const slot of slots) {
      let at = 0
      for (const m of slot.text.matchAll(PLACEHOLDER_PATTERN)) {
        if (m.index > at)
          slot.pieces.push({ seg: -1, text: slot.text.slice(at, m.index), absent: '' })
        let seg = byPlaceholder.get(m[0])
        if (seg === undefined) {
          seg = segment(slot, m[0])
          byPlaceholder.set(m[0], seg)
        }
        slot.pieces.push({ seg, text: m[0], absent: m[0].replace(/_\d+>$/, '>') })
        at = m.index + m[0].length
      }
      if (at < slot.text.length)
        slot.pieces.push({ seg: -1, text: slot.text.slice(at), absent: '' })
    }
  } else {
    for (const slot of slots) {
      if (unit === 'sentences') cut(slot, sentences(slot.text))
      else if (slot.document) cut(slot, [slot.text])
      else cut(slot, paragraphs(slot.text))
    }
  }
  if (keepLast && segments.length > 0) {
    const last = segments.pop()!
    for (const slot of slots) for (const p of slot.pieces) if (p.seg === last.index) p.seg = -1
  }
  return {
    segments,
    ablate(present) {
      const out = structuredClone(body)
      for (const slot of slots) {
        let text = ''
        for (const p of slot.pieces) text += p.seg < 0 || present[p.seg] ? p.text : p.absent
        // Whitespace left between segments that are out counts as no text.
        set(out, slot.path, text.trim() === '' ? '' : text)
      }
      return kind === 'chat' ? pruneChat(out) : kind === 'messages' ? pruneMessages(out) : out
    },
  }
}

function set(body: Json, path: Array<string | number>, value: string): void {
  let at: unknown = body
  for (const key of path.slice(0, -1)) at = (at as Record<string | number, unknown>)[key]
  ;(at as Record<string | number, unknown>)[path.at(-1)!] = value
}

const emptyText = (p: unknown) => isObject(p) && p.type === 'text' && p.text === ''

/**
 * Drops chat messages left without text (a tool result or a message with tool calls stays); an
 * empty conversation becomes one empty user message.
 */
function pruneChat(body: Json): Json {
  const messages = (body.messages as unknown[]).flatMap((m) => {
    if (!isObject(m)) return [m]
    const content = Array.isArray(m.content) ? m.content.filter((p) => !emptyText(p)) : m.content
    const msg: Json = {
      ...m,
      content: Array.isArray(content) && content.length === 0 ? '' : content,
    }
    const kept = msg.content !== '' || msg.role === 'tool' || msg.tool_calls || msg.function_call
    return kept ? [msg] : []
  })
  body.messages = messages.length > 0 ? messages : [{ role: 'user', content: '' }]
  return body
}

/**
 * Drops Anthropic text blocks and documents left empty, messages left without blocks and an
 * empty system prompt; an empty conversation becomes one user message holding `.` (the API
 * refuses empty text).
 */
function pruneMessages(body: Json): Json {
  if (body.system === '') delete body.system
  else if (Array.isArray(body.system)) {
    body.system = body.system.filter((b) => !emptyText(b))
    if ((body.system as unknown[]).length === 0) delete body.system
  }
  const messages = (body.messages as unknown[]).flatMap((m) => {
    if (!isObject(m)) return [m]
    if (typeof m.content === 'string') return m.content === '' ? [] : [m]
    if (!Array.isArray(m.content)) return [m]
    const content = m.content.filter(
      (b) =>
        !emptyText(b) &&
        !(isObject(b) && b.type === 'document' && isObject(b.source) && b.source.data === ''),
    )
    return content.length > 0 ? [{ ...m, content }] : []
  })
  body.messages = messages.length > 0 ? messages : [{ role: 'user', content: '.' }]
  return body
}

import type { RequestMasker } from './masking.js'
import { isObject, mapAsync, maskSchema, type Json } from './openai.js'
import type { PlaceholderSession } from './placeholders.js'
import {
  Channels,
  encodeSse,
  mayHoldPlaceholder,
  parseEvent,
  withData,
  type EventHandler,
  type StreamUsage,
} from './relay.js'
import type { SseEvent } from './sse.js'

const OPAQUE_PARTS = new Set(['input_image', 'input_audio'])
const KEPT_KEYS = new Set(['type', 'id', 'call_id', 'status', 'encrypted_content', 'role'])

async function maskParts(content: unknown, m: RequestMasker): Promise<unknown> {
  if (typeof content === 'string') return m.text(content)
  if (!Array.isArray(content)) return content
  return mapAsync(content, async (part) => {
    if (!isObject(part)) return part
    if (typeof part.type === 'string' && OPAQUE_PARTS.has(part.type)) return part
    if (part.type === 'input_file') {
      return typeof part.filename === 'string'
        ? { ...part, filename: await m.text(part.filename) }
        : part
    }
    const out: Json = {}
    for (const [k, v] of Object.entries(part)) out[k] = KEPT_KEYS.has(k) ? v : await m.json(v)
    return out
  })
}

async function maskItem(item: unknown, m: RequestMasker): Promise<unknown> {
  if (!isObject(item)) return item
  if (item.type === 'function_call' && typeof item.arguments === 'string')
    return { ...item, arguments: await m.jsonText(item.arguments) }
  if ('content' in item) return { ...item, content: await maskParts(item.content, m) }
  if (item.type === 'function_call_output')
    return { ...item, output: await maskParts(item.output, m) }
  // Reasoning summaries and item types this gate does not know: every string but ids.
  const out: Json = {}
  for (const [k, v] of Object.entries(item)) out[k] = KEPT_KEYS.has(k) ? v : await m.json(v)
  return out
}

/**
 * A Responses API request with every text masked: `instructions`, `input` (a string, or items:
 * message content parts, `function_call` arguments, `function_call_output` output, reasoning
 * summaries), function tool descriptions and parameter schemas, `text.format` schemas,
 * `metadata` and `user`. Images pass as they are.
 *
 * @example
 * ```ts
 * await maskResponsesBody({ model: 'chat', instructions: 'Agent for Ana Lopez', input: 'Mail ana@example.org' }, masker)
 * // { model: 'chat', instructions: 'Agent for <PERSON_1>', input: 'Mail <EMAIL_1>' }
 * ```
 */
export async function maskResponsesBody(body: Json, m: RequestMasker): Promise<Json> {
  const out: Json = { ...body }
  if (typeof body.instructions === 'string') out.instructions = await m.text(body.instructions)
  if (typeof body.input === 'string') out.input = await m.text(body.input)
  else if (Array.isArray(body.input)) out.input = await mapAsync(body.input, (i) => maskItem(i, m))
  if (Array.isArray(body.tools)) {
    out.tools = await mapAsync(body.tools, async (t) => {
      if (!isObject(t) || t.type !== 'function') return t
      const tool: Json = { ...t }
      if (typeof t.description === 'string') tool.description = await m.text(t.description)
      if ('parameters' in t) tool.parameters = await maskSchema(t.parameters, m)
      return tool
    })
  }
  if (isObject(body.text) && isObject(body.text.format)) {
    const format: Json = { ...body.text.format }
    if (typeof format.description === 'string')
      format.description = await m.text(format.description)
    if ('schema' in format) format.schema = await maskSchema(format.schema, m)
    out.text = { ...body.text, format }
  }
  if (typeof body.user === 'string') out.user = await m.text(body.user)
  if (isObject(body.metadata)) out.metadata = await m.json(body.metadata)
  return out
}

function restorePart(part: unknown, s: PlaceholderSession): unknown {
  if (!isObject(part)) return part
  const out: Json = { ...part }
  if (typeof part.text === 'string') out.text = s.restore(part.text)
  if (typeof part.refusal === 'string') out.refusal = s.restore(part.refusal)
  return out
}

function restoreItem(item: unknown, s: PlaceholderSession): unknown {
  if (!isObject(item)) return item
  const out: Json = { ...item }
  if (Array.isArray(item.content)) out.content = item.content.map((p) => restorePart(p, s))
  if (Array.isArray(item.summary)) out.summary = item.summary.map((p) => restorePart(p, s))
  if (item.type === 'function_call' && typeof item.arguments === 'string')
    out.arguments = s.restoreJson(item.arguments)
  return out
}

/**
 * A Responses API answer with the request's placeholders restored in output messages (text and
 * refusals), reasoning summaries, function-call arguments (escaped for JSON) and `output_text`.
 *
 * @example
 * ```ts
 * ctx.body = restoreResponsesAnswer(await response.json(), session)
 * ```
 */
export function restoreResponsesAnswer(answer: unknown, s: PlaceholderSession): unknown {
  if (!isObject(answer)) return answer
  const out: Json = { ...answer }
  if (Array.isArray(answer.output)) out.output = answer.output.map((i) => restoreItem(i, s))
  if (typeof answer.output_text === 'string') out.output_text = s.restore(answer.output_text)
  return out
}

/** Which field of which event carries a streamed text, and whether it is JSON source. */
const DELTAS: Record<string, { field: string; channel: (d: Json) => string; json?: true }> = {
  'response.output_text.delta': {
    field: 'delta',
    channel: (d) => `${d.output_index}:${d.content_index}:text`,
  },
  'response.refusal.delta': {
    field: 'delta',
    channel: (d) => `${d.output_index}:${d.content_index}:refusal`,
  },
  'response.reasoning_summary_text.delta': {
    field: 'delta',
    channel: (d) => `${d.output_index}:${d.summary_index}:summary`,
  },
  'response.function_call_arguments.delta': {
    field: 'delta',
    channel: (d) => `${d.output_index}:args`,
    json: true,
  },
}
const DONES: Record<string, { field: string; channel: (d: Json) => string; json?: true }> = {
  'response.output_text.done': {
    field: 'text',
    channel: (d) => `${d.output_index}:${d.content_index}:text`,
  },
  'response.refusal.done': {
    field: 'refusal',
    channel: (d) => `${d.output_index}:${d.content_index}:refusal`,
  },
  'response.reasoning_summary_text.done': {
    field: 'text',
    channel: (d) => `${d.output_index}:${d.summary_index}:summary`,
  },
  'response.function_call_arguments.done': {
    field: 'arguments',
    channel: (d) => `${d.output_index}:args`,
    json: true,
  },
}
const FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed'])

/**
 * Relays Responses API stream events: restores text, refusal and reasoning-summary deltas per
 * output item and part, and function-call argument deltas per output item (escaped for JSON);
 * restores the full texts of `.done` events, the items of `output_item` events, the parts of
 * `content_part` events and the whole response of `response.completed`. A `.done` event for a
 * text still holding part of a placeholder fails the stream closed (an `error` event). Usage comes
 * from the final response.
 *
 * @example
 * ```ts
 * ctx.body = relay(result, responsesHandler(session, false), onEnd)
 * ```
 */
export function responsesHandler(
  session: PlaceholderSession | undefined,
  countText: boolean,
): EventHandler {
  const channels = new Channels(session)
  const usage: StreamUsage = {}
  const restoring = session !== undefined && session.size > 0
  return {
    channels,
    usage,
    event(e: SseEvent) {
      if (e.comment !== undefined || e.data === '') return encodeSse(e)
      const type = e.event ?? ''
      const quick =
        !countText &&
        !FINAL.has(type) &&
        !(type in DONES && channels.holding()) &&
        (!restoring || (!mayHoldPlaceholder(e.data) && !channels.holding()))
      if (quick) return encodeSse(e)
      const data = parseEvent(e)
      if (!data) return encodeSse(e)
      const kind = typeof data.type === 'string' ? data.type : type
      const delta = DELTAS[kind]
      const done = DONES[kind]
      if (delta && typeof data[delta.field] === 'string') {
        data[delta.field] = channels.push(
          delta.channel(data),
          data[delta.field] as string,
          delta.json === true,
        )
      } else if (done) {
        if (channels.holding(done.channel(data))) return undefined
        const value = data[done.field]
        if (session && typeof value === 'string')
          data[done.field] = done.json ? session.restoreJson(value) : session.restore(value)
      } else if (session && isObject(data.item)) data.item = restoreItem(data.item, session)
      else if (session && isObject(data.part)) data.part = restorePart(data.part, session)
      if (isObject(data.response)) {
        const u = data.response.usage
        if (isObject(u) && typeof u.input_tokens === 'number') usage.promptTokens = u.input_tokens
        if (isObject(u) && typeof u.output_tokens === 'number')
          usage.completionTokens = u.output_tokens
        if (session) data.response = restoreResponsesAnswer(data.response, session)
      }
      return withData(e, data)
    },
    end: () => (channels.holding() ? undefined : ''),
    fail(code, message) {
      return encodeSse({
        event: 'error',
        data: JSON.stringify({ type: 'error', code, message, param: null }),
      })
    },
  }
}

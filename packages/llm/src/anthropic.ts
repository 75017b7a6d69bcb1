import { BadRequestError } from '@modelgate/core'
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

const OPAQUE_BLOCKS = new Set(['image', 'redacted_thinking'])
const KEPT_KEYS = new Set(['type', 'id', 'tool_use_id', 'signature', 'cache_control', 'media_type'])

async function maskBlocks(content: unknown, m: RequestMasker): Promise<unknown> {
  if (typeof content === 'string') return m.text(content)
  if (!Array.isArray(content)) return content
  return mapAsync(content, (b) => maskBlock(b, m))
}

async function maskBlock(block: unknown, m: RequestMasker): Promise<unknown> {
  if (!isObject(block)) return block
  const type = block.type
  if (typeof type === 'string' && OPAQUE_BLOCKS.has(type)) return block
  const out: Json = { ...block }
  switch (type) {
    case 'text':
      if (typeof block.text === 'string') out.text = await m.text(block.text)
      return out
    case 'tool_use':
      if ('input' in block) out.input = await m.json(block.input)
      return out
    case 'tool_result':
      if ('content' in block) out.content = await maskBlocks(block.content, m)
      return out
    case 'document': {
      for (const f of ['title', 'context'] as const)
        if (typeof block[f] === 'string') out[f] = await m.text(block[f])
      const source = block.source
      if (isObject(source) && source.type === 'text' && typeof source.data === 'string')
        out.source = { ...source, data: await m.text(source.data) }
      else if (isObject(source) && source.type === 'content')
        out.source = { ...source, content: await maskBlocks(source.content, m) }
      return out
    }
  }
  // Thinking, search results and block types this gate does not know: every string but ids.
  for (const [k, v] of Object.entries(block)) if (!KEPT_KEYS.has(k)) out[k] = await m.json(v)
  return out
}

/**
 * An Anthropic Messages request with every text masked: `system` (a string or text blocks),
 * message content (text, `tool_use` input values, `tool_result` content, documents), tool
 * descriptions and input schemas, and `metadata.user_id`. Images pass as they are.
 *
 * @example
 * ```ts
 * await maskMessagesBody({ model: 'claude', max_tokens: 256, system: 'Agent: Ana Lopez', messages }, masker)
 * ```
 */
export async function maskMessagesBody(body: Json, m: RequestMasker): Promise<Json> {
  if (!Array.isArray(body.messages))
    throw new BadRequestError('"messages" must be an array', 'invalid_request')
  const out: Json = { ...body }
  if ('system' in body) out.system = await maskBlocks(body.system, m)
  out.messages = await mapAsync(body.messages, async (msg) => {
    if (!isObject(msg))
      throw new BadRequestError('each message must be an object', 'invalid_request')
    return { ...msg, content: await maskBlocks(msg.content, m) }
  })
  if (Array.isArray(body.tools)) {
    out.tools = await mapAsync(body.tools, async (t) => {
      if (!isObject(t)) return t
      const tool: Json = { ...t }
      if (typeof t.description === 'string') tool.description = await m.text(t.description)
      if ('input_schema' in t) tool.input_schema = await maskSchema(t.input_schema, m)
      return tool
    })
  }
  if (isObject(body.metadata)) out.metadata = await m.json(body.metadata)
  return out
}

function restoreValue(value: unknown, s: PlaceholderSession): unknown {
  if (typeof value === 'string') return s.restore(value)
  if (Array.isArray(value)) return value.map((v) => restoreValue(v, s))
  if (!isObject(value)) return value
  const out: Json = {}
  for (const [k, v] of Object.entries(value)) out[k] = restoreValue(v, s)
  return out
}

/**
 * An Anthropic Messages answer with the request's placeholders restored in text blocks and in
 * `tool_use` input values. Thinking blocks stay as they are: their signature covers the text.
 *
 * @example
 * ```ts
 * ctx.body = restoreMessagesAnswer(await response.json(), session)
 * ```
 */
export function restoreMessagesAnswer(answer: unknown, s: PlaceholderSession): unknown {
  if (!isObject(answer) || !Array.isArray(answer.content)) return answer
  return {
    ...answer,
    content: answer.content.map((b) => {
      if (!isObject(b)) return b
      if (b.type === 'text' && typeof b.text === 'string') return { ...b, text: s.restore(b.text) }
      if (b.type === 'tool_use' && 'input' in b) return { ...b, input: restoreValue(b.input, s) }
      return b
    }),
  }
}

/**
 * Relays Anthropic stream events: restores `text_delta` text and `input_json_delta` partial JSON
 * per content block (a delta whose text is held back whole is not sent), and fails closed (an
 * `error` event) when a block stops inside a placeholder. Usage comes from `message_start` and
 * `message_delta`.
 *
 * @example
 * ```ts
 * ctx.body = relay(result, anthropicHandler(session, false), onEnd)
 * ```
 */
export function anthropicHandler(
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
      const type = e.event
      const quick =
        !countText &&
        type !== 'message_start' &&
        type !== 'message_delta' &&
        type !== 'content_block_stop' &&
        (!restoring || (!mayHoldPlaceholder(e.data) && !channels.holding()))
      if (quick) return encodeSse(e)
      const data = parseEvent(e)
      if (!data) return encodeSse(e)
      switch (data.type) {
        case 'message_start': {
          const u = isObject(data.message) ? data.message.usage : undefined
          if (isObject(u) && typeof u.input_tokens === 'number') usage.promptTokens = u.input_tokens
          break
        }
        case 'message_delta': {
          const u = data.usage
          if (isObject(u) && typeof u.output_tokens === 'number')
            usage.completionTokens = u.output_tokens
          if (isObject(u) && typeof u.input_tokens === 'number') usage.promptTokens = u.input_tokens
          break
        }
        case 'content_block_start': {
          const block = data.content_block
          if (isObject(block) && block.type === 'text' && typeof block.text === 'string')
            block.text = channels.push(`${data.index}:text`, block.text, false)
          if (isObject(block) && block.type === 'tool_use' && session && 'input' in block)
            block.input = restoreValue(block.input, session)
          break
        }
        case 'content_block_delta': {
          const d = data.delta
          if (!isObject(d)) break
          if (d.type === 'text_delta' && typeof d.text === 'string') {
            const held = d.text !== ''
            d.text = channels.push(`${data.index}:text`, d.text, false)
            // A delta whose text is all held back says nothing: it is not sent.
            if (held && d.text === '') return ''
          } else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string') {
            const held = d.partial_json !== ''
            d.partial_json = channels.push(`${data.index}:json`, d.partial_json, true)
            if (held && d.partial_json === '') return ''
          }
          break
        }
        case 'content_block_stop':
          if (channels.holding(`${data.index}:`)) return undefined
          break
        case 'error':
          if (isObject(data.error) && typeof data.error.message === 'string' && session)
            data.error = { ...data.error, message: session.restore(data.error.message) }
          break
      }
      return withData(e, data)
    },
    end: () => (channels.holding() ? undefined : ''),
    fail(code, message) {
      return encodeSse({
        event: 'error',
        data: JSON.stringify({
          type: 'error',
          error: { type: 'api_error', message: `${code}: ${message}` },
        }),
      })
    },
  }
}

import { BadRequestError } from '@modelgate/core'
import type { RequestMasker } from './masking.js'
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

/**
 * A JSON object.
 *
 * @example
 * ```ts
 * const body: Json = { model: 'chat', messages: [] }
 * ```
 */
export type Json = Record<string, unknown>

/**
 * Whether a value is a JSON object (not an array, not null).
 *
 * @example
 * ```ts
 * isObject({ a: 1 }) // true
 * isObject([1]) // false
 * ```
 */
export const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Maps an array through an async function, one element after the other.
 *
 * @example
 * ```ts
 * const masked = await mapAsync(messages, (m) => maskMessage(m, masker))
 * ```
 */
export async function mapAsync<T>(values: unknown[], f: (v: unknown) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (const v of values) out.push(await f(v))
  return out
}

const TEXT_FIELDS = ['refusal', 'reasoning_content', 'reasoning'] as const
const SCHEMA_TEXT = new Set(['description', 'title'])
const SCHEMA_VALUES = new Set(['enum', 'examples', 'default', 'const'])
const OPAQUE_PARTS = new Set(['image_url', 'input_audio', 'image', 'audio'])

/**
 * A JSON schema (tool parameters, response formats) with its human text masked: `description`,
 * `title`, and the values of `enum`, `examples`, `default` and `const`. Property names stay.
 *
 * @example
 * ```ts
 * await maskSchema({ type: 'object', properties: { to: { type: 'string', description: 'e.g. ana@example.org' } } }, masker)
 * // { type: 'object', properties: { to: { type: 'string', description: 'e.g. <EMAIL_1>' } } }
 * ```
 */
export async function maskSchema(schema: unknown, m: RequestMasker): Promise<unknown> {
  if (Array.isArray(schema)) return mapAsync(schema, (v) => maskSchema(v, m))
  if (!isObject(schema)) return schema
  const out: Json = {}
  for (const [k, v] of Object.entries(schema)) {
    if (SCHEMA_TEXT.has(k) && typeof v === 'string') out[k] = await m.text(v)
    else if (SCHEMA_VALUES.has(k)) out[k] = await m.json(v)
    else if (k === 'properties' && isObject(v)) {
      const props: Json = {}
      for (const [name, p] of Object.entries(v)) props[name] = await maskSchema(p, m)
      out[k] = props
    } else out[k] = await maskSchema(v, m)
  }
  return out
}

/** Message content: a string, or parts whose text is masked (images and audio pass as they are). */
async function maskContent(content: unknown, m: RequestMasker): Promise<unknown> {
  if (typeof content === 'string') return m.text(content)
  if (!Array.isArray(content)) return content
  return mapAsync(content, async (part) => {
    if (!isObject(part)) return part
    const type = part.type
    if (type === 'text' && typeof part.text === 'string')
      return { ...part, text: await m.text(part.text) }
    if (type === 'refusal' && typeof part.refusal === 'string')
      return { ...part, refusal: await m.text(part.refusal) }
    if (typeof type === 'string' && OPAQUE_PARTS.has(type)) return part
    if (type === 'file' && isObject(part.file)) {
      const file = { ...part.file }
      if (typeof file.filename === 'string') file.filename = await m.text(file.filename)
      return { ...part, file }
    }
    // A part type this gate does not know: every string in it but its type is masked.
    const out: Json = {}
    for (const [k, v] of Object.entries(part)) out[k] = k === 'type' ? v : await m.json(v)
    return out
  })
}

async function maskCall(call: unknown, m: RequestMasker): Promise<unknown> {
  if (!isObject(call) || typeof call.arguments !== 'string') return call
  return { ...call, arguments: await m.jsonText(call.arguments) }
}

async function maskMessage(message: unknown, m: RequestMasker): Promise<Json> {
  if (!isObject(message))
    throw new BadRequestError('each message must be an object', 'invalid_request')
  const out: Json = { ...message }
  if ('content' in message) out.content = await maskContent(message.content, m)
  if (typeof message.name === 'string' && message.role !== 'function' && message.role !== 'tool')
    out.name = await m.name(message.name)
  for (const f of TEXT_FIELDS) if (typeof message[f] === 'string') out[f] = await m.text(message[f])
  if (Array.isArray(message.tool_calls)) {
    out.tool_calls = await mapAsync(message.tool_calls, async (tc) =>
      isObject(tc) && isObject(tc.function)
        ? { ...tc, function: await maskCall(tc.function, m) }
        : tc,
    )
  }
  if (isObject(message.function_call)) out.function_call = await maskCall(message.function_call, m)
  return out
}

async function maskFunction(f: unknown, m: RequestMasker): Promise<unknown> {
  if (!isObject(f)) return f
  const out: Json = { ...f }
  if (typeof f.description === 'string') out.description = await m.text(f.description)
  if ('parameters' in f) out.parameters = await maskSchema(f.parameters, m)
  return out
}

/** Fields every OpenAI request may carry text in: `metadata` values and `user`. */
async function maskCommon(body: Json, out: Json, m: RequestMasker): Promise<void> {
  if (typeof body.user === 'string') out.user = await m.text(body.user)
  if (isObject(body.metadata)) out.metadata = await m.json(body.metadata)
}

/**
 * A chat completions request with every text masked: message content (strings and parts),
 * participant names, tool-call and function-call arguments (values, the JSON kept valid), tool
 * results, tool and function descriptions and parameter schemas, response-format schemas,
 * predicted output, metadata and `user`.
 *
 * @example
 * ```ts
 * const masked = await maskChatBody({ model: 'chat', messages: [{ role: 'user', content: 'I am ana@example.org' }] }, masker)
 * // { model: 'chat', messages: [{ role: 'user', content: 'I am <EMAIL_1>' }] }
 * ```
 */
export async function maskChatBody(body: Json, m: RequestMasker): Promise<Json> {
  if (!Array.isArray(body.messages))
    throw new BadRequestError('"messages" must be an array', 'invalid_request')
  const out: Json = {
    ...body,
    messages: await mapAsync(body.messages, (msg) => maskMessage(msg, m)),
  }
  if (Array.isArray(body.tools)) {
    out.tools = await mapAsync(body.tools, async (t) =>
      isObject(t) && isObject(t.function)
        ? { ...t, function: await maskFunction(t.function, m) }
        : t,
    )
  }
  if (Array.isArray(body.functions))
    out.functions = await mapAsync(body.functions, (f) => maskFunction(f, m))
  const format = body.response_format
  if (isObject(format) && isObject(format.json_schema)) {
    const js = { ...format.json_schema }
    if (typeof js.description === 'string') js.description = await m.text(js.description)
    if ('schema' in js) js.schema = await maskSchema(js.schema, m)
    out.response_format = { ...format, json_schema: js }
  }
  if (isObject(body.prediction))
    out.prediction = { ...body.prediction, content: await maskContent(body.prediction.content, m) }
  await maskCommon(body, out, m)
  return out
}

function textInputs(value: unknown, field: string): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[]
  if (value === undefined) return undefined
  throw new BadRequestError(
    `"${field}" must be text while this gate masks prompts: token arrays cannot be inspected`,
    'token_input_unsupported',
  )
}

/**
 * A legacy completions request with its `prompt` (a string or strings), `suffix`, metadata and
 * `user` masked. Prompts given as token arrays are refused, since they cannot be inspected.
 *
 * @example
 * ```ts
 * await maskCompletionBody({ model: 'chat', prompt: 'Dear Ana Lopez,' }, masker)
 * ```
 */
export async function maskCompletionBody(body: Json, m: RequestMasker): Promise<Json> {
  const prompts = textInputs(body.prompt, 'prompt')
  if (!prompts) throw new BadRequestError('"prompt" is required', 'invalid_request')
  const out: Json = { ...body }
  const masked = await mapAsync(prompts, (p) => m.text(p as string))
  out.prompt = typeof body.prompt === 'string' ? masked[0] : masked
  if (typeof body.suffix === 'string') out.suffix = await m.text(body.suffix)
  await maskCommon(body, out, m)
  return out
}

/**
 * An embeddings request with its `input` (a string or strings) masked; token arrays are refused.
 *
 * @example
 * ```ts
 * await maskEmbeddingBody({ model: 'embed', input: ['ana@example.org'] }, tokenMasker)
 * ```
 */
export async function maskEmbeddingBody(body: Json, m: RequestMasker): Promise<Json> {
  const inputs = textInputs(body.input, 'input')
  if (!inputs) throw new BadRequestError('"input" is required', 'invalid_request')
  const masked = await mapAsync(inputs, (p) => m.text(p as string))
  const out: Json = { ...body, input: typeof body.input === 'string' ? masked[0] : masked }
  await maskCommon(body, out, m)
  return out
}

function restoreCall(call: unknown, s: PlaceholderSession): unknown {
  if (!isObject(call) || typeof call.arguments !== 'string') return call
  return { ...call, arguments: s.restoreJson(call.arguments) }
}

function restoreMessage(message: Json, s: PlaceholderSession): Json {
  const out: Json = { ...message }
  if (typeof message.content === 'string') out.content = s.restore(message.content)
  else if (Array.isArray(message.content)) {
    out.content = message.content.map((p) =>
      isObject(p) && typeof p.text === 'string' ? { ...p, text: s.restore(p.text) } : p,
    )
  }
  for (const f of TEXT_FIELDS) if (typeof message[f] === 'string') out[f] = s.restore(message[f])
  if (Array.isArray(message.tool_calls)) {
    out.tool_calls = message.tool_calls.map((tc) =>
      isObject(tc) && isObject(tc.function) ? { ...tc, function: restoreCall(tc.function, s) } : tc,
    )
  }
  if (isObject(message.function_call)) out.function_call = restoreCall(message.function_call, s)
  if (isObject(message.audio) && typeof message.audio.transcript === 'string')
    out.audio = { ...message.audio, transcript: s.restore(message.audio.transcript) }
  return out
}

/**
 * A chat or completions answer with the request's placeholders restored in message content,
 * refusals, reasoning, tool-call arguments (escaped for JSON) and completion text.
 *
 * @example
 * ```ts
 * ctx.body = restoreOpenAiAnswer(await response.json(), session)
 * ```
 */
export function restoreOpenAiAnswer(answer: unknown, s: PlaceholderSession): unknown {
  if (!isObject(answer) || !Array.isArray(answer.choices)) return answer
  return {
    ...answer,
    choices: answer.choices.map((c) => {
      if (!isObject(c)) return c
      const out: Json = { ...c }
      if (isObject(c.message)) out.message = restoreMessage(c.message, s)
      if (typeof c.text === 'string') out.text = s.restore(c.text)
      return out
    }),
  }
}

const USAGE = /"usage"\s*:\s*\{/

/**
 * Relays OpenAI stream events (chat completion chunks or completion chunks): restores each
 * choice's content, refusal, reasoning and completion text, and each tool call's arguments, as
 * separate channels (a chunk that says nothing once its text is held back is not sent); fails
 * closed (an `error` event, no `[DONE]`) when a choice finishes inside a placeholder; takes usage
 * from the chunk that carries it, and drops that chunk when the gate asked for usage and the
 * client did not (`stripUsage`). With `countText` every chunk is read, so the relayed text can be
 * counted when the upstream reports no usage.
 *
 * @example
 * ```ts
 * ctx.body = relay(result, openAiHandler(session, { stripUsage: true, countText: false }), onEnd)
 * ```
 */
export function openAiHandler(
  session: PlaceholderSession | undefined,
  options: { stripUsage: boolean; countText: boolean },
): EventHandler {
  const { stripUsage, countText } = options
  const channels = new Channels(session)
  const usage: StreamUsage = {}
  const restoring = session !== undefined && session.size > 0
  return {
    channels,
    usage,
    event(e: SseEvent) {
      if (e.comment !== undefined || e.data === '') return encodeSse(e)
      if (e.data === '[DONE]') return channels.holding() ? undefined : encodeSse(e)
      if (
        !countText &&
        !USAGE.test(e.data) &&
        (!restoring || (!mayHoldPlaceholder(e.data) && !channels.holding()))
      )
        return encodeSse(e)
      const chunk = parseEvent(e)
      if (!chunk) return encodeSse(e)
      // Whether the chunk must be written anew; unchanged, its own data goes on as it came.
      let changed = false
      const push = (channel: string, text: string, json: boolean): string => {
        const out = channels.push(channel, text, json)
        if (out !== text) changed = true
        return out
      }
      if (isObject(chunk.error) && typeof chunk.error.message === 'string' && session) {
        chunk.error = { ...chunk.error, message: session.restore(chunk.error.message) }
        changed = true
      }
      if (Array.isArray(chunk.choices)) {
        for (const [i, c] of chunk.choices.entries()) {
          if (!isObject(c)) continue
          const index = typeof c.index === 'number' ? c.index : i
          const d = c.delta
          if (isObject(d)) {
            if (typeof d.content === 'string')
              d.content = push(`${index}:content`, d.content, false)
            for (const f of TEXT_FIELDS)
              if (typeof d[f] === 'string') d[f] = push(`${index}:${f}`, d[f], false)
            if (Array.isArray(d.tool_calls)) {
              for (const tc of d.tool_calls) {
                if (
                  !isObject(tc) ||
                  !isObject(tc.function) ||
                  typeof tc.function.arguments !== 'string'
                )
                  continue
                const at = typeof tc.index === 'number' ? tc.index : 0
                tc.function.arguments = push(`${index}:tool:${at}`, tc.function.arguments, true)
              }
            }
            const fc = d.function_call
            if (isObject(fc) && typeof fc.arguments === 'string')
              fc.arguments = push(`${index}:function`, fc.arguments, true)
          }
          if (typeof c.text === 'string') c.text = push(`${index}:text`, c.text, false)
          if (
            c.finish_reason !== null &&
            c.finish_reason !== undefined &&
            channels.holding(`${index}:`)
          )
            return undefined
        }
      }
      // A chunk whose text changed and is now all empty had it held back whole: it carries
      // nothing and is not sent; the held text goes out with the chunk that completes or rules
      // out the placeholder.
      if (changed && onlyEmptyText(chunk)) return ''
      if (isObject(chunk.usage)) {
        if (typeof chunk.usage.prompt_tokens === 'number')
          usage.promptTokens = chunk.usage.prompt_tokens
        if (typeof chunk.usage.completion_tokens === 'number')
          usage.completionTokens = chunk.usage.completion_tokens
        if (stripUsage) {
          if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) return ''
          delete chunk.usage
          changed = true
        }
      }
      return changed ? withData(e, chunk) : encodeSse(e)
    },
    end: () => (channels.holding() ? undefined : ''),
    fail(code, message) {
      return encodeSse({ data: JSON.stringify({ error: { message, type: code, code } }) })
    },
  }
}

const CHUNK_KEYS = new Set(['id', 'object', 'created', 'model', 'system_fingerprint', 'choices'])
const CHOICE_KEYS = new Set(['index', 'delta', 'text', 'logprobs', 'finish_reason'])
const DELTA_TEXT = new Set(['content', ...TEXT_FIELDS])

/**
 * Whether a stream chunk says nothing once its text is held back: every text empty, and no role,
 * tool call, log-probabilities, finish reason, usage or other member a client could read.
 */
function onlyEmptyText(chunk: Json): boolean {
  for (const k of Object.keys(chunk))
    if (!CHUNK_KEYS.has(k) && chunk[k] !== null && chunk[k] !== undefined) return false
  if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) return false
  for (const c of chunk.choices) {
    if (!isObject(c)) return false
    for (const k of Object.keys(c)) if (!CHOICE_KEYS.has(k)) return false
    if ((c.logprobs ?? null) !== null || (c.finish_reason ?? null) !== null) return false
    if (c.text !== undefined && c.text !== '') return false
    if (c.delta === undefined) continue
    if (!isObject(c.delta)) return false
    for (const [k, v] of Object.entries(c.delta))
      if (v !== null && v !== undefined && (!DELTA_TEXT.has(k) || v !== '')) return false
  }
  return true
}

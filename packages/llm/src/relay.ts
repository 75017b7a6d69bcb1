import type { PlaceholderSession, StreamRestorer } from './placeholders.js'
import { pushSourceFor, pushStream, type ByteSink, type PushControl } from '@modelgate/core'
import { encodeSse, SseDecoder, type SseEvent } from './sse.js'
import type { UpstreamResult } from './types.js'

/**
 * Token usage an upstream reported in a stream.
 *
 * @example
 * ```ts
 * const usage: StreamUsage = { promptTokens: 412, completionTokens: 96 }
 * ```
 */
export interface StreamUsage {
  promptTokens?: number
  completionTokens?: number
}

/**
 * How a relayed stream ended, for facts and budgets: `done`, `client_closed`, `upstream_error`
 * (the upstream failed or fell silent mid-stream) or `placeholder_incomplete` (the answer ended
 * inside a placeholder and the relay failed closed).
 *
 * @example
 * ```ts
 * const summary: StreamSummary = { end: 'done', usage: { completionTokens: 12 }, text: 'Hi Ana' }
 * ```
 */
export interface StreamSummary {
  end: 'done' | 'client_closed' | 'upstream_error' | 'placeholder_incomplete'
  usage: StreamUsage
  /** The restored text relayed, for counting tokens when the upstream reported none. */
  text: string
}

/**
 * Restorers of one stream, one per channel (a choice's content, one tool call's arguments…).
 *
 * @example
 * ```ts
 * const channels = new Channels(session)
 * delta.content = channels.push('0:content', delta.content, false)
 * if (finished && channels.holding('0:')) failClosed()
 * ```
 */
export class Channels {
  private readonly map = new Map<string, StreamRestorer>()
  text = ''

  constructor(private readonly session: PlaceholderSession | undefined) {}

  /** Restores a piece of one channel; with no session the text goes out as it is. */
  push(channel: string, text: string, json: boolean): string {
    if (!this.session) {
      this.text += text
      return text
    }
    let r = this.map.get(channel)
    if (!r) {
      r = this.session.restorer(json)
      this.map.set(channel, r)
    }
    const out = r.push(text)
    this.text += out
    return out
  }

  /** Whether any channel, or any channel whose name starts with `prefix`, holds text back. */
  holding(prefix = ''): boolean {
    for (const [name, r] of this.map) if (r.pending !== '' && name.startsWith(prefix)) return true
    return false
  }
}

/**
 * What a protocol's relay does with each event: returns the text to send for it (`''` drops it),
 * or `undefined` to stop the stream failing closed, then `fail` says with what.
 *
 * @example
 * ```ts
 * const passThrough: EventHandler = {
 *   channels: new Channels(undefined),
 *   usage: {},
 *   event: (e) => encodeSse(e),
 *   end: () => '',
 *   fail: (code, message) => encodeSse({ data: JSON.stringify({ error: { code, message } }) }),
 * }
 * ```
 */
export interface EventHandler {
  event(e: SseEvent): string | undefined
  /** Called when the upstream stream ended normally; returns the final text or undefined to fail. */
  end(): string | undefined
  /** The error event to send when the relay fails closed or the upstream breaks off. */
  fail(code: string, message: string): string
  readonly usage: StreamUsage
  readonly channels: Channels
}

const INCOMPLETE = 'the answer ended inside a placeholder; the gate cannot restore it'
const UNRELAYABLE = 'the gate could not relay the answer'

/**
 * Relays an upstream's SSE answer as it arrives, each event through `handler`, with the
 * upstream's idle timeout between reads; cancelling the relayed stream aborts the upstream call.
 * `onEnd` is called once, however the stream ends. The relayed stream is a push source
 * (`pushStream`): a reader on the same runtime that takes it, as the Node adapter does, gets
 * every event the moment the upstream's bytes arrive, with no Web stream read in between.
 *
 * @example
 * ```ts
 * ctx.body = relay(result, openAiHandler(session, 'chat', false), (summary) => settle(summary))
 * ```
 */
export function relay(
  result: UpstreamResult,
  handler: EventHandler,
  onEnd: (summary: StreamSummary) => void,
): ReadableStream<Uint8Array> {
  return pushStream((sink) => relaySource(result, handler, onEnd, sink))
}

function relaySource(
  result: UpstreamResult,
  handler: EventHandler,
  onEnd: (summary: StreamSummary) => void,
  sink: ByteSink,
): PushControl {
  const decoder = new SseDecoder()
  const encoder = new TextEncoder()
  let ended = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let upstream: PushControl | undefined
  let cancelUpstream = false
  // What follows runs inside the upstream socket's events: nothing may throw out of it.
  const summary = (end: StreamSummary['end']) => {
    try {
      onEnd({ end, usage: handler.usage, text: handler.channels.text })
    } catch {
      // the stream ends all the same
    }
  }
  const failText = (code: string, message: string) => {
    try {
      return handler.fail(code, message)
    } catch {
      return ''
    }
  }
  /** Ends once: the last text, the summary (facts first: observers of the end read them), the end. */
  const finish = (end: StreamSummary['end'], last: string) => {
    if (ended) return
    ended = true
    clearTimeout(timer)
    try {
      if (last) sink.write(encoder.encode(last))
    } catch {
      // the reader is gone; it is told the end below
    }
    result.done()
    summary(end)
    try {
      sink.close()
    } catch {
      // nothing is left to tell
    }
  }
  const body = result.response.body
  if (!body) {
    finish('upstream_error', failText('upstream_error', 'empty upstream answer'))
    return { resume() {}, cancel() {} }
  }
  /** Stops the upstream and ends the relayed stream with `out` and an error event. */
  const failClosed = (out: string, end: StreamSummary['end'], message: string) => {
    result.abort(new Error('relay failed closed'))
    if (upstream) upstream.cancel()
    else cancelUpstream = true
    finish(end, out + failText(end, message))
  }
  // One timer per stream, re-armed only when it fires early: no timer churn per read. It counts
  // from the last read or resume, so an upstream that falls silent and a client that takes
  // nothing more both end the call after `idleTimeoutMs`.
  let lastRead = Date.now()
  const watch = () => {
    const silent = Date.now() - lastRead
    if (silent >= result.idleTimeoutMs) result.abort(new Error('upstream idle timeout'))
    else timer = setTimeout(watch, result.idleTimeoutMs - silent)
  }
  timer = setTimeout(watch, result.idleTimeoutMs)
  /** The text for these events; `failed` when the handler failed closed on one of them. */
  const relayed = (events: SseEvent[]): { out: string; failed: boolean } => {
    let out = ''
    for (const e of events) {
      const piece = handler.event(e)
      if (piece === undefined) return { out, failed: true }
      out += piece
    }
    return { out, failed: false }
  }
  /** Relays one read; false when the reader wants no more for now (or the relay ended). */
  const read = (bytes: Uint8Array): boolean => {
    lastRead = Date.now()
    const wasIdle = decoder.idle
    const { out, failed } = relayed(decoder.push(bytes))
    if (failed) {
      failClosed(out, 'placeholder_incomplete', INCOMPLETE)
      return false
    }
    if (out === '') return true
    // Events relayed as they came, whole: the upstream's own bytes go on, not a copy.
    const same =
      wasIdle && decoder.idle && bytes[bytes.length - 1]! < 0x80 && out === decoder.lastText
    return sink.write(same ? bytes : encoder.encode(out))
  }
  upstream = pushSourceFor(body)({
    write(bytes) {
      if (ended) return false
      try {
        return read(bytes)
      } catch {
        failClosed('', 'upstream_error', UNRELAYABLE)
        return false
      }
    },
    close() {
      if (ended) return
      try {
        const { out, failed } = relayed(decoder.end())
        const tail = failed ? undefined : handler.end()
        if (tail === undefined) failClosed(out, 'placeholder_incomplete', INCOMPLETE)
        else finish('done', out + tail)
      } catch {
        failClosed('', 'upstream_error', UNRELAYABLE)
      }
    },
    error() {
      finish('upstream_error', failText('upstream_error', 'the model server broke off the answer'))
    },
  })
  if (cancelUpstream) upstream.cancel()
  return {
    resume() {
      lastRead = Date.now()
      upstream.resume()
    },
    cancel(reason) {
      if (ended) return
      ended = true
      clearTimeout(timer)
      result.abort(reason)
      upstream.cancel(reason)
      result.done()
      summary('client_closed')
    },
  }
}

/**
 * Whether an event's data may hold part of a placeholder: a `<`, also as JSON writes it when it
 * escapes HTML characters (`\u003c`, as servers written in Go such as Ollama do).
 *
 * @example
 * ```ts
 * mayHoldPlaceholder('{"content":"\\u003cEMAIL_1\\u003e"}') // true
 * ```
 */
export function mayHoldPlaceholder(data: string): boolean {
  return data.includes('<') || data.includes('\\u003c') || data.includes('\\u003C')
}

/**
 * An event's data as a JSON object, or undefined when it is not one (it is then relayed as is).
 *
 * @example
 * ```ts
 * parseEvent({ data: '{"type":"ping"}' }) // { type: 'ping' }
 * parseEvent({ data: '[DONE]' }) // undefined
 * ```
 */
export function parseEvent(e: SseEvent): Record<string, unknown> | undefined {
  try {
    const data: unknown = JSON.parse(e.data)
    return typeof data === 'object' && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Re-serialises an event with new data, keeping its name and id.
 *
 * @example
 * ```ts
 * withData({ event: 'content_block_delta', data: '…' }, restored) // 'event: content_block_delta\ndata: {…}\n\n'
 * ```
 */
export function withData(e: SseEvent, data: unknown): string {
  return encodeSse({ ...e, data: JSON.stringify(data) })
}

export { encodeSse }

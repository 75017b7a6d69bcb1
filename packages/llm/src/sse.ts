/**
 * One server-sent event: its `event` name (absent for the default `message`), its data (the
 * `data:` lines joined with `\n`), and `id` / `retry` when the server sent them. A comment line
 * (`: keep-alive`) is kept as an event with `comment` set and no data, so relays can forward it.
 *
 * @example
 * ```ts
 * const e: SseEvent = { event: 'content_block_delta', data: '{"type":"content_block_delta"}' }
 * ```
 */
export interface SseEvent {
  event?: string
  data: string
  id?: string
  retry?: number
  comment?: string
}

/**
 * Decodes a `text/event-stream` body as it arrives: bytes are decoded as UTF-8 across network
 * reads (a character split between two reads is joined), lines may end with CRLF, LF or CR (also
 * a CR at the end of one read and the LF at the start of the next), and an event is complete at
 * its blank line, as the HTML standard's event-stream parser defines.
 *
 * @example
 * ```ts
 * const decoder = new SseDecoder()
 * for await (const chunk of response.body!) {
 *   for (const event of decoder.push(chunk)) console.log(event.data)
 * }
 * for (const event of decoder.end()) console.log(event.data)
 * ```
 */
export class SseDecoder {
  private readonly text = new TextDecoder('utf-8')
  private buffer = ''
  private skipLf = false
  private data: string[] = []
  private event: string | undefined
  private id: string | undefined
  private retry: number | undefined
  private started = false
  private decoded = ''

  /** The text the last `push` decoded from its bytes. */
  get lastText(): string {
    return this.decoded
  }

  /** The events completed by these bytes. */
  push(bytes: Uint8Array): SseEvent[] {
    const text = this.text.decode(bytes, { stream: true })
    this.decoded = text
    // The common read of a token stream: one whole one-line `data:` event, nothing else open.
    if (this.started && this.idle && text.startsWith('data: ') && text.endsWith('\n\n')) {
      const data = text.slice(6, -2)
      if (!data.includes('\n') && !data.includes('\r')) return [{ data }]
    }
    return this.lines(text, false)
  }

  /**
   * Whether the text so far ended at an event's end: no part of a line or event is waiting for
   * the next read. (The first bytes of a character split at the end of a read are not text yet,
   * so they are not seen here.)
   */
  get idle(): boolean {
    return (
      this.buffer === '' &&
      !this.skipLf &&
      this.data.length === 0 &&
      this.event === undefined &&
      this.id === undefined &&
      this.retry === undefined
    )
  }

  /** The events left when the body ended (an event without its closing blank line included). */
  end(): SseEvent[] {
    return this.lines(this.text.decode(), true)
  }

  private lines(chunk: string, final: boolean): SseEvent[] {
    const out: SseEvent[] = []
    let text = this.buffer + chunk
    if (!this.started && text.length > 0) {
      this.started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    let start = 0
    if (this.skipLf && text.charCodeAt(0) === 10) start = 1
    this.skipLf = false
    const n = text.length
    let i = start
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c !== 10 && c !== 13) {
        i++
        continue
      }
      this.line(text.slice(start, i), out)
      if (c === 13) {
        if (i + 1 < n) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else this.skipLf = true
      }
      i++
      start = i
    }
    this.buffer = text.slice(start)
    if (final) {
      if (this.buffer !== '') this.line(this.buffer, out)
      this.buffer = ''
      this.dispatch(out)
    }
    return out
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      this.dispatch(out)
      return
    }
    const colon = line.indexOf(':')
    if (colon === 0) {
      out.push({ data: '', comment: line.slice(1).trimStart() })
      return
    }
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (field) {
      case 'data':
        this.data.push(value)
        break
      case 'event':
        this.event = value
        break
      case 'id':
        if (!value.includes('\0')) this.id = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value)
        break
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data.length > 0 || this.event !== undefined) {
      const e: SseEvent = { data: this.data.join('\n') }
      if (this.event !== undefined) e.event = this.event
      if (this.id !== undefined) e.id = this.id
      if (this.retry !== undefined) e.retry = this.retry
      out.push(e)
    }
    this.data = []
    this.event = undefined
    this.id = undefined
    this.retry = undefined
  }
}

/**
 * Writes one event in `text/event-stream` form, ending with its blank line. Data holding line
 * breaks is written as several `data:` lines.
 *
 * @example
 * ```ts
 * encodeSse({ event: 'ping', data: '{"type":"ping"}' }) // 'event: ping\ndata: {"type":"ping"}\n\n'
 * ```
 */
export function encodeSse(e: SseEvent): string {
  if (e.comment !== undefined) return `: ${e.comment.replace(/[\r\n]+/g, ' ')}\n\n`
  let out = ''
  if (e.event !== undefined) out += `event: ${e.event}\n`
  if (e.id !== undefined) out += `id: ${e.id}\n`
  if (e.retry !== undefined) out += `retry: ${e.retry}\n`
  const data = e.data
  if (data.includes('\n') || data.includes('\r')) {
    for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  } else out += `data: ${data}\n`
  return out + '\n'
}

/**
 * Where a {@link PushSource} delivers its bytes. After `close` or `error` it is called no more.
 *
 * @example
 * ```ts
 * const sink: ByteSink = {
 *   write: (chunk) => socket.write(chunk),
 *   close: () => socket.end(),
 *   error: () => socket.destroy(),
 * }
 * ```
 */
export interface ByteSink {
  /** Takes one chunk; `false` asks the source to wait for `resume()` before the next one. */
  write(chunk: Uint8Array): boolean
  /** The bytes ended normally. */
  close(): void
  /** The bytes broke off. */
  error(reason: unknown): void
}

/**
 * How the reader of a {@link PushSource} steers it once started.
 *
 * @example
 * ```ts
 * const control = source(sink)
 * socket.on('drain', () => control.resume())
 * socket.on('close', () => control.cancel(new Error('client went away')))
 * ```
 */
export interface PushControl {
  /** Go on after a `write` answered `false`. */
  resume(): void
  /**
   * The reader wants nothing more: stop, and release what the source holds; a promise when the
   * source has more to finish (the stream's `cancel()` waits for it).
   */
  cancel(reason?: unknown): void | Promise<void>
}

/**
 * Bytes pushed to a sink as they come, with backpressure: `write` answering `false` pauses the
 * source until `resume()`. Started once, by calling it with the sink.
 *
 * @example
 * ```ts
 * const source: PushSource = (sink) => {
 *   socket.on('data', (chunk) => sink.write(chunk) || socket.pause())
 *   socket.on('end', () => sink.close())
 *   return { resume: () => socket.resume(), cancel: () => socket.destroy() }
 * }
 * ```
 */
export type PushSource = (sink: ByteSink) => PushControl

const PUSH_SOURCE = Symbol.for('modelgate.pushSource')

type WithPushSource = ReadableStream<Uint8Array> & { [PUSH_SOURCE]?: () => PushSource | undefined }

const NOWHERE: ByteSink = { write: () => false, close() {}, error() {} }

/**
 * A Web `ReadableStream` over a push source that a reader on the same runtime can also take as
 * the source itself ({@link takePushSource}), so that a streamed answer relayed through several
 * layers (upstream body, relay, observers, the server's writer) costs no promise per chunk and
 * layer. Read as a Web stream, the source starts at the first read and pauses when `queue`
 * chunks wait unread (0: one chunk is produced per read); cancelled before any read, it is
 * started and cancelled at once, so it releases what it holds.
 *
 * @example
 * ```ts
 * const body = pushStream((sink) => {
 *   emitter.on('chunk', (bytes) => sink.write(bytes) || emitter.pause())
 *   emitter.on('end', () => sink.close())
 *   return { resume: () => emitter.resume(), cancel: () => emitter.stop() }
 * }, 16)
 * return new Response(body)
 * ```
 */
export function pushStream(source: PushSource, queue = 0): ReadableStream<Uint8Array> {
  let state: 'waiting' | 'read' | 'taken' = 'waiting'
  let control: PushControl | undefined
  let finished = false
  // A chunk handed to a waiting read can make the stream pull again at once (another read is
  // waiting): that pull must not be lost as a resume before `write` has even answered.
  let writing = false
  let pulledWhileWriting = false
  const stream: WithPushSource = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (writing) {
          pulledWhileWriting = true
          return
        }
        if (control) {
          control.resume()
          return
        }
        state = 'read'
        control = source({
          write(chunk) {
            if (finished) return false
            writing = true
            pulledWhileWriting = false
            try {
              controller.enqueue(chunk)
            } finally {
              writing = false
            }
            return pulledWhileWriting || (controller.desiredSize ?? 0) > -queue
          },
          close() {
            if (finished) return
            finished = true
            controller.close()
          },
          error(reason) {
            if (finished) return
            finished = true
            controller.error(reason)
          },
        })
      },
      cancel(reason) {
        finished = true
        if (state === 'waiting') {
          state = 'read'
          control = source(NOWHERE)
        }
        return control?.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
  stream[PUSH_SOURCE] = () => {
    if (state !== 'waiting' || stream.locked) return undefined
    state = 'taken'
    // Locked and never read: the Web side of the stream never starts the source.
    stream.getReader()
    return source
  }
  return stream
}

/**
 * The push source behind a stream made by {@link pushStream}, if nobody has read, cancelled or
 * taken it: the stream is then locked, and the caller starts the source instead of reading.
 *
 * @example
 * ```ts
 * const source = takePushSource(reply.body)
 * if (source) source({ write: (c) => res.write(c), close: () => res.end(), error: () => res.destroy() })
 * ```
 */
export function takePushSource(stream: ReadableStream<Uint8Array>): PushSource | undefined {
  return (stream as WithPushSource)[PUSH_SOURCE]?.()
}

/**
 * Any byte stream as a push source: the source behind it when it has one
 * ({@link takePushSource}), otherwise its reader, read while the sink takes more.
 *
 * @example
 * ```ts
 * const control = pushSourceFor(response.body!)({ write, close, error })
 * ```
 */
export function pushSourceFor(stream: ReadableStream<Uint8Array>): PushSource {
  const taken = takePushSource(stream)
  if (taken) return taken
  return (sink) => {
    const reader = stream.getReader()
    let paused = false
    let stopped = false
    let writing = false
    let resumedWhileWriting = false
    let wake: (() => void) | undefined
    const resume = () => {
      if (writing) resumedWhileWriting = true
      paused = false
      const w = wake
      wake = undefined
      w?.()
    }
    void (async () => {
      try {
        for (;;) {
          if (paused) await new Promise<void>((r) => (wake = r))
          if (stopped) return
          const { done, value } = await reader.read()
          if (stopped) return
          if (done) {
            stopped = true
            sink.close()
            return
          }
          writing = true
          resumedWhileWriting = false
          const more = sink.write(value)
          writing = false
          if (!more && !resumedWhileWriting) paused = true
        }
      } catch (error) {
        writing = false
        if (stopped) return
        stopped = true
        reader.cancel(error).catch(() => undefined)
        try {
          sink.error(error)
        } catch {
          // the sink is gone as well
        }
      }
    })()
    return {
      resume,
      cancel(reason) {
        stopped = true
        resume()
        reader.cancel(reason).catch(() => undefined)
      },
    }
  }
}

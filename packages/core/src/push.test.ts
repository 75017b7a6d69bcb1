import { describe, expect, it } from 'vitest'
import {
  pushSourceFor,
  pushStream,
  takePushSource,
  type ByteSink,
  type PushSource,
} from './push.js'

const bytes = (n: number) => new Uint8Array([n])

/** A source that writes `count` chunks one per macrotask while its sink takes them. */
function counting(count: number) {
  const log: string[] = []
  let next = 0
  let paused = false
  let sink: ByteSink | undefined
  const pump = () => {
    while (!paused && next < count) {
      const n = next++
      log.push(`write ${n}`)
      if (!sink!.write(bytes(n))) {
        paused = true
        log.push('paused')
      }
    }
    if (next === count && !paused) sink!.close()
  }
  const source: PushSource = (s) => {
    sink = s
    log.push('started')
    setTimeout(pump, 0)
    return {
      resume() {
        if (!paused) return
        paused = false
        log.push('resumed')
        setTimeout(pump, 0)
      },
      cancel(reason) {
        log.push(`cancelled ${String(reason)}`)
      },
    }
  }
  return { source, log }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = []
  for await (const chunk of stream) out.push(chunk[0]!)
  return out
}

describe('pushStream', () => {
  it('reads as a Web stream, starting the source at the first read and pausing it when `queue` chunks wait', async () => {
    const { source, log } = counting(6)
    const stream = pushStream(source, 2)
    await new Promise((r) => setTimeout(r, 10))
    expect(log).toEqual([]) // nobody read yet
    const reader = stream.getReader()
    expect((await reader.read()).value![0]).toBe(0)
    await new Promise((r) => setTimeout(r, 10))
    // The first chunk went to the waiting read; two more wait unread, then the source paused.
    expect(log).toEqual(['started', 'write 0', 'write 1', 'write 2', 'paused'])
    const rest: number[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest.push(value[0]!)
    }
    expect(rest).toEqual([1, 2, 3, 4, 5])
    expect(log).toContain('resumed')
  })

  it('serves two reads made at once without losing the second', async () => {
    const { source } = counting(3)
    const reader = pushStream(source).getReader()
    const [a, b] = await Promise.all([reader.read(), reader.read()])
    expect([a.value![0], b.value![0]]).toEqual([0, 1])
    expect((await reader.read()).value![0]).toBe(2)
    expect((await reader.read()).done).toBe(true)
  })

  it('produces one chunk per read with no queue', async () => {
    const { source, log } = counting(3)
    expect(await readAll(pushStream(source))).toEqual([0, 1, 2])
    expect(log.filter((l) => l === 'paused')).toHaveLength(3)
  })

  it('gives its source to one taker, who then pushes while the Web side stays locked and idle', async () => {
    const { source, log } = counting(3)
    const stream = pushStream(source)
    const taken = takePushSource(stream)
    expect(taken).toBe(source)
    expect(takePushSource(stream)).toBeUndefined()
    expect(stream.locked).toBe(true)
    const got: number[] = []
    await new Promise<void>((resolve) => {
      taken!({ write: (c) => got.push(c[0]!) > 0, close: resolve, error: resolve })
    })
    expect(got).toEqual([0, 1, 2])
    expect(log.filter((l) => l === 'started')).toHaveLength(1)
  })

  it('is not taken once read, nor once cancelled', async () => {
    const read = pushStream(counting(2).source)
    const reader = read.getReader()
    await reader.read()
    reader.releaseLock()
    expect(takePushSource(read)).toBeUndefined()
    const cancelled = pushStream(counting(2).source)
    await cancelled.cancel('gone')
    expect(takePushSource(cancelled)).toBeUndefined()
  })

  it('starts and cancels its source when cancelled before any read, so the source lets go', async () => {
    const { source, log } = counting(2)
    await pushStream(source).cancel('client gone')
    expect(log).toEqual(['started', 'cancelled client gone'])
  })

  it('errors the Web stream when the source breaks off', async () => {
    const stream = pushStream((sink) => {
      setTimeout(() => {
        sink.write(bytes(1))
        sink.error(new Error('connection reset'))
      }, 0)
      return { resume() {}, cancel() {} }
    }, 4)
    await expect(readAll(stream)).rejects.toThrow('connection reset')
  })
})

describe('pushSourceFor', () => {
  it('takes the push source of a pushStream', () => {
    const { source } = counting(1)
    expect(pushSourceFor(pushStream(source))).toBe(source)
  })

  it('reads a plain stream while the sink takes more, and waits for resume when it does not', async () => {
    let pulled = 0
    const plain = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (pulled === 5) c.close()
          else c.enqueue(bytes(pulled++))
        },
      },
      { highWaterMark: 0 },
    )
    const got: number[] = []
    let closed = false
    const control = pushSourceFor(plain)({
      write(c) {
        got.push(c[0]!)
        return got.length !== 2 // the second chunk asks for a pause
      },
      close: () => (closed = true),
      error() {},
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toEqual([0, 1])
    control.resume()
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toEqual([0, 1, 2, 3, 4])
    expect(closed).toBe(true)
  })

  it('cancels the plain stream it reads when cancelled, and reports its failure otherwise', async () => {
    let cancelled: unknown
    const endless = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(bytes(0)),
      cancel: (reason) => void (cancelled = reason),
    })
    const control = pushSourceFor(endless)({ write: () => false, close() {}, error() {} })
    await new Promise((r) => setTimeout(r, 5))
    await control.cancel('enough')
    expect(cancelled).toBe('enough')

    const failing = new ReadableStream<Uint8Array>({
      pull: (c) => c.error(new Error('upstream reset')),
    })
    const failure = await new Promise((resolve) =>
      pushSourceFor(failing)({ write: () => true, close: () => resolve('closed'), error: resolve }),
    )
    expect(String(failure)).toContain('upstream reset')
  })
})

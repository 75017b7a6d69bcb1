import { describe, expect, it } from 'vitest'
import type { BatchStatus } from './batch.js'
import { batchProgress } from './progress.js'

const status = (rowsDone: number, extra: Partial<BatchStatus> = {}): BatchStatus => ({
  id: 'explain-abc-0f',
  kind: 'explain',
  state: 'running',
  created: 0,
  rows: 1000,
  chunks: 10,
  chunkSize: 100,
  processed: Math.floor(rowsDone / 100),
  failed: 0,
  pending: 10 - Math.floor(rowsDone / 100),
  running: 2,
  rowsDone,
  failures: [],
  ...extra,
})

function stream(isTTY: boolean) {
  const written: string[] = []
  return { written, isTTY, columns: 100, write: (s: string) => (written.push(s), true) }
}

describe('batchProgress', () => {
  it('prints plain lines when not a terminal: rows/s, ETA, failed chunks, at most every 10 s or on a new state', () => {
    let t = 0
    const out = stream(false)
    const show = batchProgress(out, { now: () => t })
    show.update(status(0))
    t = 5_000
    show.update(status(100))
    t = 10_000
    show.update(status(200, { failed: 1 }))
    t = 12_000
    show.update(status(1000, { state: 'done', pending: 0, running: 0 }))
    show.done()
    expect(out.written).toEqual([
      'batch explain-abc-0f running: 0/1000 rows  0.0 rows/s  ETA ?, 2 chunks running\n',
      'batch explain-abc-0f running: 200/1000 rows  20.0 rows/s  ETA 40s  1 failed chunk, 2 chunks running\n',
      'batch explain-abc-0f done: 1000/1000 rows  83.3 rows/s  ETA 0s, 0 chunks running\n',
    ])
  })

  it('redraws one bar on a terminal and ends it with a newline', () => {
    let t = 0
    const out = stream(true)
    const show = batchProgress(out, { now: () => t })
    show.update(status(0))
    t = 60_000
    show.update(status(500, { failed: 2 }))
    show.done()
    expect(out.written).toHaveLength(3)
    expect(out.written[1]).toMatch(
      /^\r\[#+-+\] 500\/1000 rows  8\.3 rows\/s  ETA 1m00s  2 failed chunks\x1b\[K$/,
    )
    expect(out.written[2]).toBe('\n')
  })
})

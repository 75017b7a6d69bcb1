import { describe, expect, it } from 'vitest'
import { createAuditTrail } from './trail.js'
import type { AuditEntry, AuditSink } from './types.js'
import { recordFields as fields } from '../test/helpers.js'

/** A sink whose writes wait until `release()`; it keeps what it was given. */
function gatedSink() {
  const written: AuditEntry[] = []
  let open!: () => void
  let gate = new Promise<void>((resolve) => (open = resolve))
  const sink: AuditSink = {
    kind: 'gated',
    durable: false,
    open: async () => undefined,
    write: async (entries) => {
      await gate
      written.push(...entries)
    },
    close: async () => undefined,
  }
  return {
    sink,
    written,
    release: () => {
      open()
      gate = Promise.resolve()
    },
  }
}

describe('AuditTrail queue bound', () => {
  it('refuses records past maxQueue, counts them, reports one error each, and recovers', async () => {
    const { sink, written, release } = gatedSink()
    const errors: unknown[] = []
    const trail = createAuditTrail({ sink, maxQueue: 3, onError: (e) => errors.push(e) })
    // The first record holds the writer until the sink is released.
    const first = trail.append(fields('first'))
    await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 5; i++) trail.submit(fields(`s${i}`))
    await expect(trail.append(fields('refused'))).rejects.toMatchObject({
      code: 'audit_unavailable',
      status: 503,
    })
    const health = trail.health()
    expect(health.ok).toBe(false)
    expect(health.pending).toBe(3)
    expect(health.failed).toBe(3)
    expect(health.lastError).toBe('audit queue is full')
    expect(errors).toHaveLength(3)
    release()
    await first
    await trail.flush()
    const ids = written.flatMap((e) => (e.type === 'record' ? [e.record.requestId] : []))
    expect(ids).toEqual(['first', 's0', 's1', 's2'])
    expect(trail.health()).toMatchObject({ ok: true, written: 4, failed: 3, pending: 0 })
    await trail.close()
  })
})

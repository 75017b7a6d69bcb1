import type { AuditEntry, AuditFields, AuditRecord, AuditSink } from '../src/types.js'

declare module '@modelgate/core' {
  interface GateFacts {
    /** What the masking plugin records; the tests set it as that plugin would. */
    masking?: Record<string, number>
  }
}

/** The facts of one ordinary answered request, for trail and sink tests. */
export const recordFields = (requestId: string): AuditFields => ({
  time: new Date(0).toISOString(),
  requestId,
  clientRequestId: null,
  principal: 'p',
  tenant: null,
  model: 'm',
  modelVersion: null,
  action: 'predict',
  route: 'v2-infer',
  routeName: null,
  decision: null,
  status: 200,
  error: null,
  latencyMs: 1,
  facts: {},
})

/** A sink that keeps what it stores, for tests that read records without a file. */
export function memorySink(durable = true) {
  const records: AuditRecord[] = []
  const entries: AuditEntry[] = []
  const sink: AuditSink = {
    kind: 'memory',
    durable,
    async open() {
      return undefined
    },
    async write(batch) {
      entries.push(...batch)
      for (const e of batch) if (e.type === 'record') records.push(e.record)
    },
    async close() {},
  }
  return { sink, records, entries }
}

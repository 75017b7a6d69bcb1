import type { AuditFields } from '../src/types.js'

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

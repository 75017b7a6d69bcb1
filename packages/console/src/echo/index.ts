import { isPlainObject, type Plugin } from '@modelgate/core'
import type { EchoRecordsOptions } from '../types.js'

/**
 * Echoes each V1 record, as the model received it, into its prediction
 * (`{"default_probability": 0.08, "name": "PERSON_9f86…", …}`), so a client sees what the gate
 * did to its input. Place it after `mask` in the plugin list (inside it): the echo then holds the
 * masked values, and the mask plugin reveals only the fields `ctx.decision.unmask` grants, as it
 * does for every prediction field. Prediction fields win over record fields of the same name.
 *
 * @example
 * ```ts
 * createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [authenticate(auth), authorize({ policy }), mask({ key }), echoRecords()],
 * })
 * ```
 */
export const echoRecords = (options: EchoRecordsOptions = {}): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('echoRecords: options must be an object')
  const fields = options.fields
  if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')))
    throw new TypeError('echoRecords: fields must be a list of field names')
  const wanted = fields ? new Set(fields) : undefined

  return async function echoRecords(ctx, next) {
    const kind = ctx.route.kind
    if ((kind !== 'v1-predict' && kind !== 'v1-explain') || ctx.request.method !== 'POST')
      return next()
    const records = await ctx.records()
    await next()
    const body = ctx.body
    if (!isPlainObject(body) || !Array.isArray(body.predictions)) return
    if (body.predictions.length !== records.length) return
    body.predictions = body.predictions.map((p: unknown, i: number) => {
      const record = records[i]
      if (!isPlainObject(record)) return p
      const echo: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(record)) if (!wanted || wanted.has(k)) echo[k] = v
      return isPlainObject(p) ? { ...echo, ...p } : { ...echo, prediction: p }
    })
  }
}

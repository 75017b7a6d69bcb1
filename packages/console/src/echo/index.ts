import { checkOptionKeys, isPlainObject } from '@modelgate/core'
import type { Plugin, Tensor } from '@modelgate/core'
import type { EchoRecordsOptions } from '../types.js'

/**
 * Echoes each V1 record, as the model received it, into its prediction
 * (`{"default_probability": 0.08, "name": "PERSON_9f86…", …}`), so a client sees what the gate
 * did to its input. Place it inside `mask` in the plugin list: the echo then holds the masked
 * values. The echo is data, not a rewritten body: on its way out the plugin adds one output tensor
 * per echoed field (`FP64` for numbers, `BOOL` for booleans, `BYTES` otherwise; a missing value is
 * `null` for numbers and `""` for text), which core's V1 encoder puts into every prediction record
 * beside the model's outputs. Output names win over record fields of the same name; V2 routes are
 * left alone.
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
  checkOptionKeys('echoRecords', options, { fields: true })
  const fields = options.fields
  if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')))
    throw new TypeError('echoRecords: fields must be a list of field names')
  const wanted = fields ? new Set(fields) : undefined

  return async function echoRecords(ctx, next) {
    await next()
    const kind = ctx.route.kind
    const outputs = ctx.outputs
    if ((kind !== 'v1-predict' && kind !== 'v1-explain') || !outputs) return
    const records = (await ctx.records()).map((r) => (isPlainObject(r) ? r : {}))
    if (outputs[0]?.shape[0] !== records.length) return
    const taken = new Set<string>()
    for (const t of outputs) {
      taken.add(t.name)
      for (const column of ctx.model?.schema?.outputColumns(t.name) ?? []) taken.add(column)
    }
    const names: string[] = []
    for (const record of records) {
      for (const name of Object.keys(record)) {
        if (taken.has(name) || (wanted && !wanted.has(name))) continue
        taken.add(name)
        names.push(name)
      }
    }
    ctx.outputs = [
      ...outputs,
      ...names.map((name) =>
        column(
          name,
          records.map((r) => r[name]),
        ),
      ),
    ]
  }
}

/** One echoed field as a `[rows]` tensor. */
function column(name: string, values: unknown[]): Tensor {
  const shape = [values.length]
  if (values.every((v) => v === undefined || v === null || typeof v === 'number'))
    return {
      name,
      datatype: 'FP64',
      shape,
      data: Float64Array.from(values, (v) => (v as number) ?? NaN),
    }
  if (values.every((v) => typeof v === 'boolean'))
    return { name, datatype: 'BOOL', shape, data: Uint8Array.from(values, (v) => (v ? 1 : 0)) }
  const text = values.map((v) =>
    typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v),
  )
  return { name, datatype: 'BYTES', shape, data: text }
}

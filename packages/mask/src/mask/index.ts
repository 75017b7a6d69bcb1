import { isPlainObject, type GateContext, type Plugin } from '@modelgate/core'
import { maskError } from '../log.js'
import { createMasker, type Masker } from '../masker.js'
import type { FieldRule, MaskCounts, MaskOptions } from '../types.js'

const INFER_ROUTES = new Set(['v2-infer', 'v2-explain', 'v1-predict', 'v1-explain'])

/**
 * The masking plugin. Before the model: masks V1 record fields (schema fields tagged `pii` by
 * their entity rule, `text` fields and other strings by scanning) and V2 `BYTES` inputs, then
 * replaces the body so the model and everything after it see masked data only. After the model:
 * masks outputs (including Laplace noise on numeric outputs), explanations and error messages,
 * records entity counts (never values) in `ctx.audit.masking`, and reverses reversible tokens only
 * for fields the access decision grants (`ctx.decision.unmask`: field names or `*`).
 *
 * @example
 * ```ts
 * import { createGate } from '@modelgate/core'
 * import { mask } from '@modelgate/mask'
 *
 * const gate = createGate({
 *   models: [{ name: 'credit', backend, schema }],
 *   plugins: [
 *     mask({
 *       key: process.env.MASK_KEY!,
 *       policy: {
 *         entities: { CREDIT_CARD: { op: 'fpe' }, EMAIL_ADDRESS: { op: 'pseudonymize' }, '*': { op: 'replace' } },
 *         outputs: { probability: { op: 'noise', epsilon: 1, sensitivity: 0.01 } },
 *       },
 *     }),
 *   ],
 * })
 * ```
 */
export const mask = (options: MaskOptions = {}): Plugin => {
  if (!options || typeof options !== 'object')
    throw new TypeError('mask: options must be an object')
  if (options.tenant !== undefined && typeof options.tenant !== 'function') {
    throw new TypeError('mask: tenant must be a function of the context')
  }
  const scope = {
    request: true,
    response: true,
    explanations: true,
    errors: true,
    ...options.scope,
  }
  for (const [k, v] of Object.entries(scope)) {
    if (typeof v !== 'boolean') throw new TypeError(`mask: scope.${k} must be a boolean`)
  }
  const masker = createMasker(options)
  const outputs = masker.policy.outputs ?? {}
  const tenantOf = options.tenant ?? ((ctx: GateContext) => ctx.principal?.tenant ?? 'default')

  return async function mask(ctx, next) {
    const tenant = tenantOf(ctx)
    const counts: MaskCounts = {}
    const fieldRules: Record<string, FieldRule> = { ...masker.policy.fields }
    ctx.audit.masking = counts
    if (
      scope.request &&
      INFER_ROUTES.has(ctx.route.kind) &&
      ctx.request.method === 'POST' &&
      ctx.model
    ) {
      const schema = ctx.model.schema
      const skip: string[] = []
      if (schema) {
        for (const f of schema.piiFields()) {
          fieldRules[f.name] ??= f.text
            ? { op: 'scan' }
            : { ...masker.entityRule(f.pii), type: f.pii }
        }
        for (const f of schema.definition.features)
          if (f.type === 'categorical' && !f.pii) skip.push(f.name)
      }
      const body = await ctx.json()
      const masked = ctx.route.kind.startsWith('v1')
        ? (await masker.applyPolicy(body, { tenant, fields: fieldRules, skip, counts })).value
        : await maskV2Inputs(masker, body, fieldRules, tenant, counts)
      ctx.replaceJson(masked)
    }
    try {
      await next()
    } catch (error) {
      throw scope.errors ? maskError(error) : error
    }
    if (scope.explanations && ctx.explanation !== undefined) {
      ctx.explanation = await maskExplanation(masker, ctx.explanation, fieldRules, tenant, counts)
    }
    if (scope.response && isPlainObject(ctx.body)) {
      const body = { ...(ctx.body as Record<string, unknown>) }
      if (Array.isArray(body.outputs))
        body.outputs = await maskV2Outputs(masker, body.outputs, outputs, tenant, counts)
      if (Array.isArray(body.predictions)) {
        body.predictions = (
          await masker.applyPolicy(body.predictions, { tenant, fields: outputs, counts })
        ).value
      }
      if (body.explanations !== undefined) {
        body.explanations = await maskExplanation(
          masker,
          body.explanations,
          fieldRules,
          tenant,
          counts,
        )
      }
      const grants = ctx.decision?.unmask ?? []
      if (grants.length > 0)
        await reveal(masker, body, new Set(grants), { ...fieldRules, ...outputs }, tenant)
      ctx.body = body
    }
  }
}

async function maskV2Inputs(
  masker: Masker,
  body: unknown,
  rules: Record<string, FieldRule>,
  tenant: string,
  counts: MaskCounts,
): Promise<unknown> {
  if (!isPlainObject(body) || !Array.isArray(body.inputs)) return body
  const inputs = []
  for (const input of body.inputs as unknown[]) {
    if (!isPlainObject(input) || typeof input.name !== 'string') {
      inputs.push(input)
      continue
    }
    const rule = rules[input.name]
    if (rule && rule.op !== 'scan') {
      counts[rule.type ?? 'FIELD'] = (counts[rule.type ?? 'FIELD'] ?? 0) + 1
      inputs.push({
        ...input,
        data: await masker.maskValue(input.data, rule, {
          tenant,
          field: input.name,
          ...(rule.type ? { type: rule.type } : {}),
        }),
      })
    } else if (input.datatype === 'BYTES' || rule?.op === 'scan') {
      inputs.push({
        ...input,
        data: (await masker.applyPolicy(input.data, { tenant, counts })).value,
      })
    } else inputs.push(input)
  }
  return { ...body, inputs }
}

async function maskV2Outputs(
  masker: Masker,
  outputs: unknown[],
  rules: Record<string, FieldRule>,
  tenant: string,
  counts: MaskCounts,
): Promise<unknown[]> {
  const out = []
  for (const o of outputs) {
    if (!isPlainObject(o) || typeof o.name !== 'string') {
      out.push(o)
      continue
    }
    const rule = rules[o.name]
    if (rule && rule.op !== 'scan')
      out.push({ ...o, data: await masker.maskValue(o.data, rule, { tenant, field: o.name }) })
    else if (o.datatype === 'BYTES' || rule)
      out.push({ ...o, data: (await masker.applyPolicy(o.data, { tenant, counts })).value })
    else out.push(o)
  }
  return out
}

async function maskExplanation(
  masker: Masker,
  node: unknown,
  rules: Record<string, FieldRule>,
  tenant: string,
  counts: MaskCounts,
): Promise<unknown> {
  if (typeof node === 'string') {
    const r = await masker.maskText(node, { tenant })
    for (const [t, n] of Object.entries(r.counts)) counts[t] = (counts[t] ?? 0) + n
    return r.text
  }
  if (Array.isArray(node))
    return Promise.all(node.map((v) => maskExplanation(masker, v, rules, tenant, counts)))
  if (!isPlainObject(node)) return node
  const out: Record<string, unknown> = {}
  const names = Array.isArray(node.feature_names) ? (node.feature_names as unknown[]) : undefined
  for (const [k, v] of Object.entries(node)) {
    const rule = rules[k]
    if (rule && rule.op !== 'scan' && rule.op !== 'keep')
      out[k] = await masker.maskValue(v, rule, { tenant, field: k })
    else if (
      names &&
      Array.isArray(v) &&
      ['data', 'feature_values', 'instance', 'instances'].includes(k)
    ) {
      out[k] = await maskAligned(masker, v, names, rules, tenant)
    } else out[k] = await maskExplanation(masker, v, rules, tenant, counts)
  }
  return out
}

async function maskAligned(
  masker: Masker,
  values: unknown[],
  names: unknown[],
  rules: Record<string, FieldRule>,
  tenant: string,
): Promise<unknown[]> {
  if (values.length > 0 && Array.isArray(values[0])) {
    return Promise.all(
      values.map((row) => maskAligned(masker, row as unknown[], names, rules, tenant)),
    )
  }
  return Promise.all(
    values.map(async (v, i) => {
      const rule = typeof names[i] === 'string' ? rules[names[i] as string] : undefined
      if (rule && rule.op !== 'keep')
        return masker.maskValue(v, rule.op === 'scan' ? { op: 'replace' } : rule, {
          tenant,
          field: names[i] as string,
        })
      return typeof v === 'string' ? (await masker.maskText(v, { tenant })).text : v
    }),
  )
}

async function reveal(
  masker: Masker,
  body: Record<string, unknown>,
  grants: Set<string>,
  rules: Record<string, FieldRule>,
  tenant: string,
): Promise<void> {
  const all = grants.has('*')
  const undo = (value: unknown, field: string) =>
    masker.unmaskValue(value, rules[field] ?? { op: 'scan' }, {
      tenant,
      field,
      ...(rules[field]?.type ? { type: rules[field]!.type } : {}),
    })
  if (Array.isArray(body.outputs)) {
    body.outputs = await Promise.all(
      body.outputs.map(async (o: unknown) =>
        isPlainObject(o) && typeof o.name === 'string' && (all || grants.has(o.name))
          ? { ...o, data: await undo(o.data, o.name) }
          : o,
      ),
    )
  }
  if (Array.isArray(body.predictions)) {
    body.predictions = await Promise.all(
      body.predictions.map(async (p: unknown) => {
        if (!isPlainObject(p)) return p
        const out: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(p)) out[k] = all || grants.has(k) ? await undo(v, k) : v
        return out
      }),
    )
  }
}

import {
  checkOptionKeys,
  FeatureSchema,
  GateError,
  isPlainObject,
  type BodyShape,
  type ExplanationResult,
  type FeatureSchemaDefinition,
  type GateContext,
  type ModelHandle,
  type Plugin,
  type Tensor,
  UnsupportedMediaTypeError,
} from '@modelgate/core'
import { ScanBudget } from '../budget.js'
import { grantsCover, TokenLedger } from '../ledger.js'
import { maskError, maskText } from '../log.js'
import { bump, createMasker, POLICY_SHAPE, type ApplyOptions, type Masker } from '../masker.js'
import { provideTextMasking, textMaskingFor } from '../text.js'
import type { FieldRule, MaskCounts, MaskOptions, MaskScope, TokenOrigin } from '../types.js'

const MODEL_ROUTES = new Set(['v2-infer', 'v2-explain', 'v1-predict', 'v1-explain'])
const EXPLAIN_ROUTES = new Set(['v2-explain', 'v1-explain'])
const MASK_SHAPE = {
  key: true,
  policy: POLICY_SHAPE,
  detector: true,
  vault: true,
  vaultTtlMs: true,
  tenant: true,
  tokenScope: true,
  scope: { request: true, response: true, explanations: true, errors: true },
  budget: { maxScanBytes: true, maxScanMs: true },
} as const
/** Longest text masked for a log line or an error message; the rest is cut. */
const LOG_TEXT_LIMIT = 64 * 1024

/** What the plugin knows about a feature schema: rules for its fields, fields never scanned. */
interface SchemaRules {
  fields: Record<string, FieldRule>
  skip: string[]
}

/**
 * The masking plugin. It masks by structure, never by key names found anywhere:
 *
 * - Before the route's terminal: V1 records (schema fields tagged `pii` by their entity rule,
 *   `text: true` fields and other strings scanned, `policy.fields`, `policy.paths`; categorical
 *   features left alone), V2 inputs (`policy.fields` by input name, numeric columns of the
 *   schema's input by their feature's rule, `BYTES` scanned), and the JSON body of contributed
 *   and `protect()` routes as their `route.body` declares it. Later plugins, the model and the
 *   handler see masked data only.
 * - After it: output tensors (`policy.outputs` by tensor name or `outputNames` column, e.g.
 *   Laplace noise clamped to a range; `BYTES` scanned), explanation inputs (`data`, by feature
 *   name, only when the request was not masked already), the JSON answer of contributed routes,
 *   and error messages. Explanations of noised outputs are refused (403 `explanation_refused`):
 *   they would give the exact value back.
 *
 * Reversible tokens are bound to their origin (entity type, field, tenant, request scope), and
 * the plugin reverses only tokens it made in the current request, for callers whose access
 * decision (`ctx.decision.unmask`: field names, entity types or `*`) covers that origin. Tokens
 * that arrive in requests stay opaque. Scanning is bounded per request (`budget`: 413 or 422
 * rather than a stall) and yields to the event loop. Entity counts (never values) go to
 * `ctx.facts.masking`; `ctx.redactText` masks text for logs and audit records.
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
 *         outputs: { probability: { op: 'noise', epsilon: 1, sensitivity: 0.01, range: 'probability' } },
 *       },
 *     }),
 *   ],
 * })
 * ```
 */
export const mask = (options: MaskOptions = {}): Plugin => {
  if (!options || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError('mask: options must be an object')
  checkOptionKeys('mask', options, MASK_SHAPE)
  const { tenant, tokenScope, scope, budget, ...maskerOptions } = options
  if (tenant !== undefined && typeof tenant !== 'function')
    throw new TypeError('mask: tenant must be a function of the context')
  if (tokenScope !== undefined && typeof tokenScope !== 'function')
    throw new TypeError('mask: tokenScope must be a function of the context')
  const phases = { request: true, response: true, explanations: true, errors: true, ...scope }
  for (const [k, v] of Object.entries(phases)) {
    if (typeof v !== 'boolean') throw new TypeError(`mask: scope.${k} must be a boolean`)
  }
  for (const [k, v] of Object.entries(budget ?? {})) {
    if (!Number.isSafeInteger(v) || (v as number) <= 0)
      throw new TypeError(`mask: budget.${k} must be a positive integer`)
  }
  let masker: Masker
  try {
    masker = createMasker({ ...maskerOptions, vault: maskerOptions.vault ?? false })
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`mask: ${error.message}`)
    throw error
  }
  const detector = masker.detector
  const textMasking = textMaskingFor(masker, maskerOptions.key, maskerOptions.vault || undefined)
  const outputRules = masker.policy.outputs ?? {}
  const scanStrings = masker.policy.scanStrings ?? true
  const tenantOf = tenant ?? ((ctx: GateContext) => ctx.principal?.tenant ?? 'default')
  const scopeOf = tokenScope ?? ((ctx: GateContext) => `request:${ctx.requestId}`)
  const compiled = new WeakMap<FeatureSchema, SchemaRules>()
  let unschemed: SchemaRules | undefined
  const schemas = new WeakMap<FeatureSchemaDefinition, FeatureSchema>()

  const redact = (text: string): string => {
    if (typeof text !== 'string' || text.length === 0) return text
    if (text.length <= LOG_TEXT_LIMIT) return maskText(text, { detector })
    const space = text.lastIndexOf(' ', LOG_TEXT_LIMIT)
    const cut = space > LOG_TEXT_LIMIT / 2 ? space : LOG_TEXT_LIMIT
    return `${maskText(text.slice(0, cut), { detector })} …[${text.length - cut} characters cut]`
  }

  /** Field rules of a schema: `policy.fields`, then `pii` fields by entity rule, `text` fields scanned. */
  function rulesOf(schema: FeatureSchema | undefined): SchemaRules {
    let rules = schema ? compiled.get(schema) : unschemed
    if (rules) return rules
    const fields: Record<string, FieldRule> = { ...masker.policy.fields }
    const skip: string[] = []
    for (const f of schema?.piiFields() ?? []) {
      fields[f.name] ??= f.text ? { op: 'scan' } : { ...masker.entityRule(f.pii), type: f.pii }
    }
    for (const f of schema?.definition.features ?? [])
      if (f.type === 'categorical' && !f.pii) skip.push(f.name)
    rules = { fields, skip }
    if (schema) compiled.set(schema, rules)
    else unschemed = rules
    return rules
  }

  function schemaOf(ctx: GateContext, shape: BodyShape): FeatureSchema | undefined {
    const s = shape.schema
    if (s === undefined) return undefined
    if (typeof s === 'string') {
      const named = ctx.schemaOf(s)
      if (named) return named
      throw new GateError(
        'mask_schema_unknown',
        500,
        `route "${ctx.route.name ?? ''}" declares the schema of model "${s.slice(0, 128)}", which masking cannot find`,
      )
    }
    let schema = schemas.get(s)
    if (!schema) schemas.set(s, (schema = new FeatureSchema(s)))
    return schema
  }

  /** How a declared route body is masked: its records, its paths, its other strings. */
  function shapeOptions(ctx: GateContext, shape: BodyShape): ApplyOptions {
    const { fields, skip } = rulesOf(schemaOf(ctx, shape))
    const paths: Record<string, FieldRule> = {}
    for (const [path, what] of Object.entries(shape.paths ?? {}))
      paths[path] = what === 'text' ? { op: 'scan' } : { ...masker.entityRule(what), type: what }
    return {
      records: shape.records ?? false,
      fields,
      skip,
      paths,
      scanRecords: scanStrings,
      scanOther: shape.scanStrings ?? false,
    }
  }

  /** The output rule of column `column` of output tensor `name`. */
  function outputRule(model: ModelHandle, name: string, column: number, width: number) {
    const columns = model.schema?.outputColumns(name)
    const byColumn = columns && columns.length === width ? outputRules[columns[column]!] : undefined
    return {
      rule: byColumn ?? outputRules[name],
      field: (columns?.length === width && columns[column]) || name,
    }
  }

  async function maskRequest(
    ctx: GateContext,
    call: MaskScope,
    counts: MaskCounts,
  ): Promise<boolean> {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return false
    const kind = ctx.route.kind
    if (MODEL_ROUTES.has(kind)) {
      const model = ctx.model
      if (!model) return false
      const { fields, skip } = rulesOf(model.schema)
      const body = await ctx.json()
      if (kind === 'v1-predict' || kind === 'v1-explain') {
        const masked = await masker.applyPolicy(body, {
          ...call,
          counts,
          fields,
          skip,
          records: 'instances[]',
        })
        ctx.replaceJson(masked.value)
        return true
      }
      if (!isPlainObject(body)) return false
      const { inputs, ...rest } = body
      const masked: Record<string, unknown> = (
        await masker.applyPolicy(rest, { ...call, counts, records: false })
      ).value as Record<string, unknown>
      if (Array.isArray(inputs)) {
        masked.inputs = []
        for (const input of inputs)
          (masked.inputs as unknown[]).push(await maskV2Input(input, fields, call, counts))
      } else if (inputs !== undefined) masked.inputs = inputs
      ctx.replaceJson(masked)
      await maskSchemaColumns(ctx, model, fields, call)
      return true
    }
    const shape = ctx.route.body
    if (!shape || (await ctx.bodyBytes()).byteLength === 0) return false
    // A declared body is JSON: any other type would reach the handler as the bytes sent.
    const type = ctx.mediaType()
    if (type !== '' && type !== 'application/json' && !type.endsWith('+json'))
      throw new UnsupportedMediaTypeError(type)
    const masked = await masker.applyPolicy(await ctx.json(), {
      ...call,
      counts,
      ...shapeOptions(ctx, shape),
    })
    ctx.replaceJson(masked.value)
    return true
  }

  async function maskV2Input(
    input: unknown,
    fields: Record<string, FieldRule>,
    call: MaskScope,
    counts: MaskCounts,
  ): Promise<unknown> {
    if (!isPlainObject(input) || typeof input.name !== 'string') return input
    const rule = fields[input.name]
    const at = { ...call, field: input.name }
    if (rule && rule.op !== 'scan' && rule.op !== 'keep') {
      bump(counts, rule.type ?? 'FIELD')
      const data = await masker.maskValue(input.data, rule, {
        ...at,
        ...(rule.type ? { type: rule.type } : {}),
      })
      return { ...input, data }
    }
    if (input.datatype !== 'BYTES' || rule?.op === 'keep' || (!rule && !scanStrings)) return input
    return { ...input, data: await scanNested(input.data, at, counts) }
  }

  async function scanNested(value: unknown, at: MaskScope, counts: MaskCounts): Promise<unknown> {
    if (typeof value === 'string') {
      const r = await masker.maskText(value, { ...at, text: true })
      for (const [t, n] of Object.entries(r.counts)) bump(counts, t, n)
      return r.text
    }
    if (!Array.isArray(value)) return value
    const out = []
    for (const v of value) out.push(await scanNested(v, at, counts))
    return out
  }

  /** Numeric features of the schema's input tensor, masked column by column like V1 fields. */
  async function maskSchemaColumns(
    ctx: GateContext,
    model: ModelHandle,
    fields: Record<string, FieldRule>,
    call: MaskScope,
  ): Promise<void> {
    const schema = model.schema
    if (!schema) return
    const ruled = schema.groups.map((g) => {
      const f = schema.feature(g.feature)
      const rule = f?.type === 'numeric' ? fields[g.feature] : undefined
      return rule && rule.op !== 'keep' && rule.op !== 'scan' ? rule : undefined
    })
    if (!ruled.some(Boolean) || !(await model.isReady())) return
    const request = await ctx.inferRequest()
    const name = model.schemaInput()
    const column: Array<number | undefined> = []
    schema.groups.forEach((g, i) => {
      for (let c = g.start; c < g.end; c++) column[c] = i
    })
    const inputs: Tensor[] = []
    for (const t of request.inputs) {
      inputs.push(
        t.name !== name
          ? t
          : await masker.maskTensor(
              t,
              (c) => (column[c] === undefined ? undefined : ruled[column[c]!]),
              (c) => schema.groups[column[c] ?? 0]?.feature ?? name,
              call,
            ),
      )
    }
    ctx.replaceInferRequest({ ...request, inputs })
  }

  /** Refuses an explanation of an output this policy noises. */
  function refuseNoised(
    model: ModelHandle,
    explained: Array<{ output: string; column: number; width: number }>,
  ): void {
    for (const { output, column, width } of explained) {
      const { rule, field } = outputRule(model, output, column, width)
      if (rule?.op === 'noise') {
        throw new GateError(
          'explanation_refused',
          403,
          `output "${field.slice(0, 128)}" is released with differential-privacy noise; its explanation would give the exact value back`,
        )
      }
    }
  }

  /** Refuses an explanation before the model runs when every output column it has is noised. */
  async function refuseAllNoised(ctx: GateContext): Promise<void> {
    const model = ctx.model
    if (!model || !(await model.isReady())) return
    const columns = model.metadata().outputs.flatMap((o) => {
      const width =
        model.schema?.outputColumns(o.name)?.length ??
        o.shape.slice(1).reduce((a, b) => a * Math.max(b, 1), 1)
      return Array.from({ length: width }, (_, column) => ({ output: o.name, column, width }))
    })
    const noised = (c: (typeof columns)[number]) =>
      outputRule(model, c.output, c.column, c.width).rule?.op === 'noise'
    if (columns.every(noised)) refuseNoised(model, columns)
  }

  async function maskAnswer(ctx: GateContext, call: MaskScope, counts: MaskCounts): Promise<void> {
    const model = ctx.model
    if (ctx.outputs && model) {
      if (ctx.explanation) {
        const widths = new Map(
          ctx.outputs.map((t) => [t.name, t.shape.slice(1).reduce((a, b) => a * b, 1) || 1]),
        )
        refuseNoised(
          model,
          ctx.explanation.explanations.map((e) => ({
            output: e.output,
            column: e.output_index ?? 0,
            width: widths.get(e.output) ?? 1,
          })),
        )
      }
      const outputs: Tensor[] = []
      for (const t of ctx.outputs) {
        const width = t.shape.slice(1).reduce((a, b) => a * b, 1) || 1
        outputs.push(
          await masker.maskTensor(
            t,
            (c) => outputRule(model, t.name, c, width).rule,
            (c) => outputRule(model, t.name, c, width).field,
            { ...call, counts, scan: scanStrings },
          ),
        )
      }
      ctx.outputs = outputs
    }
    const shape = ctx.route.body
    if (
      shape &&
      !MODEL_ROUTES.has(ctx.route.kind) &&
      (isPlainObject(ctx.body) || Array.isArray(ctx.body))
    ) {
      const masked = await masker.applyPolicy(ctx.body, {
        ...call,
        counts,
        ...shapeOptions(ctx, shape),
      })
      ctx.body = masked.value
    }
  }

  /** Explained inputs (`data`) by feature name, when the request's inputs were not masked. */
  async function maskExplanation(
    ctx: GateContext,
    result: ExplanationResult,
    call: MaskScope,
    counts: MaskCounts,
  ): Promise<ExplanationResult> {
    const { fields, skip } = rulesOf(ctx.model?.schema)
    const explanations = []
    for (const e of result.explanations) {
      const data = []
      for (const row of e.data) {
        const out = []
        for (let i = 0; i < row.length; i++) {
          const name = e.feature_names[i]!
          const value = row[i]
          const rule = fields[name]
          const at = { ...call, field: name }
          if (rule && rule.op !== 'scan' && rule.op !== 'keep') {
            if (value !== null && value !== undefined) bump(counts, rule.type ?? 'FIELD')
            out.push(
              await masker.maskValue(value, rule, {
                ...at,
                ...(rule.type ? { type: rule.type } : {}),
              }),
            )
          } else if (
            typeof value === 'string' &&
            (rule?.op === 'scan' || (!rule && scanStrings && !skip.includes(name)))
          ) {
            out.push(await scanNested(value, at, counts))
          } else out.push(value)
        }
        data.push(out)
      }
      explanations.push({ ...e, data })
    }
    return { ...result, explanations }
  }

  function reveal(ctx: GateContext, ledger: TokenLedger, grants: ReadonlySet<string>): void {
    const granted = (o: TokenOrigin) => grantsCover(grants, o)
    const open = (v: unknown): unknown =>
      typeof v === 'string'
        ? ledger.reveal(v, granted)
        : Array.isArray(v)
          ? v.map(open)
          : isPlainObject(v)
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, open(x)]))
            : v
    if (ctx.outputs) {
      ctx.outputs = ctx.outputs.map((t) =>
        Array.isArray(t.data) ? { ...t, data: t.data.map((s) => ledger.reveal(s, granted)) } : t,
      )
    }
    if (ctx.explanation) {
      ctx.explanation = {
        ...ctx.explanation,
        explanations: ctx.explanation.explanations.map((e) => ({
          ...e,
          data: e.data.map((r) => r.map(open)),
        })),
      }
    }
    if (ctx.route.body && !MODEL_ROUTES.has(ctx.route.kind)) ctx.body = open(ctx.body)
  }

  function maskThrown(error: unknown): unknown {
    if (error instanceof Error) {
      if (error.message.length > LOG_TEXT_LIMIT)
        error.message = error.message.slice(0, LOG_TEXT_LIMIT)
      if (typeof error.stack === 'string' && error.stack.length > LOG_TEXT_LIMIT)
        error.stack = error.stack.slice(0, LOG_TEXT_LIMIT)
    }
    return maskError(error, { detector })
  }

  const plugin: Plugin = async function mask(ctx, next) {
    const counts: MaskCounts = {}
    ctx.facts.masking = counts
    const ledger = new TokenLedger()
    const tenantId = String(tenantOf(ctx))
    const call: MaskScope = {
      tenant: tenantId,
      scope: String(scopeOf(ctx)),
      ledger,
      budget: new ScanBudget(budget),
    }
    if (phases.request) provideTextMasking(ctx, textMasking(tenantId, counts, call.budget!))
    let inputsMasked = false
    const maskIncoming = async (): Promise<void> => {
      if (phases.request) inputsMasked = await maskRequest(ctx, call, counts)
      if (phases.response && EXPLAIN_ROUTES.has(ctx.route.kind)) await refuseAllNoised(ctx)
    }
    try {
      // Plugins after this one see the masked body. A body still sealed here (decrypt comes
      // later in the chain) is masked once every plugin has run its way in, right before the
      // model: whatever the order, nothing reaches the model in clear.
      if (ctx.mediaType() === 'application/jose') ctx.addCheck(maskIncoming)
      else await maskIncoming()
      await next()
    } catch (error) {
      throw phases.errors ? maskThrown(error) : error
    }
    if (phases.response) await maskAnswer(ctx, call, counts)
    if (phases.explanations && ctx.explanation && !inputsMasked)
      ctx.explanation = await maskExplanation(ctx, ctx.explanation, call, counts)
    const grants = ctx.decision?.unmask
    if (grants && grants.length > 0 && ledger.size > 0) reveal(ctx, ledger, new Set(grants))
  }
  // Every request gets the masking function, even one refused before this plugin runs: audit
  // records and error answers go through it.
  plugin.onRequest = (ctx) => {
    ctx.redactText = redact
  }
  return plugin
}

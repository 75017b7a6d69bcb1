import { BadRequestError } from './errors.js'
import { isPlainObject } from './json.js'
import type { FeatureSchemaDefinition, FeatureSpec, Tensor } from './types.js'

/**
 * The columns one schema feature occupies in the model input, for grouping attributions back to
 * feature names.
 *
 * @example
 * ```ts
 * schema.groups // [{ feature: 'income', start: 0, end: 1 }, { feature: 'purpose', start: 1, end: 4 }]
 * ```
 */
export interface FeatureGroup {
  feature: string
  start: number
  end: number
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/

/**
 * A compiled feature schema: validates KServe V1 records and turns them into one input tensor.
 * The definition is checked once, here; bad definitions throw a `TypeError` naming the field.
 *
 * @example
 * ```ts
 * const schema = new FeatureSchema({
 *   features: [
 *     { name: 'income', type: 'numeric' },
 *     { name: 'purpose', type: 'categorical', categories: ['car', 'home'] },
 *   ],
 * })
 * const tensor = schema.encode([{ income: 52000, purpose: 'home' }], 'features')
 * tensor.shape // [1, 3]
 * ```
 */
export class FeatureSchema {
  readonly definition: FeatureSchemaDefinition
  /** Model features in column order (passthrough fields excluded). */
  readonly modelFeatures: FeatureSpec[]
  /** One name per tensor column (`purpose=car` for one-hot columns). */
  readonly columns: string[]
  readonly groups: FeatureGroup[]
  private readonly byName: Map<string, FeatureSpec>

  constructor(definition: FeatureSchemaDefinition) {
    validateDefinition(definition)
    this.definition = definition
    this.byName = new Map(definition.features.map((f) => [f.name, f]))
    this.modelFeatures = definition.features.filter((f) => f.type !== 'passthrough')
    this.columns = []
    this.groups = []
    for (const f of this.modelFeatures) {
      const start = this.columns.length
      if (f.type === 'categorical' && (f.encoding ?? 'one_hot') === 'one_hot') {
        for (const c of f.categories) this.columns.push(`${f.name}=${c}`)
      } else {
        this.columns.push(f.name)
      }
      this.groups.push({ feature: f.name, start, end: this.columns.length })
    }
  }

  /** Feature definition by name. */
  feature(name: string): FeatureSpec | undefined {
    return this.byName.get(name)
  }

  /** Fields tagged with a PII entity type, for masking plugins. */
  piiFields(): Array<{ name: string; pii: string; text: boolean }> {
    return this.definition.features
      .filter((f) => f.pii !== undefined || (f.type === 'passthrough' && f.text))
      .map((f) => ({
        name: f.name,
        pii: f.pii ?? 'TEXT',
        text: f.type === 'passthrough' && !!f.text,
      }))
  }

  /**
   * Checks a decoded V2 tensor for the schema's input against the schema: its width, and numeric
   * features inside their declared ranges (`min`, `max`), so a V2 client meets the same rules as
   * a V1 client. Errors name the row and feature, never the value.
   */
  checkColumns(tensor: Tensor): void {
    const width = this.columns.length
    const inner = tensor.shape.slice(1).reduce((a, b) => a * b, 1)
    if (inner !== width) {
      throw new BadRequestError(
        `input "${tensor.name}": the feature schema has ${width} columns, got ${inner}`,
      )
    }
    const data = tensor.data as ArrayLike<number>
    const rows = tensor.shape[0] ?? 0
    this.modelFeatures.forEach((f, i) => {
      if (f.type !== 'numeric' || (f.min === undefined && f.max === undefined)) return
      const col = this.groups[i]!.start
      for (let row = 0; row < rows; row++) {
        const value = Number(data[row * width + col])
        if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) {
          throw new BadRequestError(
            `input "${tensor.name}"[${row}].${f.name} is out of range [${f.min ?? '-inf'}, ${f.max ?? 'inf'}]`,
          )
        }
      }
    })
  }

  /** Names of an output tensor's columns (`outputNames`), or `undefined` when not declared. */
  outputColumns(output: string): string[] | undefined {
    const names = this.definition.outputNames?.[output]
    return Array.isArray(names) ? names : undefined
  }

  /**
   * Validates records and encodes the model features into a `[rows, columns]` tensor.
   * Errors name the row and field, never the value.
   */
  encode(records: unknown[], inputName: string): Tensor {
    const width = this.columns.length
    const datatype = this.definition.datatype ?? 'FP32'
    const data =
      datatype === 'FP64'
        ? new Float64Array(records.length * width)
        : new Float32Array(records.length * width)
    const reject = (this.definition.unknownFields ?? 'reject') === 'reject'
    for (let row = 0; row < records.length; row++) {
      const record = records[row]
      if (!isPlainObject(record)) throw new BadRequestError(`instances[${row}] must be an object`)
      if (reject) {
        for (const key of Object.keys(record)) {
          if (!this.byName.has(key)) {
            throw new BadRequestError(`instances[${row}]: unknown field "${key.slice(0, 64)}"`)
          }
        }
      }
      for (const f of this.definition.features) {
        if (f.type === 'passthrough') checkPassthrough(f, record[f.name], row)
      }
      let col = row * width
      for (const f of this.modelFeatures) {
        col = encodeFeature(f, record[f.name], row, data, col)
      }
    }
    return { name: inputName, datatype, shape: [records.length, width], data }
  }
}

function encodeFeature(
  f: FeatureSpec,
  value: unknown,
  row: number,
  data: Float32Array | Float64Array,
  col: number,
): number {
  const where = `instances[${row}].${f.name}`
  if (f.type === 'numeric') {
    if (value === undefined || value === null) {
      if (f.missing === undefined) throw new BadRequestError(`${where} is required`)
      data[col] = f.missing
      return col + 1
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new BadRequestError(`${where} must be a number`)
    }
    if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) {
      throw new BadRequestError(`${where} is out of range [${f.min ?? '-inf'}, ${f.max ?? 'inf'}]`)
    }
    data[col] = value
    // A finite number can still overflow FP32 (1e39).
    if (!Number.isFinite(data[col]!)) throw new BadRequestError(`${where} must be a number`)
    return col + 1
  }
  if (f.type !== 'categorical') return col
  let category = value
  if (category === undefined || category === null) {
    if (f.missing === undefined) throw new BadRequestError(`${where} is required`)
    category = f.missing
  }
  if (typeof category !== 'string') throw new BadRequestError(`${where} must be a string`)
  const index = f.categories.indexOf(category)
  if (index < 0 && (f.unknown ?? 'reject') === 'reject') {
    throw new BadRequestError(`${where} is not one of the known categories`)
  }
  if ((f.encoding ?? 'one_hot') === 'ordinal') {
    data[col] = index
    return col + 1
  }
  if (index >= 0) data[col + index] = 1
  return col + f.categories.length
}

function checkPassthrough(
  f: Extract<FeatureSpec, { type: 'passthrough' }>,
  value: unknown,
  row: number,
): void {
  const where = `instances[${row}].${f.name}`
  if (value === undefined || value === null) {
    if (f.required) throw new BadRequestError(`${where} is required`)
    return
  }
  const kind = f.valueType ?? 'any'
  if (kind !== 'any' && typeof value !== kind)
    throw new BadRequestError(`${where} must be a ${kind}`)
}

function validateDefinition(def: FeatureSchemaDefinition): void {
  const fail = (msg: string): never => {
    throw new TypeError(`feature schema: ${msg}`)
  }
  if (!isPlainObject(def)) fail('must be an object')
  if (!Array.isArray(def.features) || def.features.length === 0)
    fail('"features" must be a non-empty array')
  if (def.datatype !== undefined && def.datatype !== 'FP32' && def.datatype !== 'FP64') {
    fail('"datatype" must be FP32 or FP64')
  }
  if (
    def.unknownFields !== undefined &&
    def.unknownFields !== 'reject' &&
    def.unknownFields !== 'ignore'
  ) {
    fail('"unknownFields" must be "reject" or "ignore"')
  }
  const names = new Set<string>()
  def.features.forEach((f, i) => {
    const at = `features[${i}]`
    if (!isPlainObject(f) || typeof f.name !== 'string' || !NAME.test(f.name)) {
      fail(`${at}.name must match ${NAME}`)
    }
    if (names.has(f.name)) fail(`${at}: duplicate feature "${f.name}"`)
    names.add(f.name)
    if (f.pii !== undefined && (typeof f.pii !== 'string' || f.pii === ''))
      fail(`${at}.pii must be a string`)
    switch (f.type) {
      case 'numeric':
        for (const k of ['missing', 'min', 'max'] as const) {
          if (f[k] !== undefined && !Number.isFinite(f[k]))
            fail(`${at}.${k} must be a finite number`)
        }
        break
      case 'categorical': {
        const cats = f.categories
        if (!Array.isArray(cats) || cats.length === 0 || cats.some((c) => typeof c !== 'string')) {
          fail(`${at}.categories must be a non-empty array of strings`)
        }
        if (new Set(cats).size !== cats.length) fail(`${at}.categories has duplicates`)
        if (f.encoding !== undefined && f.encoding !== 'one_hot' && f.encoding !== 'ordinal') {
          fail(`${at}.encoding must be "one_hot" or "ordinal"`)
        }
        if (f.unknown !== undefined && f.unknown !== 'reject' && f.unknown !== 'zeros') {
          fail(`${at}.unknown must be "reject" or "zeros"`)
        }
        if (f.missing !== undefined && !cats.includes(f.missing))
          fail(`${at}.missing must be one of its categories`)
        break
      }
      case 'passthrough':
        if (
          f.valueType !== undefined &&
          !['string', 'number', 'boolean', 'any'].includes(f.valueType)
        ) {
          fail(`${at}.valueType must be string, number, boolean or any`)
        }
        break
      default:
        fail(`${at}.type must be "numeric", "categorical" or "passthrough"`)
    }
  })
}

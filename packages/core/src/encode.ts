import { encodeInferResponse, type InferRequest } from './oip.js'
import type { ModelHandle } from './registry.js'
import type { ExplanationResult, OutputExplanation, RouteKind, Tensor } from './types.js'

type JsonValue = number | string | boolean | null | JsonValue[] | { [k: string]: JsonValue }

/**
 * The body of a model route's answer, built once from what the plugins left: V2 routes get the
 * OIP infer response (plus `explanations` on explain), V1 routes get `predictions` named by the
 * schema's `outputNames` (plus `explanations` with `attributions` by feature name). Plots are
 * rendered here, from the explanation as it is now.
 */
export function encodeModelAnswer(options: {
  kind: RouteKind
  model: ModelHandle
  outputs: Tensor[]
  request: InferRequest | undefined
  explanation: ExplanationResult | undefined
}): Record<string, unknown> {
  const { kind, model, outputs, request, explanation } = options
  const v1 = kind === 'v1-predict' || kind === 'v1-explain'
  const body: Record<string, unknown> = v1
    ? { predictions: encodePredictions(model, outputs) }
    : { ...encodeInferResponse(v2Options(model, outputs, request)) }
  if (explanation) body.explanations = encodeExplanations(explanation, v1)
  return body
}

function v2Options(model: ModelHandle, outputs: Tensor[], request: InferRequest | undefined) {
  return {
    modelName: model.name,
    ...(model.version !== undefined ? { modelVersion: model.version } : {}),
    ...(request?.id !== undefined ? { id: request.id } : {}),
    outputs,
    ...(request?.outputs ? { requested: request.outputs } : {}),
  }
}

function encodeExplanations(result: ExplanationResult, v1: boolean): OutputExplanation[] {
  return result.explanations.map((e) => {
    const wire: OutputExplanation & {
      attributions?: Array<Record<string, number>>
      plots?: Array<{ row: number; kind: string; svg: string }>
    } = { ...e }
    if (v1) {
      wire.attributions = e.values.map((row) => {
        const named: Record<string, number> = {}
        e.feature_names.forEach((f, i) => (named[f] = row[i]!))
        return named
      })
    }
    const plot = result.plot
    if (plot) {
      wire.plots = e.values.map((_, row) => ({
        row,
        kind: plot.kind,
        svg: plot.render(e, row),
      }))
    }
    return wire
  })
}

/**
 * KServe V1 `predictions`: one value per row for a single unnamed output, else one record per
 * row whose keys are the schema's `outputNames` for each output's columns (or the output's name).
 */
function encodePredictions(model: ModelHandle, outputs: Tensor[]): JsonValue[] {
  const rows = outputs[0]?.shape[0] ?? 0
  const schema = model.schema
  const predictions: JsonValue[] = []
  for (let r = 0; r < rows; r++) {
    if (outputs.length === 1 && !schema?.outputColumns(outputs[0]!.name)) {
      predictions.push(rowValue(outputs[0]!, r))
      continue
    }
    const record: Record<string, JsonValue> = {}
    for (const t of outputs) {
      const value = rowValue(t, r)
      const columns = schema?.outputColumns(t.name)
      if (columns && Array.isArray(value) && columns.length === value.length) {
        columns.forEach((c, i) => (record[c] = value[i]!))
      } else if (columns && columns.length === 1 && !Array.isArray(value)) {
        record[columns[0]!] = value
      } else {
        record[t.name] = value
      }
    }
    predictions.push(record)
  }
  return predictions
}

function rowValue(t: Tensor, row: number): JsonValue {
  const inner = t.shape.slice(1)
  const width = inner.reduce((a, b) => a * b, 1)
  const flat: JsonValue[] = []
  for (let i = row * width; i < (row + 1) * width; i++) {
    const v = t.data[i]!
    flat.push(
      typeof v === 'bigint' ? Number(v) : t.datatype === 'BOOL' ? v !== 0 : (v as number | string),
    )
  }
  if (inner.length === 0 || width === 1) return flat[0]!
  return nest(flat, inner)
}

function nest(flat: JsonValue[], shape: number[]): JsonValue[] {
  if (shape.length <= 1) return flat
  const step = flat.length / shape[0]!
  const out: JsonValue[] = []
  for (let i = 0; i < shape[0]!; i++)
    out.push(nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)))
  return out
}

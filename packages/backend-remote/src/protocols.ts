import { BadRequestError, isDatatype, isPlainObject, toJsonArray } from '@modelgate/core'
import type { Datatype, InferOptions, ModelMetadata, Tensor, TensorMetadata } from '@modelgate/core'
import { checkMetadata, type ResolvedOptions } from './options.js'
import { decodeUpstreamTensor, fitShape, malformed, rowsOf, toNested } from './tensors.js'
import { parseUpstreamJson, type UpstreamResponse } from './upstream.js'

/** How one wire protocol names its routes and shapes its bodies. */
export interface Protocol {
  /** Where the server describes the model; undefined when the protocol has no such route. */
  metadataPath: string | undefined
  parseMetadata(json: unknown): ModelMetadata
  readyPath: string
  isReady(response: UpstreamResponse): boolean
  inferPath: string
  encode(inputs: Tensor[], metadata: ModelMetadata, options: InferOptions): unknown
  decode(json: unknown, metadata: ModelMetadata, inputs: Tensor[]): Tensor[]
}

const enc = encodeURIComponent

export function protocolFor(o: ResolvedOptions): Protocol {
  switch (o.protocol) {
    case 'v2':
      return v2(o)
    case 'v1':
      return v1(o)
    case 'tfserving':
      return tfserving(o)
  }
}

function v2(o: ResolvedOptions): Protocol {
  const model = `/v2/models/${enc(o.model)}${o.version === undefined ? '' : `/versions/${enc(o.version)}`}`
  return {
    metadataPath: model,
    parseMetadata: (json) => checkMetadata(json, () => malformed('model metadata')),
    readyPath: `${model}/ready`,
    isReady(response) {
      if (response.status !== 200) return false
      if (response.bytes.byteLength === 0) return true
      const json = parseUpstreamJson(response.bytes)
      return !(isPlainObject(json) && json.ready === false)
    },
    inferPath: `${model}/infer`,
    encode(inputs, _metadata, options) {
      return {
        inputs: inputs.map((t) => ({
          name: t.name,
          datatype: t.datatype,
          shape: t.shape,
          data: toJsonArray(t.datatype, t.data),
          ...(t.parameters ? { parameters: t.parameters } : {}),
        })),
        ...(options.outputs ? { outputs: options.outputs.map((name) => ({ name })) } : {}),
        ...(options.parameters ? { parameters: options.parameters } : {}),
      }
    },
    decode(json, metadata) {
      if (!isPlainObject(json) || !Array.isArray(json.outputs)) throw malformed()
      const known = new Set(metadata.outputs.map((t) => t.name))
      const seen = new Set<string>()
      return json.outputs.map((raw) => {
        if (
          !isPlainObject(raw) ||
          typeof raw.name !== 'string' ||
          !known.has(raw.name) ||
          seen.has(raw.name)
        ) {
          throw malformed()
        }
        seen.add(raw.name)
        if (!isDatatype(raw.datatype) || !Array.isArray(raw.shape)) throw malformed()
        if (isPlainObject(raw.parameters) && raw.parameters.binary_data_size !== undefined)
          throw malformed()
        const tensor = decodeUpstreamTensor(raw.name, raw.datatype, raw.data, raw.shape as number[])
        if (isPlainObject(raw.parameters))
          tensor.parameters = raw.parameters as Tensor['parameters'] & object
        return tensor
      })
    },
  }
}

function v1(o: ResolvedOptions): Protocol {
  const model = `/v1/models/${enc(o.model)}`
  return {
    metadataPath: undefined,
    parseMetadata: () => {
      throw malformed('model metadata')
    },
    readyPath: model,
    isReady(response) {
      if (response.status !== 200) return false
      const json = parseUpstreamJson(response.bytes)
      return isPlainObject(json) && json.ready === true
    },
    inferPath: `${model}:predict`,
    encode(inputs, metadata) {
      return { instances: rowsOf(inputFor(inputs, metadata.inputs[0]!)) }
    },
    decode(json, metadata, inputs) {
      if (!isPlainObject(json) || !Array.isArray(json.predictions)) throw malformed()
      const rows = inputFor(inputs, metadata.inputs[0]!).shape[0]
      if (json.predictions.length !== rows) throw malformed()
      const output = metadata.outputs[0]!
      return [
        fitShape(
          decodeUpstreamTensor(output.name, output.datatype, json.predictions),
          output.shape,
        ),
      ]
    },
  }
}

function tfserving(o: ResolvedOptions): Protocol {
  const model = `/v1/models/${enc(o.model)}${o.version === undefined ? '' : `/versions/${enc(o.version)}`}`
  const signature = o.signatureName
  return {
    metadataPath: `${model}/metadata`,
    parseMetadata: (json) => signatureMetadata(json, signature ?? 'serving_default'),
    readyPath: model,
    isReady(response) {
      if (response.status !== 200) return false
      const json = parseUpstreamJson(response.bytes)
      if (!isPlainObject(json) || !Array.isArray(json.model_version_status)) return false
      return json.model_version_status.some(
        (s) =>
          isPlainObject(s) &&
          s.state === 'AVAILABLE' &&
          (o.version === undefined || String(s.version) === o.version),
      )
    },
    inferPath: `${model}:predict`,
    encode(inputs, metadata) {
      const named = metadata.inputs.map((m) => inputFor(inputs, m))
      const body: Record<string, unknown> =
        signature === undefined ? {} : { signature_name: signature }
      if (named.length === 1) body.instances = rowsOf(named[0]!)
      else body.inputs = Object.fromEntries(named.map((t) => [t.name, toNested(t)]))
      return body
    },
    decode(json, metadata, inputs) {
      if (!isPlainObject(json)) throw malformed()
      const single = metadata.outputs.length === 1 ? metadata.outputs[0] : undefined
      if (Array.isArray(json.predictions)) {
        const rows = inputFor(inputs, metadata.inputs[0]!).shape[0]
        const predictions = json.predictions
        if (predictions.length !== rows) throw malformed()
        if (predictions.length > 0 && isPlainObject(predictions[0])) {
          const names = Object.keys(predictions[0])
          return names.map((name) => {
            const column = predictions.map((p) => {
              if (!isPlainObject(p) || !(name in p)) throw malformed()
              return p[name]
            })
            return decodeOutput(metadata, name, column)
          })
        }
        if (!single) throw malformed()
        return [decodeOutput(metadata, single.name, predictions)]
      }
      if (json.outputs !== undefined) {
        if (isPlainObject(json.outputs)) {
          return Object.entries(json.outputs).map(([name, value]) =>
            decodeOutput(metadata, name, value),
          )
        }
        if (!single) throw malformed()
        return [decodeOutput(metadata, single.name, json.outputs)]
      }
      throw malformed()
    },
  }
}

function inputFor(inputs: Tensor[], meta: TensorMetadata): Tensor {
  const tensor = inputs.find((t) => t.name === meta.name)
  if (!tensor) throw new BadRequestError(`missing input "${meta.name}"`)
  return tensor
}

function decodeOutput(metadata: ModelMetadata, name: string, value: unknown): Tensor {
  const meta = metadata.outputs.find((t) => t.name === name)
  if (!meta) throw malformed()
  return fitShape(decodeUpstreamTensor(name, meta.datatype, value), meta.shape)
}

const TF_DATATYPES: Record<string, Datatype> = {
  DT_FLOAT: 'FP32',
  DT_DOUBLE: 'FP64',
  DT_HALF: 'FP16',
  DT_INT8: 'INT8',
  DT_INT16: 'INT16',
  DT_INT32: 'INT32',
  DT_INT64: 'INT64',
  DT_UINT8: 'UINT8',
  DT_UINT16: 'UINT16',
  DT_UINT32: 'UINT32',
  DT_UINT64: 'UINT64',
  DT_BOOL: 'BOOL',
  DT_STRING: 'BYTES',
}

/** Model metadata from TF Serving's `GET /v1/models/{m}/metadata` signature definition. */
function signatureMetadata(json: unknown, signature: string): ModelMetadata {
  const fail = () => malformed('model metadata')
  const defs =
    isPlainObject(json) && isPlainObject(json.metadata) ? json.metadata.signature_def : undefined
  const byName = isPlainObject(defs) ? defs.signature_def : undefined
  const def = isPlainObject(byName) ? byName[signature] : undefined
  if (!isPlainObject(def) || !isPlainObject(def.inputs) || !isPlainObject(def.outputs)) throw fail()
  const tensors = (map: Record<string, unknown>): TensorMetadata[] =>
    Object.entries(map).map(([name, info]) => {
      if (!isPlainObject(info) || typeof info.dtype !== 'string' || !TF_DATATYPES[info.dtype])
        throw fail()
      const shapeInfo = info.tensor_shape
      if (!isPlainObject(shapeInfo) || shapeInfo.unknown_rank === true) throw fail()
      const dims = shapeInfo.dim ?? []
      if (!Array.isArray(dims)) throw fail()
      const shape = dims.map((d) => {
        const size = isPlainObject(d) ? Number(d.size) : NaN
        if (!Number.isSafeInteger(size) || size < -1) throw fail()
        return size
      })
      return { name, datatype: TF_DATATYPES[info.dtype]!, shape }
    })
  const metadata = {
    platform: 'tensorflow',
    inputs: tensors(def.inputs),
    outputs: tensors(def.outputs),
  }
  if (metadata.inputs.length === 0 || metadata.outputs.length === 0) throw fail()
  return metadata
}

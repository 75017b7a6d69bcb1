import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** Seeded PRNG (mulberry32) so every run builds the same weights. */
function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function floatTensor(name, dims, values) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  })
}

function valueInfo(name, dims) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  })
}

/**
 * Builds an ONNX MLP (Gemm + Relu layers, sigmoid output) with seeded weights, as model bytes.
 * `widths` = [inputs, hidden…, outputs]. Input `features` [batch, inputs], output `score`.
 *
 * @example
 * const bytes = buildOnnxMlp({ widths: [32, 512, 512, 1], seed: 1 })
 */
export function buildOnnxMlp({ widths, seed = 1 }) {
  const rand = mulberry32(seed)
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
  const nodes = []
  const initializers = []
  let current = 'features'
  for (let i = 0; i < widths.length - 1; i++) {
    const [fanIn, fanOut] = [widths[i], widths[i + 1]]
    const w = new Float32Array(fanIn * fanOut).map(() => normal() / Math.sqrt(fanIn))
    const b = new Float32Array(fanOut).map(() => normal() * 0.01)
    initializers.push(floatTensor(`w${i}`, [fanIn, fanOut], w), floatTensor(`b${i}`, [fanOut], b))
    const last = i === widths.length - 2
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Gemm',
        input: [current, `w${i}`, `b${i}`],
        output: [`z${i}`],
      }),
    )
    const out = last ? 'score' : `a${i}`
    nodes.push(
      onnx.NodeProto.create({ opType: last ? 'Sigmoid' : 'Relu', input: [`z${i}`], output: [out] }),
    )
    current = out
  }
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'modelgate-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'mlp',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('features', ['batch', widths[0]])],
      output: [valueInfo('score', ['batch', widths.at(-1)])],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}

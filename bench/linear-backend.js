// A trivial model for benchmarks that measure the gate's own costs: y = x·w over [batch, 4] rows.
export class LinearBackend {
  async metadata() {
    return {
      platform: 'js',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    }
  }
  async ready() {
    return true
  }
  async infer(inputs) {
    const x = inputs[0].data
    const rows = inputs[0].shape[0]
    const y = new Float32Array(rows)
    for (let r = 0; r < rows; r++)
      y[r] = x[r * 4] * 0.5 - x[r * 4 + 1] + x[r * 4 + 2] * 2 + x[r * 4 + 3]
    return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: y }]
  }
}

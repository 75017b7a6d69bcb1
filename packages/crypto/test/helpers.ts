import { createGate, type Gate, type ModelBackend, type Plugin } from '@modelgate/core'

/** A two-input adder model that counts how often it ran. */
export function countingModel(): { backend: ModelBackend; calls: () => number } {
  let calls = 0
  const backend: ModelBackend = {
    async metadata() {
      return {
        platform: 'test',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
      }
    },
    async ready() {
      return true
    },
    async infer(inputs) {
      calls++
      const x = inputs[0]!.data as Float32Array
      const rows = inputs[0]!.shape[0]!
      const y = new Float32Array(rows)
      for (let r = 0; r < rows; r++) y[r] = x[2 * r]! + x[2 * r + 1]!
      return [{ name: 'y', datatype: 'FP32', shape: [rows, 1], data: y }]
    },
  }
  return { backend, calls: () => calls }
}

export function gateWith(plugins: Plugin[]): { gate: Gate; calls: () => number } {
  const model = countingModel()
  const gate = createGate({ models: [{ name: 'adder', backend: model.backend }], plugins })
  const ready = gate.ready()
  const fetch: Gate['fetch'] = async (request, custom) => {
    await ready
    return gate.fetch(request, custom)
  }
  return { gate: { ...gate, fetch }, calls: model.calls }
}

export const inferBody = (a = 1, b = 2) =>
  JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [a, b] }] })

export const INFER_URL = 'http://gate.test/v2/models/adder/infer'

export function joseRequest(jwe: string, headers: Record<string, string> = {}): Request {
  return new Request(INFER_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', ...headers },
    body: jwe,
  })
}

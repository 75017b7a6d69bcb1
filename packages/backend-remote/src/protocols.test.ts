import { createGate } from '@modelgate/core'
import type { Gate, ModelMetadata, Tensor } from '@modelgate/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createRemoteBackend } from './remote.js'
import { LINEAR_MODEL, linearCompute } from './testing/linear.js'
import { startStandInServer, type StandInOptions, type StandInServer } from './testing/standin.js'
import type { RemoteBackendOptions } from './types.js'

const X = [
  [1, 2, 3],
  [-0.5, 0.25, 4],
  [0, 0, 0],
]

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!()
})

async function setup(
  standIn: StandInOptions,
  remote: Omit<RemoteBackendOptions, 'url'>,
): Promise<{ server: StandInServer; gate: Gate }> {
  const server = await startStandInServer(standIn)
  cleanup.push(() => server.close())
  const backend = createRemoteBackend({ url: server.url, retryBaseDelayMs: 5, ...remote })
  const gate = createGate({ models: [{ name: 'm', backend }] })
  cleanup.push(() => gate.close())
  await gate.ready()
  return { server, gate }
}

function post(gate: Gate, path: string, body: unknown): Promise<Response> {
  return gate.fetch(
    new Request(`http://gate${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )
}

const v2Body = (rows = X) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows }],
})

function expectedY(rows = X): number[][] {
  const [y] = linearCompute([
    { name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: new Float32Array(rows.flat()) },
  ])
  const flat = Array.from(y!.data as Float32Array)
  return rows.map((_, r) => flat.slice(r * 2, r * 2 + 2))
}

describe('KServe V1', () => {
  const remote = { protocol: 'v1', model: 'linear', metadata: LINEAR_MODEL.metadata } as const

  it('sends instances and maps predictions back to the output tensor', async () => {
    const { server, gate } = await setup({ protocol: 'v1' }, remote)
    const res = await post(gate, '/v2/models/m/infer', v2Body())
    expect(res.status).toBe(200)
    expect((await res.json()).outputs).toEqual([
      { name: 'y', datatype: 'FP32', shape: [3, 2], data: expectedY().flat() },
    ])
    expect(server.stats.lastInferBody).toEqual({ instances: X })

    const v1 = await post(gate, '/v1/models/m:predict', { instances: X })
    expect(v1.status).toBe(200)
    expect(await v1.json()).toEqual({ predictions: expectedY() })
  })

  it('restores the declared shape when the server squeezes one-value rows', async () => {
    const metadata: ModelMetadata = {
      platform: 'sum',
      inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, 3] }],
      outputs: [{ name: 'total', datatype: 'FP64', shape: [-1, 1] }],
    }
    const compute = ([x]: Tensor[]): Tensor[] => {
      const rows = x!.shape[0]!
      const data = new Float64Array(rows)
      for (let r = 0; r < rows; r++)
        data[r] = Number(x!.data[r * 3]) + Number(x!.data[r * 3 + 1]) + Number(x!.data[r * 3 + 2])
      return [{ name: 'total', datatype: 'FP64', shape: [rows, 1], data }]
    }
    const { gate } = await setup({ protocol: 'v1', metadata, compute }, { ...remote, metadata })
    const res = await post(gate, '/v2/models/m/infer', {
      inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], data: [1, 2, 3, 0.5, 0.25, 0.125] }],
    })
    expect(res.status).toBe(200)
    expect((await res.json()).outputs).toEqual([
      { name: 'total', datatype: 'FP64', shape: [2, 1], data: [6, 0.875] },
    ])
  })

  it('reports readiness from the status route and follows the server going down', async () => {
    const { server, gate } = await setup({ protocol: 'v1' }, { ...remote, readyCacheMs: 0 })
    expect((await gate.fetch(new Request('http://gate/v1/models/m'))).status).toBe(200)
    await server.down()
    const res = await gate.fetch(new Request('http://gate/v1/models/m'))
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ ready: false })
    await server.up()
    expect((await gate.fetch(new Request('http://gate/v1/models/m'))).status).toBe(200)
  })

  it('answers 502 when the predictions do not match the rows sent', async () => {
    const oneRow = (inputs: Tensor[]) => linearCompute([{ ...inputs[0]!, shape: [1, 3] }])
    const { gate } = await setup({ protocol: 'v1', compute: oneRow }, remote)
    const res = await post(gate, '/v2/models/m/infer', v2Body())
    expect(res.status).toBe(502)
    expect((await res.json()).code).toBe('bad_gateway')
  })
})

describe('TF Serving', () => {
  it('derives metadata from the signature and uses the row format for one input', async () => {
    const { server, gate } = await setup(
      { protocol: 'tfserving' },
      { protocol: 'tfserving', model: 'linear' },
    )
    const meta = await (await gate.fetch(new Request('http://gate/v2/models/m'))).json()
    expect(meta).toMatchObject({
      platform: 'tensorflow',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    })
    const res = await post(gate, '/v2/models/m/infer', v2Body())
    expect(res.status).toBe(200)
    expect((await res.json()).outputs[0]).toEqual({
      name: 'y',
      datatype: 'FP32',
      shape: [3, 2],
      data: expectedY().flat(),
    })
    expect(server.stats.lastInferBody).toEqual({ instances: X })
  })

  it('uses the columnar format for several inputs and reads named outputs', async () => {
    const metadata: ModelMetadata = {
      platform: 'tensorflow',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 2] },
        { name: 'b', datatype: 'INT64', shape: [-1] },
      ],
      outputs: [
        { name: 's', datatype: 'FP32', shape: [-1] },
        { name: 'positive', datatype: 'BOOL', shape: [-1] },
      ],
    }
    const compute = ([a, b]: Tensor[]): Tensor[] => {
      const rows = a!.shape[0]!
      const s = new Float32Array(rows)
      for (let r = 0; r < rows; r++)
        s[r] = Number(a!.data[r * 2]) + Number(a!.data[r * 2 + 1]) + Number(b!.data[r])
      return [
        { name: 's', datatype: 'FP32', shape: [rows], data: s },
        {
          name: 'positive',
          datatype: 'BOOL',
          shape: [rows],
          data: Uint8Array.from(s, (v) => (v > 0 ? 1 : 0)),
        },
      ]
    }
    const { server, gate } = await setup(
      { protocol: 'tfserving', model: 'pair', metadata, compute },
      { protocol: 'tfserving', model: 'pair' },
    )
    const res = await post(gate, '/v2/models/m/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 2], data: [0.5, 0.25, -4, 1] },
        { name: 'b', datatype: 'INT64', shape: [2], data: [1, 2] },
      ],
      outputs: [{ name: 'positive' }],
    })
    expect(res.status).toBe(200)
    expect(server.stats.lastInferBody).toEqual({
      inputs: {
        a: [
          [0.5, 0.25],
          [-4, 1],
        ],
        b: [1, 2],
      },
    })
    expect((await res.json()).outputs).toEqual([
      { name: 'positive', datatype: 'BOOL', shape: [2], data: [true, false] },
    ])
  })

  it('reads row-format predictions holding several named outputs', async () => {
    const metadata: ModelMetadata = {
      platform: 'tensorflow',
      inputs: LINEAR_MODEL.metadata.inputs,
      outputs: [
        ...LINEAR_MODEL.metadata.outputs,
        { name: 'row_max', datatype: 'FP32', shape: [-1] },
      ],
    }
    const compute = (inputs: Tensor[]): Tensor[] => {
      const [y] = linearCompute(inputs)
      const rows = y!.shape[0]!
      const max = Float32Array.from({ length: rows }, (_, r) =>
        Math.max(Number(y!.data[r * 2]), Number(y!.data[r * 2 + 1])),
      )
      return [y!, { name: 'row_max', datatype: 'FP32', shape: [rows], data: max }]
    }
    const { server, gate } = await setup(
      { protocol: 'tfserving', metadata, compute },
      { protocol: 'tfserving', model: 'linear' },
    )
    const res = await post(gate, '/v2/models/m/infer', v2Body())
    expect(res.status).toBe(200)
    expect((server.stats.lastInferBody as { instances: unknown }).instances).toEqual(X)
    const outputs = (await res.json()).outputs
    expect(outputs[0]).toEqual({
      name: 'y',
      datatype: 'FP32',
      shape: [3, 2],
      data: expectedY().flat(),
    })
    expect(outputs[1]).toEqual({
      name: 'row_max',
      datatype: 'FP32',
      shape: [3],
      data: expectedY().map((row) => Math.max(...row)),
    })
  })

  it('calls a pinned version and a named signature', async () => {
    const { server, gate } = await setup(
      { protocol: 'tfserving', version: '7' },
      { protocol: 'tfserving', model: 'linear', version: '7', signatureName: 'serving_default' },
    )
    expect((await gate.fetch(new Request('http://gate/v2/models/m/ready'))).status).toBe(200)
    expect((await post(gate, '/v2/models/m/infer', v2Body())).status).toBe(200)
    expect(server.stats.lastInferBody).toMatchObject({ signature_name: 'serving_default' })

    const other = createRemoteBackend({
      url: server.url,
      protocol: 'tfserving',
      model: 'linear',
      version: '8',
      retries: 0,
    })
    expect(await other.ready()).toBe(false)
  })

  it('maps a rejected signature to a generic 400', async () => {
    const { server, gate } = await setup(
      { protocol: 'tfserving' },
      {
        protocol: 'tfserving',
        model: 'linear',
        metadata: LINEAR_MODEL.metadata,
        signatureName: 'missing',
      },
    )
    const res = await post(gate, '/v2/models/m/infer', v2Body())
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: 'the model server rejected the request',
      code: 'upstream_rejected',
    })
    expect(server.stats.infers).toBe(1)
  })
})

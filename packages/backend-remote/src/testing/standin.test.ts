import { afterEach, describe, expect, it } from 'vitest'
import { createGate } from '@modelgate/core'
import { createRemoteBackend } from '../remote.js'
import { createLinearBackend } from './linear.js'
import { startStandInServer, type StandInServer } from './standin.js'

const servers: StandInServer[] = []
afterEach(async () => {
  while (servers.length > 0) await servers.pop()!.close()
})

async function start(options: Parameters<typeof startStandInServer>[0]) {
  const server = await startStandInServer(options)
  servers.push(server)
  return server
}

async function call(url: string, method = 'GET', body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: await res.json() }
}

describe('stand-in server', () => {
  it('speaks OIP V2 with request validation', async () => {
    const s = await start({ protocol: 'v2' })
    expect(await call(`${s.url}/v2/health/ready`)).toEqual({ status: 200, body: { ready: true } })
    expect((await call(`${s.url}/v2/models/linear`)).body.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 3] },
    ])
    const bad = await call(`${s.url}/v2/models/linear/infer`, 'POST', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2] }],
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/shape needs 3 values/)
    expect((await call(`${s.url}/v2/models/other/ready`)).status).toBe(404)
    expect((await call(`${s.url}/v2/models/linear/infer`)).status).toBe(405)
  })

  it('speaks KServe V1 and TF Serving', async () => {
    const v1 = await start({ protocol: 'v1' })
    expect(await call(`${v1.url}/v1/models/linear`)).toEqual({
      status: 200,
      body: { name: 'linear', ready: true },
    })
    const predicted = await call(`${v1.url}/v1/models/linear:predict`, 'POST', {
      instances: [[1, 2, 3]],
    })
    expect(predicted.body.predictions).toHaveLength(1)
    expect((await call(`${v1.url}/v1/models/linear:predict`, 'POST', { rows: [] })).status).toBe(
      400,
    )

    const tf = await start({ protocol: 'tfserving', version: '2' })
    expect(
      (await call(`${tf.url}/v1/models/linear/versions/2`)).body.model_version_status[0],
    ).toMatchObject({
      version: '2',
      state: 'AVAILABLE',
    })
    const meta = await call(`${tf.url}/v1/models/linear/metadata`)
    expect(meta.body.metadata.signature_def.signature_def.serving_default.inputs.x.dtype).toBe(
      'DT_FLOAT',
    )
    const columnar = await call(`${tf.url}/v1/models/linear:predict`, 'POST', {
      inputs: [[1, 2, 3]],
    })
    expect(columnar.body.outputs).toHaveLength(1)
    expect((await call(`${tf.url}/v1/models/linear:predict`, 'POST', {})).status).toBe(400)
  })

  it('plays faults only as often as asked and counts requests', async () => {
    const s = await start({ protocol: 'v2', failNext: [503] })
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }
    expect((await call(`${s.url}/v2/models/linear/ready`)).status).toBe(200)
    expect((await call(`${s.url}/v2/models/linear/infer`, 'POST', body)).status).toBe(503)
    expect((await call(`${s.url}/v2/models/linear/infer`, 'POST', body)).status).toBe(200)
    s.failNext(500, { routes: 'all' })
    expect((await call(`${s.url}/v2/health/live`)).status).toBe(500)
    expect(s.stats).toMatchObject({ requests: 4, infers: 2 })
    s.resetStats()
    expect(s.stats.requests).toBe(0)
  })

  it('serves any backend, so a remote gate matches the same model served in-process', async () => {
    const s = await start({ protocol: 'v2', model: 'served', backend: createLinearBackend() })
    const local = createGate({ models: [{ name: 'm', backend: createLinearBackend() }] })
    const remote = createGate({
      models: [
        {
          name: 'm',
          backend: createRemoteBackend({ url: s.url, protocol: 'v2', model: 'served' }),
        },
      ],
    })
    await Promise.all([local.ready(), remote.ready()])
    const request = () =>
      new Request('http://gate/v2/models/m/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [3, 2, 1] }],
        }),
      })
    const [a, b] = await Promise.all([local.fetch(request()), remote.fetch(request())])
    expect(await b.json()).toEqual(await a.json())
  })
})

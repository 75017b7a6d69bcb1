import { generateApplications } from '../../credit-risk/src/data.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoPki, removeDemoPki } from '../dist/pki.js'
import { spawnCloud, spawnEdge } from '../dist/processes.js'
import type { DemoProcess } from '../dist/processes.js'
import { predict, runScenario, UNCERTAIN_APPLICATION } from '../dist/scenario.js'

const applications = generateApplications(40, 99).map(({ default: _label, ...a }) => a)

describe('the edge gate in workerd and on Node', () => {
  let cloud: DemoProcess
  let workerd: DemoProcess
  let node: DemoProcess
  let pkiDir: string

  beforeAll(async () => {
    pkiDir = await createDemoPki()
    cloud = await spawnCloud({ pkiDir })
    ;[workerd, node] = await Promise.all([
      spawnEdge({ cloudUrl: cloud.url, pkiDir, runtime: 'workerd' }),
      spawnEdge({ cloudUrl: cloud.url, pkiDir, runtime: 'node' }),
    ])
    // First calls open TLS connections and compile code paths on both sides: they may take longer
    // than the 250 ms budget, answer degraded and open the breaker. Warm each edge until it
    // escalates.
    for (const edge of [workerd, node]) {
      for (let i = 0; i < 10; i++) {
        const step = await predict(edge.url, 'warm-up', UNCERTAIN_APPLICATION)
        if (step.route === 'cloud') break
        if (step.degraded === 'breaker_open') await new Promise((r) => setTimeout(r, 2100))
      }
    }
  }, 90_000)
  afterAll(async () => {
    await Promise.all([workerd?.stop(), node?.stop()])
    await cloud?.stop()
    if (pkiDir) await removeDemoPki(pkiDir)
  })

  it('serves the cloud over HTTPS that refuses clients without a certificate from the demo CA', async () => {
    expect(cloud.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    await expect(fetch(`${cloud.url}/v2/health/live`)).rejects.toThrow()
  })

  const requests: Array<[string, RequestInit?]> = [
    ['/v2/health/live'],
    ['/v2/health/ready'],
    ['/v2'],
    ['/v2/models/credit'],
    ['/v2/models/credit/versions/1/ready'],
    [
      '/v1/models/credit:predict',
      { method: 'POST', body: JSON.stringify({ instances: applications }) },
    ],
    [
      '/v2/models/credit/infer',
      {
        method: 'POST',
        body: JSON.stringify({
          id: 'r1',
          inputs: [
            {
              name: 'features',
              datatype: 'FP32',
              shape: [2, 14],
              data: [
                [68500, 0.28, 36, 6.5, 12, 0, 18000, 1, 0, 0, 0, 0, 0, 0],
                [63600, 0.431, 30, 0, 4.7, 1, 29600, 1, 0, 0, 0, 0, 0, 0],
              ],
            },
          ],
        }),
      },
    ],
    [
      '/v1/models/credit:predict',
      { method: 'POST', body: JSON.stringify({ instances: [{ income: 'lots' }] }) },
    ],
    ['/v2/models/nope/infer', { method: 'POST', body: '{}' }],
    ['/v2/models/credit/infer', { method: 'POST', body: '{"inputs": [' }],
  ]

  it('answers every OIP route with the same status, route headers and body as the Node adapter', async () => {
    for (const [path, init] of requests) {
      const ask = (base: string) =>
        fetch(base + path, { ...init, headers: { 'content-type': 'application/json' } })
      const [a, b] = await Promise.all([ask(workerd.url), ask(node.url)])
      const [ta, tb] = await Promise.all([a.text(), b.text()])
      expect({ path, status: a.status }).toEqual({ path, status: b.status })
      expect(a.headers.get('content-type')).toBe(b.headers.get('content-type'))
      expect(a.headers.get('x-modelgate-route')).toBe(b.headers.get('x-modelgate-route'))
      expect(JSON.parse(ta)).toEqual(JSON.parse(tb))
    }
  })

  it('escalates uncertain applicants from workerd and from Node to the cloud, over mTLS with JWE bodies', async () => {
    const res = await fetch(`${workerd.url}/v2/models/credit/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [1, 14],
            data: [63600, 0.431, 30, 0, 4.7, 1, 29600, 1, 0, 0, 0, 0, 0, 0],
          },
        ],
      }),
    })
    const body = await res.json()
    expect(body.outputs[0].parameters).toEqual({ route: 'cloud', degraded: false, cloud_rows: [0] })
    expect(body.outputs[0].data[0]).toBeCloseTo(0.539, 2)
    const v1 = await fetch(`${workerd.url}/v1/models/credit:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [UNCERTAIN_APPLICATION] }),
    })
    expect(v1.headers.get('x-modelgate-route')).toBe('cloud')
    const fromNode = await fetch(`${node.url}/v1/models/credit:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [UNCERTAIN_APPLICATION] }),
    })
    expect(fromNode.headers.get('x-modelgate-route')).toBe('cloud')
    expect(fromNode.headers.get('x-modelgate-degraded')).toBeNull()
  })
})

describe('the demo scenario', () => {
  it('answers at the edge, escalates, survives a cloud outage and recovers', async () => {
    const steps = await runScenario({ runtime: 'node' })
    expect(steps.map((s) => [s.label, s.status, s.route, s.degraded])).toEqual([
      ['confident applicant', 200, 'edge', null],
      ['uncertain applicant', 200, 'cloud', null],
      ['uncertain, cloud down', 200, 'edge', 'cloud_error'],
      ['uncertain, cloud down again', 200, 'edge', 'cloud_error'],
      ['uncertain, breaker open', 200, 'edge', 'breaker_open'],
      ['uncertain, cloud back', 200, 'cloud', null],
    ])
    const [confident, escalated, down] = steps
    expect(confident!.probability).toBeLessThan(0.2)
    expect(Math.abs(escalated!.probability - down!.probability)).toBeLessThan(0.01)
    for (const s of steps.slice(2, 5)) expect(s.ms).toBeLessThan(250)
  }, 60_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGate, type Gate } from '@modelgate/core'
import { createOnnxBackend } from '@modelgate/backend-onnx'
import { createRemoteBackend } from '@modelgate/backend-remote'
import * as testing from '@modelgate/backend-remote/testing'
import { conformanceCases, fixturePath, runConformance } from '@modelgate/testkit'

// The conformance suite through a chain: a gate whose models are remote backends speaking OIP V2
// to stand-in model servers that run the same ONNX fixtures. It must answer exactly like a gate
// running the models itself.

let local: Gate
let chained: Gate
const servers: testing.StandInServer[] = []

beforeAll(async () => {
  const mlp = await testing.startStandInServer({
    protocol: 'v2',
    model: 'mlp',
    version: '1',
    backend: createOnnxBackend({ path: fixturePath('mlp.onnx') }),
  })
  const multi = await testing.startStandInServer({
    protocol: 'v2',
    model: 'multi_io',
    backend: createOnnxBackend({ path: fixturePath('multi_io.onnx') }),
  })
  servers.push(mlp, multi)
  chained = createGate({
    models: [
      {
        name: 'mlp',
        version: '1',
        backend: createRemoteBackend({ url: mlp.url, protocol: 'v2', model: 'mlp', version: '1' }),
      },
      {
        name: 'multi_io',
        backend: createRemoteBackend({ url: multi.url, protocol: 'v2', model: 'multi_io' }),
      },
    ],
  })
  local = createGate({
    models: [
      { name: 'mlp', version: '1', backend: createOnnxBackend({ path: fixturePath('mlp.onnx') }) },
      { name: 'multi_io', backend: createOnnxBackend({ path: fixturePath('multi_io.onnx') }) },
    ],
  })
  await Promise.all([chained.ready(), local.ready()])
})

afterAll(async () => {
  await Promise.all([chained?.close(), local?.close(), ...servers.map((s) => s.close())])
})

describe('conformance through a remote backend', () => {
  it('a gate over stand-in OIP servers passes every case, exactly like a local gate', async () => {
    const viaRemote = await runConformance((request) => chained.fetch(request))
    expect(viaRemote.filter((r) => r.problems.length > 0)).toEqual([])
    expect(viaRemote).toHaveLength(conformanceCases.length)
    const direct = await runConformance((request) => local.fetch(request))
    const strip = (rs: typeof direct) =>
      rs.map(({ problems: _, body, ...rest }) => ({
        ...rest,
        // The platform names the runtime that ran the model; everything else must be identical.
        body: rest.name.startsWith('model metadata') ? { ...(body as object), platform: '' } : body,
      }))
    expect(strip(viaRemote)).toEqual(strip(direct))
  })
})

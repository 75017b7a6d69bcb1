import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGate } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { predictMargin } from '../index.js'
import { createTreesBackend, loadTreeModel } from './index.js'

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname

describe('@modelgate/backend-trees/node', () => {
  it('loads a model file by its path when the gate starts and serves it', async () => {
    const gate = createGate({
      models: [{ name: 'lgb', backend: createTreesBackend({ path: fixture('lgb-binary.json') }) }],
    })
    await gate.ready()
    const ensemble = await loadTreeModel(fixture('lgb-binary.json'))
    const row = [0.5, -1, 2, 0.3]
    const res = await gate.fetch(
      new Request('http://gate/v2/models/lgb/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }],
          outputs: [{ name: 'margin' }],
        }),
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as { outputs: Array<{ data: number[] }> }
    const want = predictMargin(ensemble, Float64Array.from(row), 1)[0]!
    expect(body.outputs[0]!.data[0]).toBeCloseTo(want, 6)
    await gate.close()
  })

  it('fails the start on a missing or malformed file, and refuses bad options', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trees-'))
    await writeFile(join(dir, 'bad.json'), '{"nope": 1}')
    for (const path of [join(dir, 'absent.json'), join(dir, 'bad.json')]) {
      const gate = createGate({ models: [{ name: 'm', backend: createTreesBackend({ path }) }] })
      await expect(gate.ready()).rejects.toThrow(/ENOENT|not an XGBoost/)
    }
    expect(() => createTreesBackend({})).toThrow(/exactly one of "path" or "model"/)
    expect(() => createTreesBackend({ path: 'a.json', model: {} })).toThrow(/exactly one/)
    expect(() => createTreesBackend({ pth: 'a.json' } as never)).toThrow(
      'createTreesBackend: unknown option "pth" (did you mean "path"?)',
    )
  })
})

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createGate, type ModelBackend } from '@modelgate/core'
import { afterEach, describe, expect, it } from 'vitest'
import { explain } from './index.js'

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const META = {
  platform: 'js',
  inputs: [{ name: 'x', datatype: 'FP64' as const, shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP64' as const, shape: [-1, 1] }],
}
/** y = 2·x0 − x1 + x2·x3, float64. */
const model: ModelBackend = {
  async metadata() {
    return META
  },
  async ready() {
    return true
  },
  async infer([x]) {
    const d = x!.data as Float64Array
    const n = d.length / 4
    const y = Float64Array.from({ length: n }, (_, r) => {
      const [a, b, c, e] = Array.from(d.subarray(r * 4, r * 4 + 4))
      return 2 * a! - b! + c! * e!
    })
    return [{ name: 'y', datatype: 'FP64', shape: [n, 1], data: y }]
  },
}
const defaults = {
  method: 'exact_shap' as const,
  background: {
    data: [
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ],
  },
}
const inputs = [{ name: 'x', datatype: 'FP64', shape: [2, 4], data: [1, 2, 3, 4, 0, 1, 0, 1] }]

describe('explain of @modelgate/explain/node', () => {
  it('runs large jobs on the worker pool, model calls on the main thread, and is additive', async () => {
    let calls = 0
    const counted: ModelBackend = { ...model, infer: (t, o) => (calls++, model.infer(t, o)) }
    const gate = createGate({
      models: [{ name: 'm', backend: counted }],
      plugins: [explain({ defaults, workers: 1, inlineBelowEvaluations: 0, cache: false })],
    })
    await gate.ready()
    const res = await gate.fetch(
      new Request('http://gate/v2/models/m/explain', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs }),
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      outputs: Array<{ data: number[] }>
      explanations: Array<{ values: number[][]; base_value: number; method: string }>
    }
    const e = body.explanations[0]!
    expect(e.method).toBe('exact_shap')
    e.values.forEach((row, r) =>
      expect(row.reduce((a, b) => a + b, e.base_value)).toBeCloseTo(body.outputs[0]!.data[r]!, 9),
    )
    expect(calls).toBeGreaterThan(1)
    await gate.close()
  })

  it('refuses bad options, naming the nearest valid key', () => {
    expect(() => explain({ workers: -1 })).toThrow(
      'explain: "workers" must be a non-negative integer',
    )
    expect(() => explain({ workrs: 2 } as never)).toThrow(
      'explain: unknown option "workrs" (did you mean "workers"?)',
    )
    expect(() => explain(JSON.parse('{"defualts": {}}'))).toThrow(
      'explain: unknown option "defualts" (did you mean "defaults"?)',
    )
    expect(() => explain({ pool: {} } as never)).toThrow('explain: unknown option "pool"')
  })
})

describe('lifecycle', () => {
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  })

  /**
   * A Node process serving a gate with the pooled explain plugin on loopback, as a user would
   * write it (built packages, `node:http`), that on SIGTERM closes its server and then, unless
   * `closeGate` is false, its gate.
   */
  async function startServer(closeGate: boolean) {
    const dist = (p: string) => new URL(`../../../${p}`, import.meta.url)
    const core = dist('core/dist/index.js')
    const pooled = dist('explain/dist/node/index.js')
    for (const url of [core, pooled, dist('explain/dist/node/worker.js')]) {
      if (!existsSync(url))
        throw new Error(`${url.pathname} is missing: build first (npx -y pnpm@12.4.2 build)`)
    }
    const dir = await mkdtemp(join(tmpdir(), 'explain-sigterm-'))
    const script = join(dir, 'server.mjs')
    await writeFile(script, childSource(core.href, pooled.href, closeGate))
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    const first = await lines.next()
    const { port } = JSON.parse(String(first.value)) as { port: number }
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    )
    return { child, url: `http://127.0.0.1:${port}`, exited }
  }

  it('exits within 5 s of SIGTERM after an explanation on the worker pool, once server and gate are closed', async () => {
    const { child, url, exited } = await startServer(true)
    const res = await post(`${url}/v2/models/m/explain`, { inputs })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { explanations: unknown[] }).explanations).toHaveLength(1)
    const sent = Date.now()
    child.kill('SIGTERM')
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('timeout'), 5000)),
    ])
    expect(code).toBe(0)
    expect(Date.now() - sent).toBeLessThan(5000)
  })

  it('(control) stays up after SIGTERM when only the server is closed: the pool is what gate.close() releases', async () => {
    const { child, url, exited } = await startServer(false)
    expect((await post(`${url}/v2/models/m/explain`, { inputs })).status).toBe(200)
    child.kill('SIGTERM')
    const outcome = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('running'), 2000)),
    ])
    expect(outcome).toBe('running')
  })
})

function childSource(core: string, pooled: string, closeGate: boolean): string {
  return `import { createServer } from 'node:http'
import { createGate } from ${JSON.stringify(core)}
import { explain } from ${JSON.stringify(pooled)}

const model = {
  async metadata() {
    return ${JSON.stringify(META)}
  },
  async ready() {
    return true
  },
  async infer([x]) {
    const n = x.data.length / 4
    const y = Float64Array.from({ length: n }, (_, r) => {
      const [a, b, c, e] = x.data.subarray(r * 4, r * 4 + 4)
      return 2 * a - b + c * e
    })
    return [{ name: 'y', datatype: 'FP64', shape: [n, 1], data: y }]
  },
}
const gate = createGate({
  models: [{ name: 'm', backend: model }],
  plugins: [explain({ defaults: ${JSON.stringify(defaults)}, workers: 1, inlineBelowEvaluations: 0 })],
})
await gate.ready()
const server = createServer(async (req, res) => {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const answer = await gate.fetch(
    new Request('http://127.0.0.1' + req.url, {
      method: req.method,
      headers: req.headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    }),
  )
  res.writeHead(answer.status, Object.fromEntries(answer.headers))
  res.end(Buffer.from(await answer.arrayBuffer()))
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })))
process.once('SIGTERM', () => {
  const closed = new Promise((resolve) => server.close(resolve))
  ${closeGate ? 'void closed.then(() => gate.close())' : 'void closed'}
})
`
}

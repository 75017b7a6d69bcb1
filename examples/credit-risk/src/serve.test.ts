import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, SAMPLE_APPLICATION, usage } from './serve.js'
import type { Demo } from './serve.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

/** The JSON bodies of the printed curl commands, with the URL each is sent to. */
function curlCommands(text: string): Array<{ url: string; body: string; auth: boolean }> {
  const found: Array<{ url: string; body: string; auth: boolean }> = []
  const re =
    /curl -s (\S+) \\\n {2}-H 'content-type: application\/json' \\\n( {2}-H "authorization: Bearer \$TOKEN" \\\n)? {2}-d '([^\n]*)'/g
  for (const m of text.matchAll(re))
    found.push({ url: m[1]!, body: m[3]!.replaceAll("'\\''", "'"), auth: m[2] !== undefined })
  return found
}

describe('startDemo: one gate on Express and on the edge adapter', () => {
  let demo: Demo

  beforeAll(async () => {
    demo = await startDemo({ port: 0, edgePort: 0 })
  })
  afterAll(() => demo?.close())

  it('listens on two loopback ports', () => {
    expect(demo.cloud.url).toBe(`http://127.0.0.1:${demo.cloud.port}`)
    expect(demo.edge.url).toBe(`http://127.0.0.1:${demo.edge.port}`)
    expect(demo.cloud.port).not.toBe(demo.edge.port)
  })

  it('prints curl commands for V1 and V2 on both runtimes that answer identically', async () => {
    const commands = curlCommands(usage(demo))
    expect(commands.map((c) => c.url)).toEqual([
      `${demo.cloud.url}/v1/models/credit:predict`,
      `${demo.cloud.url}/v2/models/credit/infer`,
      `${demo.edge.url}/v1/models/credit:predict`,
      `${demo.edge.url}/v2/models/credit/infer`,
    ])
    const [cloudV1, cloudV2, edgeV1, edgeV2] = await Promise.all(
      commands.map((c) => post(c.url, c.body)),
    )
    for (const r of [cloudV1, cloudV2, edgeV1, edgeV2]) {
      expect(r!.status).toBe(200)
      expect(r!.type).toMatch(/^application\/json/)
    }
    expect(edgeV1!.text).toBe(cloudV1!.text)
    expect(edgeV2!.text).toBe(cloudV2!.text)
    const v1 = JSON.parse(cloudV1!.text) as { predictions: Array<{ default_probability: number }> }
    const v2 = JSON.parse(cloudV2!.text) as { outputs: Array<{ name: string; data: number[] }> }
    const p = v1.predictions[0]!.default_probability
    expect(p).toBeGreaterThan(0)
    expect(p).toBeLessThan(1)
    expect(v2.outputs[0]).toMatchObject({ name: 'default_probability', data: [p] })
  })

  it('serves the same metadata and health on both runtimes', async () => {
    for (const path of [
      '/v2/health/ready',
      '/v2/models/credit',
      '/v2/models/credit/ready',
      '/v2',
    ]) {
      const [cloud, edge] = await Promise.all([
        fetch(demo.cloud.url + path),
        fetch(demo.edge.url + path),
      ])
      expect(cloud.status, path).toBe(200)
      expect(edge.status, path).toBe(cloud.status)
      expect(await edge.text(), path).toBe(await cloud.text())
    }
  })

  it('rejects bad records with the same 400 on both runtimes, naming the field, never the value', async () => {
    const cases = [
      { ...SAMPLE_APPLICATION, favourite_colour: 'octarine-3301' },
      { ...SAMPLE_APPLICATION, age: 212 },
      { ...SAMPLE_APPLICATION, loan_amount: -4_321 },
    ]
    const fields = ['favourite_colour', 'age', 'loan_amount']
    const secrets = ['octarine-3301', '212', '4321']
    for (const [i, instance] of cases.entries()) {
      const body = { instances: [instance] }
      const [cloud, edge] = await Promise.all([
        post(`${demo.cloud.url}/v1/models/credit:predict`, body),
        post(`${demo.edge.url}/v1/models/credit:predict`, body),
      ])
      expect(cloud.status).toBe(400)
      expect(cloud.type).toMatch(/^application\/json/)
      expect(edge.status).toBe(400)
      expect(edge.text).toBe(cloud.text)
      expect(JSON.parse(cloud.text).error).toContain(fields[i])
      expect(cloud.text).not.toContain(secrets[i])
      expect(cloud.text).not.toContain(SAMPLE_APPLICATION.ssn)
    }
  })

  it('answers a V2 tensor of the wrong width with 400 on both runtimes', async () => {
    const body = {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
    }
    const [cloud, edge] = await Promise.all([
      post(`${demo.cloud.url}/v2/models/credit/infer`, body),
      post(`${demo.edge.url}/v2/models/credit/infer`, body),
    ])
    expect(cloud.status).toBe(400)
    expect(edge.status).toBe(400)
    expect(edge.text).toBe(cloud.text)
  })
})

/** Starts a compiled entry point and resolves with the first stdout that matches `ready`. */
function start(args: string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const output = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (ready.test(stdout)) resolve(stdout)
    })
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready: ${stderr}`)))
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  return { child, output, exited, stdout: () => stdout }
}

function stopWith(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode === null) child.kill(signal)
}

describe('the compiled demo and `modelgate serve --config gate.json`', () => {
  beforeAll(async () => {
    await promisify(execFile)(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-b', 'examples/credit-risk', 'packages/cli'],
      { cwd: root },
    )
  }, 120_000)

  it('prints working curl commands, then closes cleanly on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const demo = start(
        ['examples/credit-risk/dist/serve.js'],
        { PORT: '0', EDGE_PORT: '0' },
        /Ctrl\+C/,
      )
      try {
        const text = await demo.output
        expect(text).toMatch(/Web console: http:\/\/127\.0\.0\.1:\d+\/console\//)
        const tokenUrl = /TOKEN=\$\(curl -s -X POST (\S+) /.exec(text)![1]!
        const { token } = JSON.parse((await post(tokenUrl, { user: 'underwriter' })).text)
        const commands = curlCommands(text)
        expect(commands).toHaveLength(4)
        expect(commands.every((c) => c.auth)).toBe(true)
        const refused = await post(commands[0]!.url, commands[0]!.body)
        expect(refused.status).toBe(401)
        const answers = await Promise.all(commands.map((c) => post(c.url, c.body, token)))
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
        const probability = (a: { text: string }) =>
          JSON.parse(a.text).predictions[0].default_probability as number
        expect(probability(answers[2]!)).toBe(probability(answers[0]!))
        expect(JSON.parse(answers[0]!.text).predictions[0].ssn).toBe('***-**-8821')
        stopWith(demo.child, signal)
        expect(await demo.exited).toBe(0)
        await expect(fetch(commands[0]!.url)).rejects.toThrow()
      } finally {
        stopWith(demo.child, 'SIGKILL')
      }
    }
  })

  it('serves the same predictions from gate.json through the modelgate CLI', async () => {
    const demo = await startDemo({ port: 0, edgePort: 0 })
    const cli = start(
      [
        'packages/cli/dist/bin.js',
        'serve',
        '--config',
        'examples/credit-risk/gate.json',
        '--port',
        '0',
      ],
      {},
      /listening on (http:\/\/\S+)/,
    )
    try {
      const url = /listening on (http:\/\/[^\s)]+)/.exec(await cli.output)![1]!
      const body = { instances: [SAMPLE_APPLICATION, { ...SAMPLE_APPLICATION, delinquencies: 4 }] }
      const [fromCli, fromDemo] = await Promise.all([
        post(`${url}/v1/models/credit:predict`, body),
        post(`${demo.cloud.url}/v1/models/credit:predict`, body),
      ])
      expect(fromCli.status).toBe(200)
      expect(fromCli.text).toBe(fromDemo.text)
      stopWith(cli.child, 'SIGTERM')
      expect(await cli.exited).toBe(0)
    } finally {
      stopWith(cli.child, 'SIGKILL')
      await demo.close()
    }
  })
})

import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ShellSession, splitCommands } from '../../../test/shell.js'
import type { ShellResult } from '../../../test/shell.js'
import { PortInUseError, startDemo, SAMPLE_APPLICATION, usage } from './serve.js'
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

/** Runs every command of `script` in one shell, in order, from the repository root. */
async function runPrinted(script: string): Promise<ShellResult[]> {
  const shell = await ShellSession.start({ cwd: root })
  try {
    const results: ShellResult[] = []
    for (const command of splitCommands(script)) results.push(await shell.run(command))
    return results
  } finally {
    await shell.close()
  }
}

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
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

  it('prints curl commands for V1 and V2 on both runtimes that answer identically in a shell', async () => {
    const text = usage(demo)
    expect(text).toContain('Started with CONSOLE=0')
    const results = await runPrinted(text)
    expect(results.map((r) => /curl -s -w '\\n' (\S+)/.exec(r.command)?.[1])).toEqual([
      `${demo.cloud.url}/v1/models/credit:predict`,
      `${demo.cloud.url}/v2/models/credit/infer`,
      `${demo.edge.url}/v1/models/credit:predict`,
      `${demo.edge.url}/v2/models/credit/infer`,
    ])
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const [cloudV1, cloudV2, edgeV1, edgeV2] = results.map((r) => r.stdout)
    expect(edgeV1).toBe(cloudV1)
    expect(edgeV2).toBe(cloudV2)
    const v1 = JSON.parse(cloudV1!) as { predictions: Array<{ default_probability: number }> }
    const v2 = JSON.parse(cloudV2!) as { outputs: Array<{ name: string; data: number[] }> }
    const p = v1.predictions[0]!.default_probability
    expect(p).toBeGreaterThan(0)
    expect(p).toBeLessThan(1)
    expect(v2.outputs[0]).toMatchObject({ name: 'default_probability', data: [p] })
  })

  it('answers GET / with a JSON hint naming the routes (the console is off)', async () => {
    const res = await fetch(`${demo.cloud.url}/`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { console: string; routes: string[] }
    expect(body.console).toContain('CONSOLE=0')
    expect(body.routes).toContain('POST /v1/models/credit:predict')
    expect((await fetch(`${demo.edge.url}/`)).status).toBe(200)
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

  it('names a taken port and the server that wanted it', async () => {
    const taken = await listening()
    const port = (taken.address() as AddressInfo).port
    try {
      const error = await startDemo({ port, edgePort: 0 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PortInUseError)
      expect(error).toMatchObject({ code: 'EADDRINUSE', port, runtime: 'cloud' })
      expect((error as Error).message).toContain(`port ${port} on 127.0.0.1 is in use`)
      const edge = await startDemo({ port: 0, edgePort: port }).catch((e: unknown) => e)
      expect(edge).toMatchObject({ port, runtime: 'edge' })
      expect((edge as Error).message).toContain('"edgePort"')
    } finally {
      taken.close()
    }
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
  return { child, output, exited, stdout: () => stdout, stderr: () => stderr }
}

function stopWith(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode === null) child.kill(signal)
}

describe('the compiled demo and `modelgate serve --config gate.json`', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-demo-'))
    await promisify(execFile)(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-b', 'examples/credit-risk', 'packages/cli'],
      { cwd: root },
    )
  }, 120_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))
  /** The compiled demo on free ports, its audit trail in `dir`. */
  const startCompiledDemo = (env: Record<string, string> = {}) =>
    start(
      ['examples/credit-risk/dist/serve.js'],
      { PORT: '0', EDGE_PORT: '0', DEMO_DIR: dir, ...env },
      /Ctrl\+C/,
    )

  it('prints commands that work in a shell as printed: two roles, an explanation, a V2 tensor and audit verify', async () => {
    const demo = startCompiledDemo()
    try {
      const text = await demo.output
      const cloud = /web console: +(http:\/\/127\.0\.0\.1:\d+)\/console\//.exec(text)![1]!
      expect(text).toContain('CONSOLE=0 serves the bare model')

      const results = await runPrinted(text)
      const find = (...parts: string[]) => {
        const r = results.find((x) => parts.every((p) => x.command.includes(p)))
        expect(r, parts.join(' ')).toBeDefined()
        expect(r!.code, `${r!.command}\n${r!.stderr}`).toBe(0)
        return r!
      }
      const json = (r: ShellResult) => JSON.parse(r.stdout) as Record<string, any>
      for (const name of ['APPLICANT=', 'UNDERWRITER=', 'APPLICATION=']) find(name)

      // the same record as the applicant (masked) and as the underwriter (contact in clear)
      const asApplicant = json(find(':predict', '$APPLICANT')).predictions[0]
      const asUnderwriter = json(find(':predict', '$UNDERWRITER')).predictions[0]
      expect(asApplicant.name).toMatch(/^PERSON_[0-9a-f]{16}$/)
      expect(asApplicant.email).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
      expect(asApplicant.phone).toMatch(/^enc:v2:/)
      expect(asUnderwriter).toMatchObject({
        name: SAMPLE_APPLICATION.name,
        email: SAMPLE_APPLICATION.email,
        phone: SAMPLE_APPLICATION.phone,
      })
      for (const seen of [asApplicant, asUnderwriter]) {
        expect(seen.ssn).toBe('***-**-8821')
        expect(seen.card_number).toBe('**** **** **** 6467')
      }
      const p = asApplicant.default_probability as number
      expect(asUnderwriter.default_probability).toBe(p)

      // the explanation: exact SHAP values that add up to the prediction
      const [explanation] = json(find(':explain', '$UNDERWRITER')).explanations
      expect(explanation.method).toBe('exact_shap')
      expect(explanation.feature_names).toHaveLength(8)
      const sum = (explanation.values[0] as number[]).reduce((a, b) => a + b, 0)
      expect(explanation.base_values[0] + sum).toBeCloseTo(p, 6)
      expect(json(find(':explain', '$APPLICANT')).code).toBe('insufficient_scope')
      expect(json(find('/v2/models/credit/infer')).outputs[0].data).toEqual([p])

      // the audit trail the demo wrote: every request above, each with a signed checkpoint
      const verify = find('modelgate audit verify')
      expect(verify.command).toContain(join(dir, 'audit.jsonl'))
      expect(verify.stdout).toMatch(/intact: 7 records, 7 checkpoints \(signatures verified\)/)
      const log = await readFile(join(dir, 'audit.jsonl'), 'utf8')
      expect(log).not.toContain(SAMPLE_APPLICATION.ssn)
      expect(log).not.toContain(SAMPLE_APPLICATION.email)

      const home = await fetch(`${cloud}/`, { redirect: 'manual' })
      expect(home.status).toBe(302)
      expect(home.headers.get('location')).toBe('/console/')

      stopWith(demo.child, 'SIGTERM')
      expect(await demo.exited).toBe(0)
    } finally {
      stopWith(demo.child, 'SIGKILL')
    }
  })

  it('closes cleanly on SIGINT; refuses calls without a token', async () => {
    const demo = startCompiledDemo()
    try {
      const text = await demo.output
      const url = /curl -s -w '\\n' (\S+:predict)/.exec(text)![1]!
      expect((await post(url, { instances: [SAMPLE_APPLICATION] })).status).toBe(401)
      stopWith(demo.child, 'SIGINT')
      expect(await demo.exited).toBe(0)
      await expect(fetch(url)).rejects.toThrow()
    } finally {
      stopWith(demo.child, 'SIGKILL')
    }
  })

  it('says which port is taken and how to choose others', async () => {
    const taken = await listening()
    const port = (taken.address() as AddressInfo).port
    try {
      const demo = startCompiledDemo({ EDGE_PORT: String(port) })
      await expect(demo.output).rejects.toThrow(/exited with 1/)
      expect(await demo.exited).toBe(1)
      expect(demo.stderr()).toContain(`port ${port} on 127.0.0.1 is in use: the edge server`)
      expect(demo.stderr()).toContain('PORT=9080 EDGE_PORT=9081 npx -y pnpm@12.4.2 demo')
      expect(demo.stderr()).not.toMatch(/at .*\.js:\d+/)
    } finally {
      taken.close()
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

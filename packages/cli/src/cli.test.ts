import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const bin = join(root, 'packages/cli/dist/bin.js')
const mlp = join(root, 'packages/testkit/fixtures/mlp.onnx')
const features = [
  [-0.3565046489238739, 0.4302608370780945, -0.8671474456787109, 1.8618426322937012],
  [0.5028489828109741, -0.7230961918830872, -0.4693262577056885, 0.6902729868888855],
]
const inferBody = JSON.stringify({
  id: 'r1',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: features.flat() }],
})

let dir: string
const children = new Set<ChildProcess>()

beforeAll(async () => {
  await promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/cli'],
    { cwd: root },
  )
  dir = await mkdtemp(join(tmpdir(), 'modelgate-cli-'))
  await copyFile(mlp, join(dir, 'm.onnx'))
})

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0
        if (typeof code !== 'number') return reject(error)
        resolve({ code, stdout, stderr })
      },
    )
  })
}

async function writeConfig(name: string, config: unknown): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config))
  return file
}

const minimal = { models: [{ name: 'm', backend: { type: 'onnx', path: 'm.onnx' } }] }

interface Served {
  child: ChildProcess
  url: string
  line: string
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>
}

function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { cwd: dir })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child)
      resolve({ code, stdout, stderr })
    }),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)),
      20_000,
    )
    child.stdout.on('data', () => {
      const line = /^modelgate listening on (http:\/\/\S+) .*$/m.exec(stdout)
      if (!line) return
      clearTimeout(timer)
      resolve({ child, url: line[1]!, line: line[0], exited })
    })
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`))
    })
  })
}

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  return { status: res.status, text: await res.text() }
}

function postRaw(url: string, body: string) {
  const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } })
  const sent = new Promise<void>((resolve) => req.once('finish', resolve))
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('error', reject)
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
  })
  req.end(body)
  return { sent, response }
}

describe('modelgate', () => {
  it('--help lists the commands and exits 0', async () => {
    const { code, stdout } = await run(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: modelgate <command>/)
    expect(stdout).toMatch(/^ {2}serve +Serve a gate/m)
  })

  it('serve --help documents every option and exits 0', async () => {
    const { code, stdout } = await run(['serve', '--help'])
    expect(code).toBe(0)
    for (const flag of [
      '--config <file>',
      '--port <n>',
      '--host <host>',
      '--runtime <cloud|edge>',
    ]) {
      expect(stdout).toContain(flag)
    }
  })

  it('--version prints the package version', async () => {
    const { code, stdout } = await run(['--version'])
    expect(code).toBe(0)
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('rejects an unknown command, an unknown flag and a missing --config with exit 2', async () => {
    const unknown = await run(['nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown command "nope"')
    const flag = await run(['serve', '--bogus'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('--bogus')
    const missing = await run(['serve'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--config')
    const port = await run(['serve', '--config', 'x.json', '--port', '99999'])
    expect(port.code).toBe(2)
    expect(port.stderr).toContain('--port')
  })
})

describe('modelgate serve', () => {
  it('serves the minimal config identically on both runtimes and exits 0 on SIGTERM', async () => {
    const config = await writeConfig('minimal.json', minimal)
    const bodies: Record<string, string[]> = {}
    for (const runtime of ['cloud', 'edge']) {
      const served = await serve(['--config', config, '--port', '0', '--runtime', runtime])
      expect(served.line).toMatch(
        new RegExp(
          `^modelgate listening on http://127\\.0\\.0\\.1:\\d+ \\(${runtime} runtime, models: m\\)$`,
        ),
      )
      expect(served.url).not.toMatch(/:0$/)
      const ready = await fetch(`${served.url}/v2/health/ready`)
      expect(ready.status).toBe(200)
      const infer = await post(`${served.url}/v2/models/m/infer`, inferBody)
      expect(infer.status).toBe(200)
      const parsed = JSON.parse(infer.text)
      expect(parsed.model_name).toBe('m')
      expect(parsed.outputs[0].name).toBe('probabilities')
      expect(parsed.outputs[0].data[0]).toBeCloseTo(0.412744402885437, 5)
      const v1 = await post(
        `${served.url}/v1/models/m:predict`,
        JSON.stringify({ instances: features }),
      )
      const unknown = await post(`${served.url}/v2/models/nope/infer`, inferBody)
      expect(unknown.status).toBe(404)
      bodies[runtime] = [await ready.text(), infer.text, v1.text, unknown.text]

      served.child.kill('SIGTERM')
      const exit = await served.exited
      expect(exit.code).toBe(0)
      expect(exit.stdout).toContain('received SIGTERM')
    }
    expect(bodies.edge).toEqual(bodies.cloud)
  })

  it('finishes a request in flight before exiting on SIGINT', async () => {
    const slow = {
      models: [
        {
          name: 'm',
          backend: { type: 'onnx', path: 'm.onnx' },
          batching: { maxBatchSize: 64, maxDelayMs: 800 },
        },
      ],
    }
    for (const runtime of ['cloud', 'edge']) {
      const served = await serve([
        '-c',
        await writeConfig('slow.json', slow),
        '-p',
        '0',
        '--runtime',
        runtime,
      ])
      const { sent, response } = postRaw(`${served.url}/v2/models/m/infer`, inferBody)
      await sent
      await new Promise((resolve) => setTimeout(resolve, 150))
      served.child.kill('SIGINT')
      const res = await response
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text).outputs[1].data).toHaveLength(2)
      expect((await served.exited).code).toBe(0)
    }
  })

  it('takes host, port and runtime from the config, with flags overriding them', async () => {
    const config = await writeConfig('server.json', {
      ...minimal,
      server: { host: '127.0.0.1', port: 1, runtime: 'edge' },
    })
    const served = await serve(['--config', config, '--port', '0'])
    expect(served.line).toContain('(edge runtime, models: m)')
    expect((await fetch(`${served.url}/v2/health/live`)).status).toBe(200)
    served.child.kill('SIGTERM')
    expect((await served.exited).code).toBe(0)
  })

  it('exits 1 naming the model when a model fails to load', async () => {
    await writeFile(join(dir, 'broken.onnx'), 'not an onnx model')
    const config = await writeConfig('broken.json', {
      models: [{ name: 'broken', backend: { type: 'onnx', path: 'broken.onnx' } }],
    })
    const { code, stdout, stderr } = await run(['serve', '--config', config, '--port', '0'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^model "broken" failed to load: /)
    expect(stdout).not.toContain('listening')
  })

  const invalid: [string, unknown, RegExp][] = [
    [
      'an unknown top-level key',
      { ...minimal, extra: true },
      /^invalid config: extra: unknown key$/m,
    ],
    [
      'an unknown backend key',
      { models: [{ name: 'm', backend: { type: 'onnx', path: 'm.onnx', threads: 2 } }] },
      /^invalid config: models\[0\]\.backend\.threads: unknown key$/m,
    ],
    [
      'a wrong type',
      { ...minimal, limits: { maxBodyBytes: '1MB' } },
      /^invalid config: limits\.maxBodyBytes: expected number, got string$/m,
    ],
    [
      'a bad backend type',
      { models: [{ name: 'm', backend: { type: 'pickle', path: 'm.onnx' } }] },
      /^invalid config: models\[0\]\.backend\.type: expected one of onnx, tfjs, remote, xgboost, lightgbm, openai, anthropic$/m,
    ],
    [
      'a missing model file',
      { models: [{ name: 'm', backend: { type: 'onnx', path: 'models/gone.onnx' } }] },
      /^invalid config: models\[0\]\.backend\.path: file not found: .*models\/gone\.onnx$/m,
    ],
    [
      'an unknown plugin',
      { ...minimal, plugins: [{ use: 'teleport', speed: 3 }] },
      /^invalid config: plugins\[0\]\.use: unknown plugin "teleport"/m,
    ],
    [
      'a bad feature schema',
      {
        models: [
          {
            name: 'm',
            backend: { type: 'onnx', path: 'm.onnx' },
            schema: { features: [{ name: 'age', type: 'numeric', min: 'zero' }] },
          },
        ],
      },
      /^invalid config: models\[0\]\.schema\.features\[0\]\.min: expected number, got string$/m,
    ],
    ['no models', { models: [] }, /^invalid config: models: must not be empty$/m],
    ['a file that is not JSON', '{"models": [', /^cannot parse config .*bad-\d+\.json: /],
  ]
  it.each(invalid.map(([label, config, message], i) => ({ label, config, message, i })))(
    'exits 2 on $label, naming the field',
    async ({ config, message, i }) => {
      const file = await writeConfig(`bad-${i}.json`, config)
      const { code, stdout, stderr } = await run(['serve', '--config', file, '--port', '0'])
      expect(code).toBe(2)
      expect(stderr).toMatch(message)
      expect(stdout).toBe('')
    },
  )

  // A typo in any plugin's options is an error at start that names its path and the nearest
  // valid key, never a setting silently left at its default.
  const typos: Array<[string, Record<string, unknown>, string]> = [
    ['audit', { use: 'audit', failClosd: true }, 'unknown option "failClosd"'],
    ['metrics', { use: 'metrics', prefx: 'x_' }, 'unknown option "prefx" (did you mean "prefix"?)'],
    ['tracing', { use: 'tracing', tracr: 'x' }, 'unknown option "tracr"'],
    [
      'decrypt',
      { use: 'decrypt', requird: false },
      'unknown option "requird" (did you mean "required"?)',
    ],
    [
      'authenticate',
      { use: 'authenticate', publicOperatons: [] },
      'unknown option "publicOperatons" (did you mean "publicOperations"?)',
    ],
    [
      'authorize',
      { use: 'authorize', policy: { version: 1, rules: [] }, publicOperatons: [] },
      'unknown option "publicOperatons" (did you mean "publicOperations"?)',
    ],
    [
      'rateLimit',
      { use: 'rateLimit', rules: [{ by: 'global', capacity: 1, refillPerSecond: 1, cots: 1 }] },
      'unknown option "rules[0].cots" (did you mean "rules[0].cost"?)',
    ],
    ['mask', { use: 'mask', polcy: {} }, 'unknown option "polcy" (did you mean "policy"?)'],
    [
      'mask policy',
      { use: 'mask', policy: { entites: {} } },
      'unknown option "policy.entites" (did you mean "policy.entities"?)',
    ],
    [
      'explain',
      { use: 'explain', defualts: {} },
      'unknown option "defualts" (did you mean "defaults"?)',
    ],
    ['encrypt', { use: 'encrypt', allowEphemral: true }, 'unknown option "allowEphemral"'],
    ['llm', { use: 'llm', modls: [] }, 'unknown option "modls"'],
  ]
  it.each(typos.map(([label, plugin, message]) => ({ label, plugin, message })))(
    'exits 2 on a typo in the options of $label, naming the nearest valid key',
    async ({ label, plugin, message }) => {
      const file = await writeConfig(`typo-${label.replace(/\W/g, '-')}.json`, {
        ...minimal,
        plugins: [plugin],
      })
      const { code, stdout, stderr } = await run(['serve', '--config', file, '--port', '0'])
      expect(code).toBe(2)
      expect(stderr).toContain(message)
      expect(stdout).toBe('')
    },
  )

  it('exits 2 naming a config file that does not exist', async () => {
    const { code, stderr } = await run(['serve', '--config', 'nowhere/gate.json'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^cannot read config .*nowhere\/gate\.json: no such file$/m)
  })
})

describe('pnpm modelgate from any folder of the repository', () => {
  // pnpm runs the root script "modelgate" in the repository root, with the user's folder in
  // INIT_CWD: flags resolve against the user's folder, config paths against the config's.
  let here: string

  function pnpmModelgate(args: string[]): ChildProcess {
    const child = spawn('npx', ['-y', 'pnpm@12.4.2', 'modelgate', ...args], {
      cwd: here,
      detached: true,
    })
    children.add(child)
    child.once('exit', () => children.delete(child))
    return child
  }

  function finished(child: ChildProcess): Promise<Run> {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    return new Promise((resolve) =>
      child.once('close', (code) => resolve({ code, stdout, stderr })),
    )
  }

  beforeAll(async () => {
    here = await mkdtemp(join(root, 'test', '.cwd-'))
    await mkdir(join(here, 'deploy', 'models'), { recursive: true })
    await copyFile(mlp, join(here, 'deploy', 'models', 'm.onnx'))
    await writeFile(
      join(here, 'deploy', 'gate.json'),
      JSON.stringify({ models: [{ name: 'm', backend: { type: 'onnx', path: 'models/m.onnx' } }] }),
    )
  })

  afterAll(async () => {
    if (here) await rm(here, { recursive: true, force: true })
  })

  it('serve --config resolves the flag against the folder and the model path against the config', async () => {
    const child = pnpmModelgate(['serve', '--config', 'deploy/gate.json', '--port', '0'])
    let stdout = ''
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        const line = /^modelgate listening on (http:\/\/\S+) /m.exec(stdout)
        if (line) resolve(line[1]!)
      })
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)))
    })
    try {
      const infer = await post(`${url}/v2/models/m/infer`, inferBody)
      expect(infer.status).toBe(200)
      expect(JSON.parse(infer.text).outputs[0].data[0]).toBeCloseTo(0.412744402885437, 5)
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(-child.pid!, 'SIGTERM')
      await exited
    }
  }, 60_000)

  it('token issue --keys writes in the folder it ran in, and token verify --jwks reads it there', async () => {
    const issued = await finished(
      pnpmModelgate(['token', 'issue', '--user', 'auditor', '--keys', 'keys']),
    )
    expect(issued.code, issued.stderr).toBe(0)
    expect((await stat(join(here, 'keys'))).isFile()).toBe(true)
    expect(existsSync(join(root, 'keys'))).toBe(false)
    const token = issued.stdout.trim().split('\n').at(-1)!
    const verified = await finished(
      pnpmModelgate([
        'token',
        'verify',
        '--jwks',
        'keys',
        '--issuer',
        'https://dev.modelgate.invalid',
        '--audience',
        'modelgate-dev',
        token,
      ]),
    )
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toContain('{"valid":true,"claims":{"roles":["auditor"]')
  }, 60_000)
})

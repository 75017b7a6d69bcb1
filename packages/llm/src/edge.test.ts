import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../store-redis/src/redis-server.test-util.js'
import { SAMPLE_PII, SAMPLE_PROMPT } from './testing/index.js'

// The default entry in workerd: a Worker module `export default { fetch }` with the mask and llm
// plugins, its upstream the stand-in inside the same Worker, driven by the official OpenAI SDK.

const packages = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)

const WORKER = `
import { createGate } from '@modelgate/core'
import { mask } from '@modelgate/mask'
import { llm } from '@modelgate/llm'
import { createStandIn } from '@modelgate/llm/testing'

const standIn = createStandIn()
const gate = createGate({
  models: [],
  plugins: [
    mask(),
    llm({ models: [{ name: 'chat', upstream: { type: 'openai', url: 'http://standin/v1', fetch: (url, init) => standIn.fetch(new Request(url, init)) } }] }),
  ],
  routes: [{
    name: 'sent',
    methods: ['GET'],
    path: '/sent',
    operation: 'custom',
    async terminal(ctx) { ctx.body = standIn.calls.map((c) => c.body) },
  }],
})
export default { fetch: gate.fetch }
`

let url: string
let stop: () => Promise<void>

beforeAll(async () => {
  const esbuild = await import('esbuild')
  const src = (p: string) => join(packages, p)
  const bundle = await esbuild.build({
    stdin: { contents: WORKER, resolveDir: src('llm/src'), loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    alias: {
      '@modelgate/core': src('core/src/index.ts'),
      '@modelgate/mask': src('mask/src/index.ts'),
      '@modelgate/llm/testing': src('llm/src/testing/index.ts'),
      '@modelgate/llm': src('llm/src/index.ts'),
    },
    logLevel: 'silent',
  })
  const source = bundle.outputFiles[0]!.text
  expect(source).not.toMatch(/from\s*["']node:|require\(["']node:/)
  const dir = await mkdtemp(join(tmpdir(), 'llm-workerd-'))
  const port = await freePort()
  const { compatibilityDate } = (await import('workerd')) as { compatibilityDate: string }
  await writeFile(join(dir, 'worker.js'), source)
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "gate", worker = .gate)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "gate")],
);
const gate :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${compatibilityDate}",
);
`,
  )
  const fromWorkerd = createRequire(require.resolve('workerd'))
  const binary = fromWorkerd.resolve(
    `@cloudflare/workerd-linux-${process.arch === 'arm64' ? 'arm64' : '64'}/bin/workerd`,
  )
  const child = spawn(binary, ['serve', join(dir, 'config.capnp')], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      if ((await fetch(`${url}/v1/models`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('workerd did not answer within 15 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}, 60_000)

afterAll(() => stop?.())

describe('the LLM routes in workerd', () => {
  it('mask prompts and restore plain and streamed answers for the OpenAI SDK', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'client-key', maxRetries: 0 })
    const messages = [{ role: 'user' as const, content: SAMPLE_PROMPT }]
    const plain = await client.chat.completions.create({ model: 'chat', messages })
    expect(plain.choices[0]!.message.content).toBe(SAMPLE_PROMPT)
    let text = ''
    for await (const c of await client.chat.completions.create({
      model: 'chat',
      messages,
      stream: true,
    }))
      text += c.choices[0]?.delta.content ?? ''
    expect(text).toBe(SAMPLE_PROMPT)
    const sent = await (await fetch(`${url}/sent`)).text()
    expect(sent).toContain('<EMAIL_1>')
    for (const v of Object.values(SAMPLE_PII)) expect(sent).not.toContain(v)
  })
})

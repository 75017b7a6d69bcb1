import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGate, type Plugin } from '@modelgate/core'
import { nodeListener } from '@modelgate/edge/node'
import { decrypt, encrypt, generateJwk, sign, type DecryptionKey } from '@modelgate/crypto'
import type { JWK } from 'jose'
import { linearBackend } from '@modelgate/testkit/fixtures'
import { requireToken } from '../test/helpers.js'

// The built client and core (dist) and jose's Web API build, loaded as ES modules by headless
// Chromium (Debian's, at /usr/bin/chromium) from the same loopback origin as the gate.
const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
const clientDist = fileURLToPath(new URL('../dist/', import.meta.url))
const coreDist = fileURLToPath(new URL('../../core/dist/', import.meta.url))
const joseDist = dirname(createRequire(import.meta.url).resolve('jose'))
const PAGE = `<!doctype html><meta charset="utf-8"><title>client</title>
<script type="importmap">{"imports": {"jose": "/assets/jose/index.js", "@modelgate/core": "/assets/core/index.js"}}</script>
<script type="module">
import { createClient } from '/assets/client/index.js'
window.modelgateClient = { createClient }
</script>`

/** What the page exposes, as seen from page.evaluate. */
type ClientWindow = Window & {
  modelgateClient: { createClient: typeof import('./index.js').createClient }
}

const adder = linearBackend([1, 1], { output: 'sum' })

/** Keeps every request body as it arrived, before the gate decrypts it. */
const wire: string[] = []
const wireTap: Plugin = async function wireTap(ctx, next) {
  if (ctx.method === 'POST') wire.push(new TextDecoder().decode(await ctx.bodyBytes()))
  await next()
}

async function serveFile(root: string, path: string): Promise<Buffer | undefined> {
  const file = normalize(join(root, path))
  if (!file.startsWith(root)) return undefined
  return readFile(file).catch(() => undefined)
}

describe('@modelgate/client in headless Chromium (Web Crypto, fetch)', () => {
  let server: Server
  let origin: string
  let context: BrowserContext
  let profile: string
  let page: Page
  let gateEc: { privateJwk: JWK; publicJwk: JWK }
  let gateSig: { privateJwk: JWK; publicJwk: JWK }
  const problems: string[] = []

  beforeAll(async () => {
    ;[gateEc, gateSig] = await Promise.all([
      generateJwk('ECDH-ES+A256KW', 'gate-ec'),
      generateJwk('EdDSA', 'gate-sig'),
    ])
    const gate = createGate({
      models: [{ name: 'adder', backend: adder }],
      plugins: [
        wireTap,
        decrypt({ keys: [gateEc.privateJwk as DecryptionKey] }),
        requireToken,
        sign({ key: gateSig.privateJwk as never }),
        encrypt({}),
      ],
    })
    await gate.ready()
    const toGate = nodeListener(gate)
    server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
        return
      }
      const asset = /^\/assets\/(client|core|jose)\/(.+\.js)$/.exec(url.pathname)
      if (asset) {
        const roots = { client: clientDist, core: coreDist, jose: joseDist }
        const body = await serveFile(roots[asset[1] as keyof typeof roots], asset[2]!)
        if (body && extname(asset[2]!) === '.js')
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(body)
        else res.writeHead(404).end()
        return
      }
      toGate(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    profile = await mkdtemp(join(tmpdir(), 'modelgate-client-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(origin)
    await page.waitForFunction(() => 'modelgateClient' in window)
  }, 90_000)

  afterAll(async () => {
    await context?.close()
    await new Promise((resolve) => server?.close(resolve))
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  it('encrypts the request, verifies the EdDSA signature, decrypts the response', async () => {
    const before = adder.calls
    const result = await page.evaluate(
      async ({ gateKey, sigKey }) => {
        const { createClient } = (window as unknown as ClientWindow).modelgateClient
        const client = createClient({
          baseUrl: location.origin,
          token: async () => 't-1',
          encryption: { gateKey },
          signature: { keys: [sigKey] },
        })
        const res = await client.infer('adder', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1.5, 2, 30, 4] }],
        })
        const raw = await client.request<{ outputs: Array<{ data: number[] }> }>(
          'POST',
          '/v2/models/adder/infer',
          { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [7, 8] }] },
          { requestId: 'browser-1' },
        )
        return {
          output: res.outputs[0],
          raw: {
            status: raw.status,
            clientRequestId: raw.clientRequestId,
            encrypted: raw.encrypted,
            signedBy: raw.signedBy,
            data: raw.body.outputs[0].data,
          },
        }
      },
      { gateKey: gateEc.publicJwk, sigKey: gateSig.publicJwk },
    )
    expect(result.output).toMatchObject({ name: 'sum', shape: [2, 1], data: [3.5, 34] })
    expect(result.raw).toEqual({
      status: 200,
      clientRequestId: 'browser-1',
      encrypted: true,
      signedBy: 'gate-sig',
      data: [15],
    })
    expect(adder.calls).toBe(before + 2)
    // Both request bodies left the browser as compact JWE, the inputs nowhere in clear.
    const sent = wire.slice(-2)
    for (const body of sent) {
      expect(body.split('.')).toHaveLength(5)
      expect(body).not.toContain('FP32')
    }
    expect(problems).toEqual([])
  })

  it('refuses a response whose signature was altered on the way, and reports gate errors', async () => {
    const before = adder.calls
    const result = await page.evaluate(
      async ({ gateKey, sigKey }) => {
        const { createClient } = (window as unknown as ClientWindow).modelgateClient
        const tampering: typeof fetch = async (input, init) => {
          const res = await fetch(input, init)
          const headers = new Headers(res.headers)
          for (const [name, value] of res.headers) {
            if (name.includes('signature')) {
              const last = value.at(-2) === 'A' ? 'B' : 'A'
              headers.set(name, `${value.slice(0, -2)}${last}${value.at(-1)}`)
            }
          }
          return new Response(await res.arrayBuffer(), { status: res.status, headers })
        }
        const body = {
          inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 2], data: [1, 1] }],
        }
        const options = {
          baseUrl: location.origin,
          token: 't-1',
          encryption: { gateKey },
          signature: { keys: [sigKey] },
        }
        const describe = (e: { name?: string; status?: number; code?: string }) => ({
          name: e.name,
          status: e.status,
          code: e.code,
        })
        return {
          tampered: await createClient({ ...options, fetch: tampering })
            .infer('adder', body)
            .then(() => 'accepted', describe),
          unknown: await createClient(options)
            .infer('nope', body)
            .then(() => 'accepted', describe),
          badToken: await createClient({ ...options, token: 'wrong' })
            .infer('adder', body)
            .then(() => 'accepted', describe),
        }
      },
      { gateKey: gateEc.publicJwk, sigKey: gateSig.publicJwk },
    )
    expect(result.tampered).toMatchObject({
      name: 'ModelgateError',
      code: 'client_signature_invalid',
    })
    expect(result.unknown).toMatchObject({ name: 'ModelgateError', status: 404 })
    expect(result.badToken).toMatchObject({ name: 'ModelgateError', status: 401 })
    expect(adder.calls).toBe(before + 1)
    expect(problems).toEqual([])
  })
})

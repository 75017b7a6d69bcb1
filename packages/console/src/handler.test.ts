import { createGate, UnauthorizedError } from '@modelgate/core'
import type { FeatureSchemaDefinition, ModelBackend, Plugin } from '@modelgate/core'
import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP, consoleHandler, loadConsoleAssets, webConsole } from './index.js'

const schema: FeatureSchemaDefinition = {
  features: [
    { name: 'income', type: 'numeric', min: 0, description: 'Yearly income, USD' },
    { name: 'purpose', type: 'categorical', categories: ['car', 'home'], missing: 'car' },
    { name: 'email', type: 'passthrough', valueType: 'string', pii: 'EMAIL_ADDRESS' },
    { name: 'note', type: 'passthrough', valueType: 'string', text: true },
  ],
}

/** A two-column linear model standing in for a real one. */
const linear: ModelBackend = {
  async metadata() {
    return {
      name: 'm',
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
    }
  },
  async ready() {
    return true
  },
  async infer([x]) {
    const d = x!.data as Float32Array
    const rows = x!.shape[0]!
    const out = Float32Array.from({ length: rows }, (_, r) => d[r * 3]! / 1e5)
    return [{ name: 'score', datatype: 'FP32', shape: [rows, 1], data: out }]
  },
}

const options = { model: 'm', schema, sample: { income: 52000, purpose: 'car' } }
const get = (path: string, init?: RequestInit) => new Request(`http://gate${path}`, init)

describe('consoleHandler', () => {
  const handle = consoleHandler(options)

  it('serves the page, its script and its styles with a strict CSP', async () => {
    for (const [path, type] of [
      ['/console/', 'text/html'],
      ['/console/app.js', 'text/javascript'],
      ['/console/waterfall.js', 'text/javascript'],
      ['/console/console.css', 'text/css'],
    ] as const) {
      const res = (await handle(get(path)))!
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toContain(type)
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect((await res.text()).length).toBeGreaterThan(100)
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).not.toContain('unsafe')
  })

  it('references no other origin from the page', async () => {
    const assets = await loadConsoleAssets()
    for (const [name, text] of Object.entries(assets)) {
      expect(text, name).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
      expect(text, name).not.toMatch(/\sstyle=|<script>|\son[a-z]+=["']/)
    }
  })

  it('describes the form in config.json', async () => {
    const res = (await handle(get('/console/config.json')))!
    expect(res.headers.get('cache-control')).toBe('no-store')
    const config = (await res.json()) as {
      predictUrl: string
      explainUrl: string
      fields: Array<Record<string, unknown>>
      sample: unknown
      roles: unknown[]
      devTokenUrl: unknown
    }
    expect(config.predictUrl).toBe('/v1/models/m:predict')
    expect(config.explainUrl).toBe('/v1/models/m:explain')
    expect(config.fields.map((f) => [f.name, f.kind, f.pii, f.modelInput])).toEqual([
      ['income', 'numeric', null, true],
      ['purpose', 'categorical', null, true],
      ['email', 'string', 'EMAIL_ADDRESS', false],
      ['note', 'text', null, false],
    ])
    // readable labels from the descriptions (first clause; the rest is the hint), imputations
    expect(config.fields.map((f) => [f.label, f.hint, f.missing])).toEqual([
      ['Yearly income', 'USD', null],
      ['Purpose', '', 'car'],
      ['Email', '', null],
      ['Note', '', null],
    ])
    expect(config.sample).toEqual(options.sample)
    expect(config.roles).toEqual([])
    expect(config.devTokenUrl).toBeNull()
  })

  it('redirects the bare path, refuses other methods, unknown files and traversal, ignores other paths', async () => {
    const bare = (await handle(get('/console')))!
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/console/')
    const post = (await handle(get('/console/', { method: 'POST', body: '{}' })))!
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    for (const path of [
      '/console/nope.js',
      '/console/..%2Fpackage.json',
      '/console/app.d.ts',
      '/console/a/b',
    ]) {
      const res = (await handle(get(path)))!
      expect(res.status, path).toBe(404)
      expect(await res.json()).toMatchObject({ code: 'not_found' })
    }
    const head = (await handle(get('/console/', { method: 'HEAD' })))!
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect(await handle(get('/v2/health/live'))).toBeNull()
    expect(await handle(get('/consoles'))).toBeNull()
  })

  it('checks its options when created', () => {
    expect(() => consoleHandler({ ...options, model: '' })).toThrow(/model/)
    expect(() => consoleHandler({ ...options, basePath: 'console/' })).toThrow(/basePath/)
    expect(() => consoleHandler({ ...options, devTokenUrl: 'https://elsewhere/token' })).toThrow(
      /same-origin/,
    )
    expect(() =>
      consoleHandler({
        ...options,
        decision: { output: 'p', approveBelow: 0.6, declineAtOrAbove: 0.5 },
      }),
    ).toThrow(/approveBelow/)
    expect(() => consoleHandler({ ...options, roles: [{ id: 'a b' }] })).toThrow(/role/)
    expect(() => consoleHandler({ ...options, assets: { 'index.html': '<p>' } })).toThrow(/app.js/)
  })

  it('serves preloaded assets without a file system', async () => {
    const handleMem = consoleHandler({
      ...options,
      basePath: '/ui',
      assets: { 'index.html': '<h1>x</h1>', 'app.js': 'export {}' },
    })
    expect(await (await handleMem(get('/ui/')))!.text()).toBe('<h1>x</h1>')
    expect((await handleMem(get('/ui/console.css')))!.status).toBe(404)
  })
})

describe('webConsole plugin', () => {
  const seen: Array<{ operation: string; route: string | undefined; status: number }> = []
  const observe: Plugin = async function observe(ctx, next) {
    await next()
    seen.push({ operation: ctx.operation, route: ctx.route.name, status: ctx.status })
  }
  const locked: Plugin = async function locked(ctx, next) {
    if (ctx.operation !== 'health' && ctx.operation !== 'console')
      throw new UnauthorizedError('authentication required')
    await next()
  }
  const gate = createGate({
    models: [{ name: 'm', backend: linear, schema: { ...schema, input: 'x' } }],
    plugins: [observe, locked, webConsole(options)],
  })

  it('serves the console as a route with every plugin around it, and leaves other routes alone', async () => {
    expect(webConsole(options).routes?.map((r) => [r.name, r.path, r.operation])).toEqual([
      ['console', '/console/*', 'console'],
    ])
    const page = await gate.fetch(get('/console/'))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await page.text()).toContain('<form id="application"')
    expect(seen.at(-1)).toEqual({ operation: 'console', route: 'console', status: 200 })
    const bare = await gate.fetch(get('/console'))
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/console/')
    const head = await gate.fetch(get('/console/app.js', { method: 'HEAD' }))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect((await gate.fetch(get('/v2/health/live'))).status).toBe(200)
    expect((await gate.fetch(get('/v2/models/m'))).status).toBe(401)
  })

  it('refuses unknown files with 404 and other methods with 405, as JSON errors', async () => {
    const missing = await gate.fetch(get('/console/missing.css'))
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toBe('application/json')
    expect(missing.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
    expect(await missing.json()).toMatchObject({ code: 'not_found' })
    const post = await gate.fetch(get('/console/', { method: 'POST', body: '{}' }))
    expect(post.status).toBe(405)
    expect(await post.json()).toMatchObject({ code: 'method_not_allowed' })
  })

  it('is refused like any route by a plugin that refuses the console operation', async () => {
    const closed: Plugin = async function closed(ctx, next) {
      if (ctx.operation === 'console') throw new UnauthorizedError('no console here')
      await next()
    }
    const strict = createGate({
      models: [{ name: 'm', backend: linear, schema: { ...schema, input: 'x' } }],
      plugins: [closed, webConsole(options)],
    })
    expect((await strict.fetch(get('/console/'))).status).toBe(401)
  })

  it('refuses unknown option keys, naming the nearest valid key', () => {
    expect(() => webConsole({ ...options, titel: 'x' } as never)).toThrow(
      'console: unknown option "titel" (did you mean "title"?)',
    )
    expect(() =>
      consoleHandler({
        ...options,
        decision: { output: 'p', approveBelow: 0.2, declineAbove: 0.5 },
      } as never),
    ).toThrow('console: unknown option "decision.declineAbove"')
  })
})

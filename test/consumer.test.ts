// The packages as a user gets them: every package packed with pnpm and installed with npm into
// projects outside the workspace. Runs the guide (docs/guide.md) as written in a fresh project per
// section, a protect() service, the CLI, strict TypeScript consumers and every TypeScript block of
// the READMEs against that install. Needs the build (`pnpm test` builds first).
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConsumerApp,
  exec,
  packWorkspace,
  root,
  startCommand,
  type Packed,
  type Started,
} from './support/consumer.js'
import { fencedBlocks, npmInstallSpecs, type FencedBlock } from './support/markdown.js'

const REPOSITORY = 'https://github.com/modelgate/modelgate'
/** Runtimes a package may only ask for as optional peers: they are large or platform-bound. */
const HEAVY = [
  'onnxruntime-node',
  'onnxruntime-web',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-node',
  'express',
  'ioredis',
  'better-sqlite3',
]
const GUIDE_SECTIONS = [
  '1. In an Express app (cloud)',
  '2. At the edge (a Web `fetch` module)',
  '3. With no code: `modelgate serve --config`',
]
/** What the README snippets import besides our packages, installed for their type check. */
const SNIPPET_LIBRARIES = [
  'express',
  'ioredis',
  '@cedar-policy/cedar-wasm',
  'openai',
  '@tensorflow/tfjs',
]
/**
 * What the README blocks take as given (the reader's own model, schema, policy, keys, app…), as
 * globals: a block that declares or imports the same name shadows them.
 */
const SNIPPET_CONTEXT = `type Jwk = import('jose').JWK
declare const backend: import('@modelgate/core').ModelBackend
declare const schema: import('@modelgate/core').FeatureSchemaDefinition
declare const models: import('@modelgate/core').ModelEntry[]
declare const gate: import('@modelgate/core').Gate
declare const ctx: import('@modelgate/core').GateContext
declare const policy: import('@modelgate/access').PolicyDocument
declare const authOptions: import('@modelgate/access').AuthenticateOptions
declare const jwtOptions: import('@modelgate/access').JwtVerifierOptions
declare const apiKeyRecords: import('@modelgate/access').ApiKeyRecord[]
declare const pepper: string
declare const gateJwk: import('@modelgate/crypto').DecryptionKey
declare const keys: import('@modelgate/crypto').DecryptionKey[]
declare const signingJwk: import('@modelgate/crypto').SignOptions['key']
declare const partnerPublicJwk: Jwk
declare const gatePublicJwk: Jwk
declare const cloudPublicJwk: Jwk
declare const gateSigningJwks: { keys: Jwk[] }
declare const auditKey: CryptoKey
declare const maskKey: string
declare const maskPolicy: import('@modelgate/mask').MaskPolicy
declare const tlsKey: string
declare const tlsCert: string
declare const caCert: string
declare const auth: { getToken(): Promise<{ access_token: string }> }
declare const body: import('@modelgate/client').InferRequestBody
declare const record: Record<string, unknown>
declare const rows: number[][]
declare const train: number[][]
declare const background: import('@modelgate/explain').BackgroundData
declare const creditBytes: Uint8Array
declare const app: import('express').Express
declare const handler: import('express').RequestHandler
declare const score: (body: unknown) => Promise<number>
declare const server: import('node:http').Server
declare const logger: { info(message: string): void }
declare const redis: import('ioredis').Redis
declare const jti: string
declare module '*.onnx' {
  const bytes: ArrayBuffer
  export default bytes
}
`
const tsc = join(root, 'node_modules/typescript/bin/tsc')
const MB = 1_000_000

let work: string
let packed: Map<string, Packed>
let guide: FencedBlock[]
/** One fresh project per guide section, with that section's install line. */
const sections = new Map<string, ConsumerApp>()
/** Every package, plus what the README snippets and the protect() service import. */
let full: ConsumerApp
let serviceBytes: { before: number; after: number }
const timings: Record<string, number> = {}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now()
  try {
    return await work()
  } finally {
    timings[label] = Math.round(performance.now() - start)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, () => resolve(s))
  })
}

function installSpecs(blocks: FencedBlock[]): string[] {
  return blocks.filter((b) => b.meta === 'install').flatMap((b) => npmInstallSpecs(b.text) ?? [])
}

/** Numbers equal to 4 decimals, everything else exactly, same keys. */
function expectJsonClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number') {
    expect(typeof actual, where).toBe('number')
    expect(actual as number, where).toBeCloseTo(expected, 4)
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true)
    expect((actual as unknown[]).length, where).toBe(expected.length)
    expected.forEach((e, i) => expectJsonClose((actual as unknown[])[i], e, `${where}[${i}]`))
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), where).toEqual(Object.keys(expected).sort())
    for (const [k, v] of Object.entries(expected))
      expectJsonClose((actual as Record<string, unknown>)[k], v, `${where}.${k}`)
  } else expect(actual, where).toEqual(expected)
}

async function typecheck(dir: string, config: string): Promise<string> {
  try {
    await exec(process.execPath, [tsc, '-p', config], { cwd: dir, timeoutMs: 180_000 })
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

beforeAll(async () => {
  for (const dir of await readdir(join(root, 'packages'))) {
    if (!existsSync(join(root, 'packages', dir, 'dist', 'index.js')))
      throw new Error(`packages/${dir} is not built: run \`npx -y pnpm@12.4.2 build\` first`)
  }
  work = await mkdtemp(join(tmpdir(), 'modelgate-consumer-'))
  await mkdir(join(work, 'tarballs'))
  packed = await timed('pack', () => packWorkspace(join(work, 'tarballs')))
  guide = fencedBlocks(await readFile(join(root, 'docs/guide.md'), 'utf8'))

  const project = async (name: string) => {
    const dir = join(work, name)
    await mkdir(dir)
    return ConsumerApp.create(dir, packed)
  }
  for (const section of GUIDE_SECTIONS) {
    const app = await project(`guide-${sections.size + 1}`)
    await copyFile(join(root, 'packages/testkit/fixtures/mlp.onnx'), join(app.dir, 'mlp.onnx'))
    sections.set(section, app)
  }
  full = await project('full')
  const [cloud, edge, noCode] = GUIDE_SECTIONS.map((s) => sections.get(s)!)
  const specsOf = (section: string) => installSpecs(guide.filter((b) => b.section === section))
  await timed('install', () =>
    Promise.all([
      cloud!.install(specsOf(GUIDE_SECTIONS[0]!)),
      edge!.install(specsOf(GUIDE_SECTIONS[1]!)),
      (async () => {
        // A service that already runs onnxruntime-node, then the guide's no-code install line.
        await noCode!.install(['onnxruntime-node'])
        const before = await noCode!.installedBytes()
        await noCode!.install(specsOf(GUIDE_SECTIONS[2]!))
        serviceBytes = { before, after: await noCode!.installedBytes() }
      })(),
      full.install([...packed.keys(), ...SNIPPET_LIBRARIES, '@types/express', '@types/node']),
    ]),
  )
}, 600_000)

afterAll(async () => {
  const sizes: Record<string, number> = {}
  for (const p of packed?.values() ?? []) sizes[p.name] = (await stat(p.file)).size
  console.log(
    `consumer test: timings (ms) ${JSON.stringify(timings)}; tarballs (bytes) ${JSON.stringify(sizes)}`,
  )
  if (work) await rm(work, { recursive: true, force: true })
})

describe('the tarballs', () => {
  it('ship the Apache-2.0 LICENSE, README and CHANGELOG; no sources, tests, build info or scripts; maps carry their sources', async () => {
    const license = await readFile(join(root, 'LICENSE'), 'utf8')
    expect(license).toContain(
      'Apache License\n                           Version 2.0, January 2004',
    )
    for (const p of packed.values()) {
      const dir = join(work, 'unpacked', p.name)
      await mkdir(dir, { recursive: true })
      await exec('tar', ['-xzf', p.file, '-C', dir], { cwd: work })
      const { stdout } = await exec('tar', ['-tzf', p.file], { cwd: work })
      const files = stdout
        .trim()
        .split('\n')
        .map((f) => f.replace(/^package\//, ''))
      for (const required of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'])
        expect(files, `${p.name} ${required}`).toContain(required)
      expect(await readFile(join(dir, 'package/LICENSE'), 'utf8'), p.name).toBe(license)
      const unwanted = files.filter((f) =>
        /(^src\/|\.test\.|\.tsbuildinfo$|\.d\.ts\.map$|\.py$|(^|\/)tsconfig[^/]*\.json$)/.test(f),
      )
      expect(unwanted, p.name).toEqual([])
      for (const map of files.filter((f) => f.endsWith('.js.map'))) {
        const { sources, sourcesContent } = JSON.parse(
          await readFile(join(dir, 'package', map), 'utf8'),
        ) as { sources: string[]; sourcesContent?: (string | null)[] }
        expect(sourcesContent?.length, `${p.name} ${map}`).toBe(sources.length)
        expect(sourcesContent!.every((s) => typeof s === 'string' && s.length > 0)).toBe(true)
      }
    }
  })

  it('declare ranges for internal packages, heavy runtimes only as optional peers, and where they come from', () => {
    for (const p of packed.values()) {
      const m = p.manifest
      const dir = p.name.replace('@modelgate/', '')
      expect(JSON.stringify(m), p.name).not.toContain('workspace:')
      expect(m.license).toBe('Apache-2.0')
      expect(m.keywords?.length, p.name).toBeGreaterThan(2)
      expect(m.homepage).toBe(`${REPOSITORY}/tree/main/packages/${dir}#readme`)
      expect(m.bugs?.url).toBe(`${REPOSITORY}/issues`)
      expect(m.repository).toEqual({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: `packages/${dir}`,
      })
      const ranges = { ...m.dependencies, ...m.peerDependencies }
      for (const [dep, range] of Object.entries(ranges))
        if (dep.startsWith('@modelgate/')) expect(range, `${p.name} → ${dep}`).toBe(`^${m.version}`)
      for (const heavy of HEAVY) {
        expect(m.dependencies?.[heavy], `${p.name} depends on ${heavy}`).toBeUndefined()
        expect(m.optionalDependencies?.[heavy], `${p.name} → ${heavy}`).toBeUndefined()
        if (m.peerDependencies?.[heavy] !== undefined)
          expect(m.peerDependenciesMeta?.[heavy]?.optional, `${p.name} → ${heavy}`).toBe(true)
      }
    }
  })

  it('have READMEs whose links work on a registry page (absolute)', async () => {
    for (const p of packed.values()) {
      const readme = await readFile(join(work, 'unpacked', p.name, 'package/README.md'), 'utf8')
      const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1]!)
        .filter((href) => !/^(https?:|mailto:|#)/.test(href))
      expect(relative, p.name).toEqual([])
    }
  })
})

describe('the install lines of the docs', () => {
  it('name only packed packages and what they depend on or take as peers', async () => {
    const docs = ['README.md', 'docs/guide.md']
    for (const dir of ['packages', 'examples'])
      for (const name of await readdir(join(root, dir)))
        if (existsSync(join(root, dir, name, 'README.md'))) docs.push(`${dir}/${name}/README.md`)
    let lines = 0
    for (const doc of docs) {
      const own = packed.get(`@modelgate/${doc.split('/')[1]}`)
      const blocks = fencedBlocks(await readFile(join(root, doc), 'utf8'))
      for (const b of blocks.filter((b) => ['sh', 'bash', ''].includes(b.lang))) {
        for (const line of b.text.split('\n')) {
          const specs = npmInstallSpecs(line.replace(/#.*$/, ''))
          if (!specs) continue
          lines++
          const names = specs.map((s) => s.replace(/(.)@[^@/]*$/, '$1'))
          const ours = names.filter((n) => n.startsWith('@modelgate/'))
          for (const n of ours) expect(packed.has(n), `${doc}: ${line}`).toBe(true)
          const known = new Set<string>()
          for (const p of [...ours.map((n) => packed.get(n)), own])
            for (const field of [p?.manifest.dependencies, p?.manifest.peerDependencies])
              for (const dep of Object.keys(field ?? {})) known.add(dep)
          for (const n of names.filter(
            (n) => !n.startsWith('@modelgate/') && !n.startsWith('@types/'),
          ))
            expect(
              known.has(n),
              `${doc}: ${line}: ${n} is no dependency or peer of the packages named`,
            ).toBe(true)
        }
      }
    }
    expect(lines).toBeGreaterThan(15)
  })
})

describe('docs/guide.md in fresh projects', () => {
  it('marks every fenced block as a file, an install, a server, a command or an output', () => {
    for (const b of guide)
      expect(`${b.lang} ${b.meta}`, b.text.slice(0, 60)).toMatch(
        /^(js file=\S+|json file=\S+|sh install|sh server|sh run|json output|text output)$/,
      )
    expect(guide.filter((b) => b.meta === 'server')).toHaveLength(3)
  })

  for (const section of GUIDE_SECTIONS) {
    it(`runs "${section}" as written, and a port clash never says "listening"`, async () => {
      const app = sections.get(section)!
      const port = await freePort()
      const mine = guide
        .filter((b) => b.section === section)
        .map((b) => ({ ...b, text: b.text.replaceAll('8080', String(port)) }))
      expect(mine.filter((b) => b.meta === 'install')).toHaveLength(1)
      let server: Started | undefined
      let ran = 0
      try {
        for (let i = 0; i < mine.length; i++) {
          const b = mine[i]!
          const file = /^file=(\S+)$/.exec(b.meta)
          if (file) await writeFile(join(app.dir, file[1]!), `${b.text}\n`)
          else if (b.meta === 'server') {
            await server?.stop()
            const blocker = await occupy(port)
            const clash = await startCommand(b.text, app.dir, /listening on/).then(
              async (s) => ({ listening: true, output: s.output(), code: await s.stop() }),
              (error: Error) => ({ listening: false, output: error.message, code: null }),
            )
            await new Promise((resolve) => blocker.close(resolve))
            expect(clash.listening, clash.output).toBe(false)
            expect(clash.output).toMatch(/EADDRINUSE/)
            server = await startCommand(b.text, app.dir, /listening on/)
          } else if (b.meta === 'run') {
            const { stdout } = await exec('bash', ['-ec', b.text], { cwd: app.dir })
            const next = mine[i + 1]
            expect(next?.meta, `output after: ${b.text}`).toBe('output')
            if (next!.lang === 'text') expect(stdout.trimEnd()).toBe(next!.text)
            else expectJsonClose(JSON.parse(stdout), JSON.parse(next!.text), b.text.split('\n')[0]!)
            ran++
          }
        }
      } finally {
        await server?.stop()
      }
      expect(ran).toBeGreaterThan(0)
    }, 120_000)
  }

  it('installing @modelgate/cli into a service that has onnxruntime-node adds at most 100 MB', () => {
    const added = serviceBytes.after - serviceBytes.before
    console.log(
      `service with onnxruntime-node: ${(serviceBytes.before / MB).toFixed(1)} MB; ` +
        `after the no-code install line: ${(serviceBytes.after / MB).toFixed(1)} MB ` +
        `(+${(added / MB).toFixed(1)} MB)`,
    )
    expect(added).toBeLessThanOrEqual(100 * MB)
  })
})

describe('the modelgate command of the installed @modelgate/cli', () => {
  const cliProject = () => sections.get(GUIDE_SECTIONS[2]!)!

  it('npx modelgate --help and --version', async () => {
    const help = await exec('npx', ['modelgate', '--help'], { cwd: cliProject().dir })
    expect(help.stdout).toMatch(/^Usage: modelgate <command>/)
    expect(help.stdout).toMatch(/^ {2}serve +Serve a gate/m)
    const version = await exec('npx', ['modelgate', '--version'], { cwd: cliProject().dir })
    expect(version.stdout.trim()).toBe(packed.get('@modelgate/cli')!.manifest.version)
  })

  it('names the optional package a config needs and how to install it (exit 2)', async () => {
    const dir = cliProject().dir
    await mkdir(join(dir, 'tf'), { recursive: true })
    await writeFile(join(dir, 'tf', 'model.json'), '{}')
    await writeFile(
      join(dir, 'tf.json'),
      JSON.stringify({
        models: [{ name: 'tf', backend: { type: 'tfjs', path: 'tf/model.json' } }],
      }),
    )
    await writeFile(
      join(dir, 'cloud.json'),
      JSON.stringify({ models: [{ name: 'mlp', backend: { type: 'onnx', path: 'mlp.onnx' } }] }),
    )
    const cases: [string[], string, string][] = [
      [['--config', 'tf.json'], '@tensorflow/tfjs', '@modelgate/backend-tfjs'],
      [['--config', 'cloud.json', '--runtime', 'cloud'], 'express', '@modelgate/express'],
    ]
    for (const [args, missing, importer] of cases) {
      const result = await exec(
        'bash',
        ['-c', `npx modelgate serve --port 0 ${args.join(' ')}; echo "exit=$?"`],
        { cwd: dir },
      )
      expect(result.stdout).toMatch(/exit=2\n$/)
      expect(result.stdout).not.toContain('listening')
      expect(result.stderr).toContain(
        `needs the package ${missing} (${importer} needs it), which is not installed; add it with \`npm install ${missing}\``,
      )
    }
  })
})

describe('a service that protect()s its own Express route', () => {
  it('answers 401 without credentials and runs the handler for an allowed caller', async () => {
    await copyFile(
      join(root, 'packages/backend-trees/fixtures/xgb-binary.json'),
      join(full.dir, 'xgb.json'),
    )
    await writeFile(
      join(full.dir, 'protect.mjs'),
      `import express from 'express'
import { createGate } from '@modelgate/core'
import { createTreesBackend } from '@modelgate/backend-trees/node'
import { authenticate, authorize, createApiKey } from '@modelgate/access'
import { protect } from '@modelgate/express'

const pepper = 'a-pepper-of-at-least-thirty-two-bytes!'
const { key, record } = await createApiKey({ pepper, principal: { id: 'scorer-1', roles: ['scorer'] } })
const backend = createTreesBackend({ path: 'xgb.json' })
const gate = createGate({
  models: [{ name: 'credit', backend }],
  plugins: [
    authenticate({ apiKeys: { pepper, records: [record] } }),
    authorize({
      policy: {
        version: 1,
        rules: [{ id: 'score', effect: 'allow', principal: { roles: ['scorer'] }, actions: ['predict'], resource: { models: ['credit'] } }],
      },
    }),
  ],
})
await gate.ready()
const app = express()
app.post(
  '/score',
  express.json(),
  protect(
    gate,
    async (req, res) => {
      const row = req.body.features
      const [, prediction] = await backend.infer([
        { name: 'input', datatype: 'FP32', shape: [1, row.length], data: new Float32Array(row) },
      ])
      res.json({ score: prediction.data[0], caller: 'handler' })
    },
    { operation: 'predict', model: 'credit' },
  ),
)
const server = app.listen(0, '127.0.0.1', (error) => {
  if (error) throw error
  console.log('listening on http://127.0.0.1:' + server.address().port + ' key ' + key)
})
process.once('SIGTERM', () => server.close(() => void gate.close()))
`,
    )
    const cases = JSON.parse(
      await readFile(join(root, 'packages/backend-trees/fixtures/xgb-binary.cases.json'), 'utf8'),
    ) as { rows: number[][]; prediction: number[] }
    const service = await startCommand('exec node protect.mjs', full.dir, /key \S+\n/)
    try {
      const [, url, key] = /listening on (\S+) key (\S+)/.exec(service.output())!
      const body = JSON.stringify({ features: cases.rows[0] })
      const post = (headers: Record<string, string>) =>
        fetch(`${url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        })
      const anonymous = await post({})
      expect(anonymous.status).toBe(401)
      expect(await anonymous.json()).toEqual({
        error: 'authentication required',
        code: 'unauthorized',
      })
      const allowed = await post({ authorization: `ApiKey ${key}` })
      expect(allowed.status).toBe(200)
      const answer = (await allowed.json()) as { score: number; caller: string }
      expect(answer.caller).toBe('handler')
      expect(answer.score).toBeCloseTo(cases.prediction[0]!, 5)
    } finally {
      expect(await service.stop()).toBe(0)
    }
  }, 60_000)
})

describe('TypeScript consumers (strict, skipLibCheck: false)', () => {
  const strict = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: 'ES2022',
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
  }
  /** Every entry point of every package (`@modelgate/x`, `@modelgate/x/node`, …). */
  const entries = () =>
    [...packed.values()].flatMap((p) =>
      Object.keys(p.manifest.exports ?? {}).map((k) => `${p.name}${k.slice(1)}`),
    )
  const importAll = (specs: string[]) =>
    specs
      .map((s, i) => `import * as m${i} from '${s}'\nexport const keys${i} = Object.keys(m${i})\n`)
      .join('')

  beforeAll(async () => {
    await writeFile(join(full.dir, 'entries.ts'), importAll(entries()))
  })

  for (const [label, resolution] of [
    ['NodeNext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
    ['Bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
  ] as const) {
    it(`compiles every entry point under ${label} resolution`, async () => {
      const config = `tsconfig.${label.toLowerCase()}.json`
      await writeFile(
        join(full.dir, config),
        JSON.stringify({
          compilerOptions: { ...strict, ...resolution, types: ['node'] },
          files: ['entries.ts'],
        }),
      )
      expect(await timed(`tsc ${label}`, () => typecheck(full.dir, config))).toBe('')
    }, 180_000)
  }

  it('compiles the Web-only entry points without @types/node (edge runtimes)', async () => {
    // The entries the workspace checks with no Node types (tsconfig.web.json), as published.
    const { files } = JSON.parse(await readFile(join(root, 'tsconfig.web.json'), 'utf8')) as {
      files: string[]
    }
    const web = files.map((f) => /^packages\/([^/]+)\/src\/index\.ts$/.exec(f)![1]!)
    expect(web).toContain('core')
    await writeFile(join(full.dir, 'web.ts'), importAll(web.map((n) => `@modelgate/${n}`)))
    await writeFile(
      join(full.dir, 'tsconfig.web.json'),
      JSON.stringify({
        compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', types: [] },
        files: ['web.ts'],
      }),
    )
    expect(await typecheck(full.dir, 'tsconfig.web.json')).toBe('')
  }, 180_000)

  it('compiles every TypeScript block of the READMEs', async () => {
    const readmes = [
      'README.md',
      ...(await readdir(join(root, 'packages'))).map((d) => `packages/${d}/README.md`),
    ]
    const dir = join(full.dir, 'readme')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'context.d.ts'), SNIPPET_CONTEXT)
    await writeFile(
      join(dir, 'context-tfjs.d.ts'),
      "declare const model: import('@tensorflow/tfjs').LayersModel\n",
    )
    await copyFile(
      join(root, 'packages/backend-trees/fixtures/xgb-binary.json'),
      join(dir, 'model.json'),
    )
    const files: Record<'strict' | 'tfjs', string[]> = { strict: [], tfjs: [] }
    const origin = new Map<string, string>()
    for (const readme of readmes) {
      const blocks = fencedBlocks(await readFile(join(root, readme), 'utf8')).filter((b) =>
        ['ts', 'typescript'].includes(b.lang),
      )
      for (const b of blocks) {
        const name = `${readme.replace(/\/README\.md$/, '').replace(/[/.]/g, '_')}_L${b.line}.ts`
        origin.set(name, `${readme}:${b.line}`)
        await writeFile(join(dir, name), `${b.text}\nexport {}\n`)
        files[/from '@tensorflow\//.test(b.text) ? 'tfjs' : 'strict'].push(`readme/${name}`)
      }
    }
    expect(files.strict.length).toBeGreaterThan(40)
    const problems: string[] = []
    for (const [kind, list] of Object.entries(files)) {
      const config = `tsconfig.readme-${kind}.json`
      await writeFile(
        join(full.dir, config),
        JSON.stringify({
          compilerOptions: {
            ...strict,
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            types: ['node'],
            resolveJsonModule: true,
            // TF.js's own declarations need it (the backend-tfjs README says so).
            skipLibCheck: kind === 'tfjs',
          },
          files: [
            'readme/context.d.ts',
            ...(kind === 'tfjs' ? ['readme/context-tfjs.d.ts'] : []),
            ...list,
          ],
        }),
      )
      const output = await typecheck(full.dir, config)
      // Each error as README:line, so that the failing block is easy to find.
      for (const m of output.matchAll(/^readme\/(\S+\.ts)\((\d+),(\d+)\): (.*)$/gm)) {
        const [readme, line] = origin.get(m[1]!)!.split(':')
        problems.push(`${readme}:${Number(line) + Number(m[2])}:${m[3]} ${m[4]}`)
      }
      if (output && !problems.length) problems.push(output)
    }
    expect(problems).toEqual([])
  }, 300_000)
})

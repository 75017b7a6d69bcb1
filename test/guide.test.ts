import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../', import.meta.url))
const run = promisify(execFile)

/** A fenced block of docs/guide.md: language, the marker after it, and its text. */
interface Block {
  lang: string
  marker: string
  text: string
  section: string
}

function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = []
  let section = ''
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith('## ')) section = line.slice(3)
    const open = /^```(\w+)\s*(.*)$/.exec(line)
    if (!open) continue
    const body: string[] = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
    blocks.push({ lang: open[1]!, marker: open[2]!.trim(), text: body.join('\n'), section })
  }
  return blocks
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

function startServer(command: string, cwd: string): Promise<ChildProcess> {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command}: not listening: ${out}`)), 30_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (/listening on/.test(out)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited with ${code}: ${out}`))
    })
  })
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

describe('docs/guide.md', () => {
  let project: string
  let blocks: Block[]
  let port: number
  const workspaceNames = new Set<string>()

  beforeAll(async () => {
    const markdown = await readFile(join(root, 'docs/guide.md'), 'utf8')
    port = await freePort()
    const cli = `node ${join(root, 'packages/cli/dist/bin.js')}`
    blocks = blocksOf(markdown).map((b) => ({
      ...b,
      text: b.text.replaceAll('8080', String(port)).replaceAll('npx modelgate', cli),
    }))
    project = await mkdtemp(join(root, 'test', '.guide-'))
    await copyFile(join(root, 'packages/testkit/fixtures/mlp.onnx'), join(project, 'mlp.onnx'))
    for (const dir of ['packages', 'examples']) {
      for (const name of await readdir(join(root, dir))) {
        const pkg = join(root, dir, name, 'package.json')
        if (existsSync(pkg)) workspaceNames.add(JSON.parse(await readFile(pkg, 'utf8')).name)
      }
    }
  })

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true })
  })

  it('marks every fenced block as a file, an install, a server, a command or an output', () => {
    for (const b of blocks)
      expect(`${b.lang} ${b.marker}`, b.text.slice(0, 60)).toMatch(
        /^(js file=\S+|json file=\S+|sh install|sh server|sh run|json output|text output)$/,
      )
    expect(blocks.filter((b) => b.marker === 'server')).toHaveLength(3)
  })

  it('installs only packages that exist in this workspace or its registry dependencies', () => {
    for (const b of blocks.filter((b) => b.marker === 'install')) {
      const [npm, verb, ...names] = b.text.trim().split(/\s+/)
      expect(`${npm} ${verb}`).toBe('npm install')
      for (const name of names) {
        if (name.startsWith('@modelgate/')) expect(workspaceNames, name).toContain(name)
        else expect(existsSync(join(root, 'node_modules', name, 'package.json')), name).toBe(true)
      }
    }
  })

  for (const section of [
    '1. In an Express app (cloud)',
    '2. At the edge (a Web `fetch` module)',
    '3. With no code: `modelgate serve --config`',
  ]) {
    it(`runs section "${section}" as written`, async () => {
      const mine = blocks.filter((b) => b.section === section)
      expect(mine.length).toBeGreaterThan(3)
      let server: ChildProcess | undefined
      let ran = 0
      try {
        for (let i = 0; i < mine.length; i++) {
          const b = mine[i]!
          const file = /^file=(\S+)$/.exec(b.marker)
          if (file) await writeFile(join(project, file[1]!), `${b.text}\n`)
          else if (b.marker === 'server') {
            await stop(server)
            server = await startServer(b.text, project)
          } else if (b.marker === 'run') {
            const { stdout } = await run('bash', ['-ec', b.text], { cwd: project })
            const next = mine[i + 1]
            expect(next?.marker, `output after: ${b.text}`).toBe('output')
            if (next!.lang === 'text') expect(stdout.trimEnd()).toBe(next!.text)
            else expectJsonClose(JSON.parse(stdout), JSON.parse(next!.text), b.text.split('\n')[0]!)
            ran++
          }
        }
      } finally {
        await stop(server)
      }
      expect(ran).toBeGreaterThan(0)
    }, 90_000)
  }
})

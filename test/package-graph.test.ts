// The dependency direction of DESIGN §3: core ← plugins, backends, adapters ← cli, examples.
// The package graph (dependencies and peers) has no cycle, and core imports nothing at all but
// its own files.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const packagesDir = join(root, 'packages')

interface Manifest {
  name: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

const manifests: Manifest[] = readdirSync(packagesDir).map(
  (dir) => JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as Manifest,
)
const names = new Set(manifests.map((m) => m.name))
const edges = new Map(
  manifests.map((m) => [
    m.name,
    Object.keys({ ...m.dependencies, ...m.peerDependencies }).filter((d) => names.has(d)),
  ]),
)

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

describe('the package graph', () => {
  it('has no cycle through dependencies and peers', () => {
    const state = new Map<string, 'open' | 'done'>()
    const cycles: string[] = []
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === 'done') return
      if (state.get(name) === 'open') {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' → '))
        return
      }
      state.set(name, 'open')
      for (const next of edges.get(name) ?? []) visit(next, [...path, name])
      state.set(name, 'done')
    }
    for (const name of names) visit(name, [])
    expect(cycles).toEqual([])
  })

  it('keeps core free of every other package, ours and third parties', () => {
    const core = manifests.find((m) => m.name === '@modelgate/core')!
    expect(Object.keys({ ...core.dependencies, ...core.peerDependencies })).toEqual([])
    const code = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(?:\*|\/\/)/.test(line)) // TSDoc examples import other packages
        .join('\n')
    const imports = sourceFiles(join(packagesDir, 'core/src')).flatMap((file) =>
      [...code(file).matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)]
        .map((m) => m[1]!)
        .filter((spec) => !spec.startsWith('./') && !spec.startsWith('../'))
        .map((spec) => `${file.slice(root.length)}: ${spec}`),
    )
    expect(imports).toEqual([])
  })

  it('points one way: backends never import plugins, adapters never import backends', () => {
    const backends = [...names].filter((n) => n.startsWith('@modelgate/backend-'))
    const plugins = ['access', 'crypto', 'mask', 'explain', 'audit'].map((p) => `@modelgate/${p}`)
    const adapters = ['@modelgate/edge', '@modelgate/express']
    for (const b of backends)
      expect(
        edges.get(b)!.filter((d) => plugins.includes(d)),
        b,
      ).toEqual([])
    for (const a of adapters)
      expect(
        edges.get(a)!.filter((d) => d.startsWith('@modelgate/backend-')),
        a,
      ).toEqual([])
  })
})

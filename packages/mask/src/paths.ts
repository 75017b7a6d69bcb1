/** A step of a path: an object key, any array element, or any object value. */
type Step = { key: string } | 'index' | 'any'

/**
 * A set of paths compiled into a trie, walked alongside a JSON value. Accepts both spellings the
 * package uses: JSON paths from the root (`$.a.b[*].c`) and route body paths (`a.b[].c`,
 * `*.name`, `''` for the value itself).
 */
export class PathTrie<T> {
  readonly keys = new Map<string, PathTrie<T>>()
  index: PathTrie<T> | undefined
  any: PathTrie<T> | undefined
  value: T | undefined
  /** The path that set `value`, in canonical form (`a.b[].c`). */
  name: string | undefined

  /** Adds `path`; throws a TypeError naming it when it cannot be parsed. */
  add(path: string, value: T): void {
    let node: PathTrie<T> = this
    for (const step of parsePath(path)) {
      if (step === 'index') node = node.index ??= new PathTrie()
      else if (step === 'any') node = node.any ??= new PathTrie()
      else {
        let next = node.keys.get(step.key)
        if (!next) node.keys.set(step.key, (next = new PathTrie()))
        node = next
      }
    }
    node.value = value
    node.name = canonicalPath(path)
  }

  get empty(): boolean {
    return this.keys.size === 0 && !this.index && !this.any && this.value === undefined
  }
}

/** The nodes reached from `nodes` by one object key (`key`) or array element (`undefined`). */
export function step<T>(nodes: readonly PathTrie<T>[], key: string | undefined): PathTrie<T>[] {
  const out: PathTrie<T>[] = []
  for (const n of nodes) {
    if (key === undefined) {
      if (n.index) out.push(n.index)
      continue
    }
    const k = n.keys.get(key)
    if (k) out.push(k)
    if (n.any) out.push(n.any)
  }
  return out
}

/** The first node of `nodes` holding a value. */
export function valueAt<T>(nodes: readonly PathTrie<T>[]): PathTrie<T> | undefined {
  for (const n of nodes) if (n.value !== undefined) return n
  return undefined
}

const KEY = /^[^.[\]]+$/

function parsePath(path: string): Step[] {
  if (typeof path !== 'string') throw new TypeError('a path must be a string')
  let rest = path.startsWith('$') ? path.slice(1) : path
  const steps: Step[] = []
  const bad = () =>
    new TypeError(`"${path.slice(0, 200)}" is not a path like a.b[].c or $.a.b[*].c`)
  while (rest.length > 0) {
    if (rest.startsWith('[*]') || rest.startsWith('[]')) {
      steps.push('index')
      rest = rest.slice(rest[1] === '*' ? 3 : 2)
      continue
    }
    if (rest.startsWith('.')) {
      rest = rest.slice(1)
      if (rest.length === 0) throw bad()
    } else if (steps.length > 0 || path.startsWith('$')) throw bad()
    const end = rest.search(/[.[]/)
    const key = end < 0 ? rest : rest.slice(0, end)
    if (!KEY.test(key)) throw bad()
    steps.push(key === '*' ? 'any' : { key })
    rest = end < 0 ? '' : rest.slice(end)
  }
  return steps
}

/** `$.a[*].b` and `a[].b` both become `a[].b`; `$` and `''` become `''`. */
export function canonicalPath(path: string): string {
  return parsePath(path)
    .map((s, i) => (s === 'index' ? '[]' : `${i > 0 ? '.' : ''}${s === 'any' ? '*' : s.key}`))
    .join('')
}

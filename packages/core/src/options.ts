import { isPlainObject } from './json.js'

/**
 * The keys an options object may hold: `true` for a value checked elsewhere, a nested shape for
 * an object (each element, for an array of objects), and `{ '*': shape }` for a record whose
 * keys are free (model names, say) and whose values follow `shape` (`{ '*': true }`: any values).
 *
 * @example
 * ```ts
 * const shape: OptionsShape = { key: true, policy: { entities: true, fields: true }, models: { '*': { method: true } } }
 * ```
 */
export interface OptionsShape {
  readonly [key: string]: true | OptionsShape
}

/**
 * Refuses options with keys the plugin does not know, so a typo (`polcy`, `entites`,
 * `defualts`) is an error at start instead of a silently ignored setting. The error names the
 * key's path and the nearest valid key.
 *
 * @example
 * ```ts
 * checkOptionKeys('mask', { polcy: {} }, { key: true, policy: true })
 * // TypeError: mask: unknown option "polcy" (did you mean "policy"?)
 * ```
 */
export function checkOptionKeys(plugin: string, options: unknown, shape: OptionsShape): void {
  visit(plugin, options, shape, '')
}

function visit(plugin: string, value: unknown, shape: OptionsShape, at: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => visit(plugin, v, shape, `${at}[${i}]`))
    return
  }
  if (!isPlainObject(value)) return
  const free = shape['*']
  for (const [key, v] of Object.entries(value)) {
    const path = at ? `${at}.${key}` : key
    if (free !== undefined) {
      if (free !== true) visit(plugin, v, free, path)
      continue
    }
    const rule = shape[key]
    if (rule === undefined || key === '*') {
      const near = nearest(key, Object.keys(shape))
      const hint = near ? ` (did you mean "${at ? `${at}.` : ''}${near}"?)` : ''
      throw new TypeError(`${plugin}: unknown option "${path.slice(0, 200)}"${hint}`)
    }
    if (rule !== true) visit(plugin, v, rule, path)
  }
}

function nearest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    if (c === '*') continue
    const d = distance(key.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
    ? best
    : undefined
}

/** Damerau–Levenshtein (optimal string alignment) distance. */
function distance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

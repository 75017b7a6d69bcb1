/**
 * Replaces every value a key path names, returning a new object (the input is not changed).
 * Paths are dot-separated keys; `[]` after a key visits each array element, `*` each value of
 * an object: `jwt.issuers[].jwks`, `models.*.background`, `keys[]`. Absent keys are skipped.
 * `replace` gets the value and the concrete path (`jwt.issuers[0].jwks`).
 *
 * @example
 * ```ts
 * const out = await mapPath({ a: [{ f: 'x' }] }, 'a[].f', async (v) => String(v).toUpperCase())
 * // { a: [{ f: 'X' }] }
 * ```
 */
export async function mapPath(
  root: Record<string, unknown>,
  path: string,
  replace: (value: unknown, at: string) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const steps = path.split('.').flatMap((part) => {
    const out: string[] = []
    let key = part
    while (key.endsWith('[]')) {
      key = key.slice(0, -2)
      out.unshift('[]')
    }
    return [key, ...out]
  })
  return (await visit(root, steps, '', replace)) as Record<string, unknown>
}

async function visit(
  value: unknown,
  steps: string[],
  at: string,
  replace: (value: unknown, at: string) => Promise<unknown>,
): Promise<unknown> {
  if (steps.length === 0) return replace(value, at)
  const [step, ...rest] = steps
  if (step === '[]') {
    if (!Array.isArray(value)) return value
    return Promise.all(value.map((v, i) => visit(v, rest, `${at}[${i}]`, replace)))
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value
  const object = value as Record<string, unknown>
  const keys = step === '*' ? Object.keys(object) : Object.hasOwn(object, step!) ? [step!] : []
  if (keys.length === 0) return value
  const out = { ...object }
  for (const key of keys)
    out[key] = await visit(object[key], rest, at ? `${at}.${key}` : key, replace)
  return out
}

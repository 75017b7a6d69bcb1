import type { ConsoleAssets } from './types.js'

const STATIC_DIR = new URL('../static/', import.meta.url)
const BROWSER_DIR = new URL('../dist/browser/', import.meta.url)

/**
 * Reads the console's static files (HTML, CSS and the compiled browser scripts) from the
 * installed package. Needs a file system (Node, Deno, Bun); on Workers, pass the result of a
 * build-time call as `assets`.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * const assets = await loadConsoleAssets()
 * await writeFile('console-assets.json', JSON.stringify(assets))
 * ```
 */
export async function loadConsoleAssets(): Promise<Record<string, string>> {
  const fs = await import('node:fs/promises')
  const out: Record<string, string> = {}
  for (const [dir, pattern] of [
    [STATIC_DIR, /\.(html|css|svg)$/],
    [BROWSER_DIR, /\.js$/],
  ] as const) {
    let names: string[]
    try {
      names = await fs.readdir(dir)
    } catch (error) {
      throw new Error(
        `console assets missing in ${dir.pathname} (build the package with tsc -b): ${String(error)}`,
      )
    }
    for (const name of names.sort())
      if (pattern.test(name)) out[name] = await fs.readFile(new URL(name, dir), 'utf8')
  }
  if (!out['index.html'] || !out['app.js'])
    throw new Error('console assets incomplete: index.html and app.js are required')
  return out
}

/** Content type of an asset name. */
export function contentTypeOf(name: string): string {
  if (name.endsWith('.html')) return 'text/html; charset=utf-8'
  if (name.endsWith('.css')) return 'text/css; charset=utf-8'
  if (name.endsWith('.svg')) return 'image/svg+xml'
  if (name.endsWith('.js')) return 'text/javascript; charset=utf-8'
  if (name.endsWith('.json')) return 'application/json'
  return 'application/octet-stream'
}

/** Checks preloaded assets passed as an option. */
export function checkAssets(assets: ConsoleAssets): ConsoleAssets {
  if (!assets || typeof assets !== 'object')
    throw new TypeError('console: assets must be an object')
  for (const [k, v] of Object.entries(assets)) {
    if (!/^[A-Za-z0-9._-]+$/.test(k) || k.startsWith('.'))
      throw new TypeError(`console: asset name "${k.slice(0, 64)}" is not a plain file name`)
    if (typeof v !== 'string' && !(v instanceof Uint8Array))
      throw new TypeError(`console: asset "${k}" must be a string or bytes`)
  }
  if (!assets['index.html'] || !assets['app.js'])
    throw new TypeError('console: assets need index.html and app.js')
  return assets
}

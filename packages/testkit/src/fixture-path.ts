import { fileURLToPath } from 'node:url'

/**
 * Absolute path of a file in the testkit's `fixtures/` folder (`mlp.onnx`, `multi_io.onnx`,
 * `mlp.expected.json`).
 *
 * @example
 * ```ts
 * const backend = createOnnxBackend({ path: fixturePath('mlp.onnx') })
 * ```
 */
export function fixturePath(name: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new TypeError(`invalid fixture name "${name}"`)
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
}

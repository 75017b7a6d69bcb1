import { BadRequestError, PayloadTooLargeError } from './errors.js'

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads a request (or response) body into memory, refusing it with 413 as soon as it is known to
 * exceed `maxBytes` (from `Content-Length`, or while streaming) without reading the rest. A body
 * that cannot be read is a 400.
 *
 * @example
 * ```ts
 * const bytes = await readBodyLimited(request, 1024 * 1024)
 * ```
 */
export async function readBodyLimited(
  request: Request | Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined)
    throw new PayloadTooLargeError(maxBytes)
  }
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined)
        throw new PayloadTooLargeError(maxBytes)
      }
      chunks.push(value)
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error
    throw new BadRequestError('request body could not be read', 'body_unreadable')
  } finally {
    reader.releaseLock()
  }
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/**
 * Parses JSON from untrusted bytes: strict UTF-8, nesting at most `maxDepth` (checked before
 * parsing, so a 100k-deep array costs one linear scan), and no `__proto__`, `constructor` or
 * `prototype` keys anywhere (escaped spellings included). Every failure is a 400.
 *
 * @example
 * ```ts
 * parseJsonSafe(new TextEncoder().encode('{"a":[1,2]}'), { maxDepth: 64 }) // { a: [1, 2] }
 * ```
 */
export function parseJsonSafe(bytes: Uint8Array, options: { maxDepth: number }): unknown {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw new BadRequestError('request body is not valid UTF-8', 'invalid_json')
  }
  if (text.trim() === '') throw new BadRequestError('request body is empty', 'invalid_json')
  const escapedKeys = scanJson(text, options.maxDepth)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequestError('request body is not valid JSON', 'invalid_json')
  }
  if (escapedKeys) assertNoForbiddenKeys(value)
  return value
}

/** Checks depth and plain forbidden keys; returns true when some key used escapes. */
function scanJson(text: string, maxDepth: number): boolean {
  let depth = 0
  let escapedKeys = false
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const start = i + 1
      let escaped = false
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === 0x5c) {
          escaped = true
          i += 2
          continue
        }
        if (d === 0x22) break
        i++
      }
      const end = i
      i++
      let j = i
      while (j < n && isJsonSpace(text.charCodeAt(j))) j++
      if (j < n && text.charCodeAt(j) === 0x3a) {
        if (escaped) escapedKeys = true
        else if (
          (end - start === 9 || end - start === 11) &&
          FORBIDDEN_KEYS.has(text.slice(start, end))
        ) {
          throw forbiddenKey()
        }
      }
      continue
    }
    if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) {
        throw new BadRequestError(`JSON nesting exceeds ${maxDepth} levels`, 'json_too_deep')
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
    i++
  }
  return escapedKeys
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

function forbiddenKey(): BadRequestError {
  return new BadRequestError('request body contains a forbidden key', 'forbidden_key')
}

function assertNoForbiddenKeys(root: unknown): void {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (value === null || typeof value !== 'object') continue
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object') stack.push(item)
      continue
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw forbiddenKey()
      const item = (value as Record<string, unknown>)[key]
      if (item !== null && typeof item === 'object') stack.push(item)
    }
  }
}

/**
 * True for a non-null, non-array object.
 *
 * @example
 * ```ts
 * isPlainObject({}) // true
 * isPlainObject([]) // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

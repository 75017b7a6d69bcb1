import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  createJweDecryptor,
  decrypt,
  encrypt,
  encryptJwe,
  JweError,
  type DecryptionKey,
} from '../index.js'
import { gateWith, joseRequest } from '../../test/helpers.js'

const fixtures = new URL('../../fixtures/', import.meta.url)
const read = (name: string) => JSON.parse(readFileSync(new URL(name, fixtures), 'utf8'))
const { keys } = read('keys.json') as { keys: DecryptionKey[] }
const theirs = read('jwcrypto-jwes.json') as {
  iat: number
  plaintext: string
  accepted: Array<{ alg: string; jwe: string }>
  refused: Array<{ case: string; code: string; jwe: string }>
}
const python = '/usr/bin/python3'
const hasJwcrypto = (() => {
  if (!existsSync(python)) return false
  try {
    execFileSync(python, ['-c', 'import jwcrypto'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const publicOf = ({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }: DecryptionKey) =>
  rest as DecryptionKey

describe('python3-jwcrypto → modelgate', () => {
  const clock = () => theirs.iat * 1000

  it.each(theirs.accepted.map((a) => [a.alg, a.jwe]))(
    'a %s JWE made by jwcrypto opens with the gate policy',
    async (_alg, jwe) => {
      const open = createJweDecryptor({ keys, clock })
      const { plaintext } = await open(jwe)
      expect(new TextDecoder().decode(plaintext)).toBe(theirs.plaintext)
      // It names no response key, so the gate opens it and refuses to answer in clear.
      const { gate, calls } = gateWith([decrypt({ keys, clock }), encrypt()])
      const res = await gate.fetch(joseRequest(jwe))
      expect(res.status).toBe(400)
      expect(((await res.json()) as { code: string }).code).toBe('jwe_response_key')
      expect(calls()).toBe(0)
    },
  )

  it.each(theirs.refused.map((r) => [r.case, r.code, r.jwe]))(
    'a jwcrypto JWE with %s is refused (%s)',
    async (_case, code, jwe) => {
      const { gate, calls } = gateWith([decrypt({ keys, clock }), encrypt()])
      const started = performance.now()
      const res = await gate.fetch(joseRequest(jwe))
      expect(performance.now() - started).toBeLessThan(50)
      expect(((await res.json()) as { code: string }).code).toBe(code)
      expect(calls()).toBe(0)
    },
  )

  it('createJweDecryptor gives the same verdicts, and spends a jti once', async () => {
    const open = createJweDecryptor({ keys, clock })
    const verdict = (jwe: string) =>
      open(jwe).then(
        ({ plaintext }) => new TextDecoder().decode(plaintext),
        (error: unknown) => (error instanceof JweError ? error.code : 'other'),
      )
    for (const a of theirs.accepted) expect(await verdict(a.jwe)).toBe(theirs.plaintext)
    for (const r of theirs.refused) expect(await verdict(r.jwe)).toBe(r.code)
    expect(await verdict(theirs.accepted[0]!.jwe)).toBe('jwe_replayed')
    const now = createJweDecryptor({ keys })
    await expect(now(theirs.accepted[0]!.jwe)).rejects.toMatchObject({
      code: 'jwe_stale',
      message: 'iat is outside the accepted window',
    })
    const noReplay = createJweDecryptor({ keys, replay: false })
    expect((await noReplay(theirs.accepted[0]!.jwe)).kid).toBe(keys[0]!.kid)
    expect(() => createJweDecryptor({ keys: [] })).toThrow(TypeError)
    expect(() => createJweDecryptor({ keys, maxByte: 4096 } as never)).toThrow(
      'createJweDecryptor: unknown option "maxByte" (did you mean "maxBytes"?)',
    )
  })
})

describe('modelgate → python3-jwcrypto', () => {
  const ours = read('ours-jwes.json') as {
    jwes: Array<{ alg: string; plaintext: string; jwe: string }>
  }
  const decrypted = read('ours-decrypted-by-jwcrypto.json') as Array<{
    alg: string
    ok: boolean
    plaintext: string
    header: Record<string, unknown>
  }>

  it('the committed jwcrypto run decrypted every committed JWE of ours to its plaintext', () => {
    expect(decrypted.map((d) => d.alg)).toEqual(['ECDH-ES+A256KW', 'RSA-OAEP-256', 'dir'])
    decrypted.forEach((d, i) => {
      expect(d.ok).toBe(true)
      expect(d.plaintext).toBe(ours.jwes[i]!.plaintext)
      expect(d.header).toMatchObject({
        alg: ours.jwes[i]!.alg,
        enc: 'A256GCM',
        cty: 'application/json',
      })
    })
  })

  it.runIf(hasJwcrypto)(
    'jwcrypto decrypts JWEs made now (runs where /usr/bin/python3 has jwcrypto)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'modelgate-interop-'))
      const plaintext = JSON.stringify({ instances: [{ nonce: crypto.randomUUID() }] })
      const jwes = []
      for (const key of keys) {
        jwes.push({
          alg: key.alg,
          jwe: await encryptJwe({ key: key.alg === 'dir' ? key : publicOf(key), plaintext }),
        })
      }
      writeFileSync(join(dir, 'in.json'), JSON.stringify({ jwes }))
      execFileSync(
        python,
        [
          new URL('check_our_jwes.py', fixtures).pathname,
          join(dir, 'in.json'),
          join(dir, 'out.json'),
        ],
        { stdio: 'pipe' },
      )
      const results = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Array<{
        ok: boolean
        plaintext: string
      }>
      expect(results).toHaveLength(3)
      for (const r of results) expect(r).toMatchObject({ ok: true, plaintext })
    },
  )
})

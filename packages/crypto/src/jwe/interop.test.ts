import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decrypt, decryptJweLines, encryptJwe, type DecryptionKey } from '../index.js'
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
    'a %s JWE made by jwcrypto runs through the gate',
    async (_alg, jwe) => {
      const { gate, calls } = gateWith([decrypt({ keys, clock })])
      const res = await gate.fetch(joseRequest(jwe))
      expect(res.status).toBe(200)
      expect(
        ((await res.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data,
      ).toEqual([0.75])
      expect(calls()).toBe(1)
    },
  )

  it.each(theirs.refused.map((r) => [r.case, r.code, r.jwe]))(
    'a jwcrypto JWE with %s is refused (%s)',
    async (_case, code, jwe) => {
      const { gate, calls } = gateWith([decrypt({ keys, clock })])
      const started = performance.now()
      const res = await gate.fetch(joseRequest(jwe))
      expect(performance.now() - started).toBeLessThan(50)
      expect(((await res.json()) as { code: string }).code).toBe(code)
      expect(calls()).toBe(0)
    },
  )

  it('decryptJweLines gives the same verdicts, one JSON line each', async () => {
    const lines = [
      ...theirs.accepted.map((a) => a.jwe),
      '',
      ...theirs.refused.map((r) => r.jwe),
      theirs.accepted[0]!.jwe,
    ]
    const out: Array<{ ok: boolean; plaintext_b64?: string; code?: string }> = []
    for await (const line of decryptJweLines({ keys, now: theirs.iat }, lines))
      out.push(JSON.parse(line))
    expect(out).toHaveLength(theirs.accepted.length + theirs.refused.length + 1)
    for (const ok of out.slice(0, 3))
      expect(Buffer.from(ok.plaintext_b64!, 'base64').toString()).toBe(theirs.plaintext)
    expect(out.slice(3, -1).map((o) => o.code)).toEqual(theirs.refused.map((r) => r.code))
    expect(out.at(-1)).toMatchObject({ ok: false, code: 'jwe_replayed' })
    const stale: unknown[] = []
    for await (const line of decryptJweLines({ keys }, [theirs.accepted[0]!.jwe]))
      stale.push(JSON.parse(line))
    expect(stale).toEqual([
      { ok: false, code: 'jwe_stale', message: 'iat is outside the accepted window' },
    ])
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

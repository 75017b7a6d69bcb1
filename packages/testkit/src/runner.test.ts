import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { conformanceCases } from './cases.js'
import { fixturePath } from './fixture-path.js'
import { runConformance } from './runner.js'
import type { ConformanceCase } from './types.js'

const live: ConformanceCase = {
  name: 'live',
  method: 'GET',
  path: '/v2/health/live',
  status: 200,
  check: ({ body }) => {
    if ((body as { live?: unknown }).live !== true) throw new Error('not live')
  },
}

describe('runConformance', () => {
  it('reports every case of a server that answers HTML errors as failed', async () => {
    const html = async () =>
      new Response('<html><body>Internal Server Error</body></html>', {
        status: 500,
        headers: { 'content-type': 'text/html' },
      })
    const results = await runConformance(html)
    expect(results).toHaveLength(conformanceCases.length)
    for (const r of results) expect(r.problems, r.name).not.toEqual([])
    expect(results[0]!.body).toBe('<html><body>Internal Server Error</body></html>')
  })

  it('normalises volatile headers and parses JSON bodies', async () => {
    const [result] = await runConformance(
      async () =>
        new Response('{"live":true}', {
          headers: {
            'content-type': 'application/json',
            date: 'Mon, 01 Jan 2024 00:00:00 GMT',
            'x-request-id': 'abc',
            'content-length': '13',
            'x-kept': '1',
          },
        }),
      { cases: [live] },
    )
    expect(result).toEqual({
      name: 'live',
      status: 200,
      contentType: 'application/json',
      headers: { 'content-type': 'application/json', 'x-kept': '1', 'x-request-id': '*' },
      body: { live: true },
      problems: [],
    })
  })

  it('flags a wrong status, a failed check, a slow answer and a transport failure', async () => {
    const slow = async () => {
      await new Promise((resolve) => setTimeout(resolve, 60))
      return Response.json({ live: false }, { status: 503 })
    }
    const [slowResult] = await runConformance(slow, { cases: [{ ...live, maxMs: 20 }] })
    expect(slowResult!.problems).toEqual([
      'status 503, expected 200',
      expect.stringMatching(/^answered in \d+ ms, limit 20 ms$/),
      'not live',
    ])
    const [failed] = await runConformance(() => Promise.reject(new Error('refused')), {
      cases: [live],
    })
    expect(failed).toMatchObject({ status: 0, problems: ['request failed: refused'] })
    const [unreachable] = await runConformance('http://127.0.0.1:1', { cases: [live] })
    expect(unreachable!.problems[0]).toMatch(/^request failed: /)
  })

  it('gives up on a case that never answers', async () => {
    const [result] = await runConformance(() => new Promise<Response>(() => undefined), {
      cases: [live],
      timeoutMs: 50,
    })
    expect(result!.problems).toEqual(['request failed: no answer to "live" within 50 ms'])
  })
})

describe('conformanceCases', () => {
  it('have unique names and point at the fixtures that exist', () => {
    expect(new Set(conformanceCases.map((c) => c.name)).size).toBe(conformanceCases.length)
    for (const f of ['mlp.onnx', 'multi_io.onnx', 'mlp.expected.json'])
      expect(existsSync(fixturePath(f))).toBe(true)
    expect(() => fixturePath('../package.json')).toThrow(TypeError)
  })
})

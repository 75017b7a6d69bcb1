import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failures, freePort, resultsOf, runDocument } from '../../test/shell.js'
import type { ShellResult, Step } from '../../test/shell.js'

const here = fileURLToPath(new URL('./', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))

const starts = (c: string) => c.startsWith('node examples/hybrid/dist/start.js')

describe('examples/hybrid/README.md, every command as written', () => {
  let steps: Step[]
  let close: () => Promise<void>

  beforeAll(async () => {
    // Free ports stand in for 8443 and 8081 (the README's CLOUD_PORT and EDGE_PORT).
    const [cloud, edge] = [await freePort(), await freePort()]
    ;({ steps, close } = await runDocument(await readFile(join(here, 'README.md'), 'utf8'), {
      cwd: root,
      env: { CLOUD_PORT: String(cloud), EDGE_PORT: String(edge) },
      rewrite: (c) => c.replaceAll('127.0.0.1:8081', `127.0.0.1:${edge}`),
      server: (c) => (starts(c) ? /Ctrl\+C stops both/ : undefined),
      // one start.js at a time: the reader stops the first before starting the second
      async before(command, sofar) {
        if (!starts(command)) return
        for (const s of sofar.filter((x) => x.job)) await s.job!.stop('SIGINT')
      },
    }))
  }, 900_000)

  afterAll(() => close?.())

  const run = (...parts: string[]): ShellResult => {
    const found = resultsOf(steps, ...parts)
    expect(found, parts.join(' ')).toHaveLength(1)
    return found[0]!
  }

  it('runs every command; each exits 0, and start.js runs until Ctrl+C', async () => {
    const jobs = steps.filter((s) => s.job)
    expect(jobs.map((s) => s.command.replace(/\s+#.*$/, ''))).toEqual([
      'node examples/hybrid/dist/start.js',
      'node examples/hybrid/dist/start.js --workerd',
    ])
    expect(failures(steps)).toEqual([])
    // the first start.js was stopped with Ctrl+C (SIGINT) before the second one; stop that too
    expect(await jobs[1]!.job!.stop('SIGINT')).toBe(true)
    expect(await jobs[0]!.job!.output()).toContain('edge gate (uint8 model, node)')
    expect(await jobs[1]!.job!.output()).toContain('edge gate (uint8 model, workerd)')
  })

  it('plays the scenario on Node and in workerd: edge, cloud, outage, breaker, recovery', () => {
    for (const result of [run('dist/demo.js', 'free ports'), run('dist/demo.js --workerd')]) {
      const routes = result.stdout
        .split('\n')
        .map((l) => /^(.+?)\s+200 (route=\S+(?: degraded=\S+)?)/.exec(l))
        .filter((m) => m !== null)
        .map((m) => `${m[1]!.trim()}: ${m[2]}`)
      expect(routes).toEqual([
        'confident applicant: route=edge',
        'uncertain applicant: route=cloud',
        'uncertain, cloud down: route=edge degraded=cloud_error',
        'uncertain, cloud down again: route=edge degraded=cloud_error',
        'uncertain, breaker open: route=edge degraded=breaker_open',
        'uncertain, cloud back: route=cloud',
      ])
    }
  })

  it('escalates the uncertain applicant of the curl example to the cloud', () => {
    const answer = run('curl -si')
    const headers = answer.stdout.split(/\r?\n/).filter((l) => /^x-modelgate-/i.test(l))
    expect(headers).toContain('x-modelgate-route: cloud')
    const body = answer.stdout.slice(answer.stdout.indexOf('{'))
    expect(JSON.parse(body).predictions[0].default_probability).toBeCloseTo(0.5391, 3)
  })
})

import { createGate, type Gate } from '@modelgate/core'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { llm } from '@modelgate/llm'
import { createStandIn, SAMPLE_PII as PII, type StandIn } from '@modelgate/llm/testing'
import { mask } from '@modelgate/mask'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConsoleAssets } from './assets.js'
import { webConsole } from './handler.js'

// The prompt attributions page (prompt.html) in headless Chromium (Debian's /usr/bin/chromium),
// served by the gate with its strict CSP, against the llm plugin and the n-gram stand-in.

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
const NOTES = [
  `The contact of project Orion is ${PII.email}.`,
  'Meetings are held every Tuesday morning.',
  `The contact of project Lumen is ${PII.phone}.`,
]

describe('the prompt attributions page in headless Chromium', () => {
  let standIn: StandIn
  let gate: Gate
  let server: NodeServer
  let browser: Browser

  beforeAll(async () => {
    standIn = createStandIn({ decode: 'continue' })
    gate = createGate({
      models: [],
      plugins: [
        webConsole({
          model: 'chat',
          schema: { features: [{ name: 'x', type: 'numeric' }] },
          assets: await loadConsoleAssets(),
        }),
        mask({ detector: { ner: false } }),
        llm({
          models: [
            {
              name: 'chat',
              upstream: {
                type: 'openai',
                url: 'http://standin/v1',
                fetch: (url, init) => standIn.fetch(new Request(url, init)),
              },
            },
          ],
        }),
      ],
    })
    server = await serveNode(gate, { port: 0 })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await gate?.close()
  })

  it('shows the answer and ranks the sentence that holds it first, with values restored for the caller', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    await page.goto(`${server.url}/console/prompt.html`)
    await page.waitForSelector('body[data-ready="true"]')
    expect(await page.locator('#model option').allTextContents()).toEqual(['chat'])
    await page.fill('#prompt', `${NOTES.join(' ')} The contact of project Orion is`)
    await page.fill('#max-tokens', '8')
    await page.selectOption('#method', 'leave_one_out')
    await page.selectOption('#score', 'similarity')
    await page.click('#submit')
    await page.waitForSelector('body[data-explained="true"]', { timeout: 30_000 })
    expect(await page.textContent('#answer')).toContain(PII.email)
    const first = page.locator('.prompt-segment[data-rank="1"]')
    expect(await first.textContent()).toContain(NOTES[0])
    const rows = await page.locator('#segment-table tbody tr td:nth-child(4)').allTextContents()
    expect(rows[0]).toBe(NOTES[0])
    expect(rows).toHaveLength(3)
    expect(await page.textContent('#attribution-meta')).toMatch(/leave_one_out over 3 sentences/)
    // Tints are set through the CSSOM, which the page's CSP allows; nothing was refused.
    expect(await first.evaluate((n) => (n as HTMLElement).style.backgroundColor)).toMatch(/^rgba/)
    expect(problems).toEqual([])
    const sent = JSON.stringify(standIn.calls.map((c) => c.body))
    for (const v of Object.values(PII)) expect(sent).not.toContain(v)
    await page.close()
  }, 60_000)
})

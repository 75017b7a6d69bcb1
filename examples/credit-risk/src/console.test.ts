import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SAMPLE_APPLICATION, startDemo } from './serve.js'
import type { Demo } from './serve.js'

// Needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium).
const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]
const artifacts = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url))

describe('the web console in headless Chromium, on the demo server', () => {
  let demo: Demo
  let context: BrowserContext
  let profile: string
  let page: Page
  const problems: string[] = []
  const foreign: string[] = []
  const refused: string[] = []

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true })
    profile = await mkdtemp(join(tmpdir(), 'modelgate-console-'))
    ;[demo, context] = await Promise.all([
      startDemo({ port: 0, edgePort: 0, console: true }),
      chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width: 1280, height: 900 },
      }),
    ])
    page = context.pages()[0] ?? (await context.newPage())
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(m.text())
    })
    page.on('response', (r) => {
      if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}`)
    })
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('request', (r) => {
      const url = new URL(r.url())
      if (url.origin !== demo.cloud.url && url.origin !== demo.edge.url) foreign.push(r.url())
    })
  }, 90_000)

  afterAll(async () => {
    await context?.close()
    await demo?.close()
    if (profile) await rm(profile, { recursive: true, force: true })
  })

  const returned = (field: string) =>
    page.locator(`#masking-table tr[data-field="${field}"] td.returned`).textContent()
  const state = (field: string) =>
    page.locator(`#masking-table tr[data-field="${field}"]`).getAttribute('data-state')

  /** The shown probability, after checking the label follows the demo's thresholds. */
  async function decision(): Promise<number> {
    const text = await page.locator('#decision-probability').textContent()
    const p = Number(/([\d.]+) %/.exec(text ?? '')![1]) / 100
    const label = p < 0.2 ? 'Approve' : p >= 0.5 ? 'Decline' : 'Refer to an underwriter'
    expect(await page.locator('#decision-label').textContent()).toBe(label)
    return p
  }
  let underwriterP = 0

  async function answeredAs(role: string): Promise<void> {
    await page.waitForFunction(
      (r) => document.body.dataset.state === 'answered' && document.body.dataset.role === r,
      role,
      { timeout: 20_000 },
    )
  }

  it('shows the underwriter the decision, the waterfall and the fields the policy unmasks', async () => {
    const res = await page.goto(`${demo.cloud.url}/console/`)
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.waitForFunction(() => document.body.dataset.ready === 'true')
    await expect(page.locator('#dev-warning').isVisible()).resolves.toBe(true)
    expect(await page.locator('#dev-warning').textContent()).toContain('Development only')
    expect(await page.inputValue('#field-name')).toBe(SAMPLE_APPLICATION.name)
    expect(await page.inputValue('#field-ssn')).toBe(SAMPLE_APPLICATION.ssn)

    await page.getByRole('radio', { name: /^Underwriter/ }).check()
    await page.getByRole('button', { name: 'Get decision' }).click()
    await answeredAs('underwriter')

    underwriterP = await decision()
    expect(underwriterP).toBeGreaterThan(0)
    expect(await page.locator('#attributions').getAttribute('data-kind')).toBe('waterfall')
    const chart = page.locator('#waterfall svg[role="img"]')
    await expect(chart.count()).resolves.toBe(1)
    await expect(chart.locator('g.step').count()).resolves.toBe(8)
    expect(await chart.locator('title').textContent()).toContain('default_probability')
    expect(await page.locator('#attributions-table tbody tr').count()).toBe(8)

    expect(await returned('name')).toBe(SAMPLE_APPLICATION.name)
    expect(await state('name')).toBe('clear')
    expect(await returned('email')).toBe(SAMPLE_APPLICATION.email)
    expect(await returned('ssn')).toBe('***-**-8821')
    expect(await state('ssn')).toBe('masked')
    expect(await returned('card_number')).toBe('**** **** **** 6467')
    expect(await page.locator('#audit dd[data-key="decision"]').textContent()).toContain(
      'allow:underwriter',
    )
    expect(await page.locator('#audit dd[data-key="explanation"]').textContent()).toBe('exact_shap')
    await page.screenshot({ path: join(artifacts, 'console-underwriter.png'), fullPage: true })
  })

  it('masks every personal field for the applicant, who may not see explanations', async () => {
    await page.getByRole('radio', { name: /^Applicant/ }).check()
    await answeredAs('applicant')
    expect(await decision()).toBe(underwriterP)
    expect(await page.locator('#attributions').getAttribute('data-kind')).toBe('none')
    expect(await page.locator('#attributions-note').textContent()).toContain(
      'does not let this role see explanations',
    )
    expect(await returned('name')).toMatch(/^PERSON_[0-9a-f]{16}$/)
    expect(await returned('email')).toMatch(/^EMAIL_ADDRESS_[0-9a-f]{16}$/)
    expect(await returned('phone')).toMatch(/^enc:v2:/)
    for (const field of ['name', 'email', 'phone', 'ssn', 'card_number', 'note'])
      expect(await state(field), field).toBe('masked')
    const cells = await page.locator('#masking-table td.returned').allTextContents()
    for (const secret of [
      SAMPLE_APPLICATION.name,
      SAMPLE_APPLICATION.email,
      SAMPLE_APPLICATION.phone,
      SAMPLE_APPLICATION.ssn,
    ])
      expect(cells.join('\n')).not.toContain(secret)
    expect(await page.locator('#audit dd[data-key="masking"]').textContent()).toContain('US_SSN ×1')
    await page.screenshot({ path: join(artifacts, 'console-applicant.png'), fullPage: true })
  })

  it('serves the same console from the edge runtime; the auditor reads the note but no SSN', async () => {
    await page.goto(`${demo.edge.url}/console/`)
    await page.waitForFunction(() => document.body.dataset.ready === 'true')
    await page.getByRole('radio', { name: /^Auditor/ }).check()
    await page.fill('#field-delinquencies', '5')
    await page.fill('#field-debt_to_income', '0.9')
    await page.getByRole('button', { name: 'Get decision' }).click()
    await answeredAs('auditor')
    expect(await decision()).toBeGreaterThan(underwriterP)
    expect(await page.locator('#attributions').getAttribute('data-kind')).toBe('waterfall')
    expect(await returned('note')).toBe(SAMPLE_APPLICATION.note)
    expect(await returned('ssn')).toBe('***-**-8821')
    // no script errors, no CSP violations, nothing fetched from elsewhere; the only refusal is
    // the applicant's explain request, which the policy forbids
    expect(problems).toEqual([])
    expect(foreign).toEqual([])
    expect(refused).toEqual(['403 /v1/models/credit:explain'])
    await page.screenshot({ path: join(artifacts, 'console-auditor-edge.png'), fullPage: true })
  })
})

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

/** Viewports the layout is checked at: a common laptop and a phone. */
const LAPTOP = { width: 1366, height: 768 }
const PHONE = { width: 390, height: 844 }

describe('the web console in headless Chromium, on the demo server', () => {
  let demo: Demo
  let context: BrowserContext
  let profile: string
  let shots: string
  let work: string
  let page: Page
  const problems: string[] = []
  const foreign: string[] = []
  const refused: string[] = []

  function watch(p: Page): Page {
    p.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(m.text())
    })
    p.on('response', (r) => {
      if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}`)
    })
    p.on('pageerror', (e) => problems.push(e.message))
    p.on('request', (r) => {
      const url = new URL(r.url())
      if (url.origin !== demo.cloud.url && url.origin !== demo.edge.url) foreign.push(r.url())
    })
    return p
  }

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'modelgate-console-'))
    shots = await mkdtemp(join(tmpdir(), 'modelgate-console-shots-'))
    work = await mkdtemp(join(tmpdir(), 'modelgate-console-demo-'))
    ;[demo, context] = await Promise.all([
      startDemo({ port: 0, edgePort: 0, console: true, demoDir: work }),
      chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: LAPTOP,
      }),
    ])
    page = watch(context.pages()[0] ?? (await context.newPage()))
  }, 90_000)

  afterAll(async () => {
    await context?.close()
    await demo?.close()
    for (const dir of [profile, work]) if (dir) await rm(dir, { recursive: true, force: true })
    // The screenshots stay for a look at the layout.
    if (shots) process.stdout.write(`console screenshots: ${shots}\n`)
  })

  const row = (p: Page, field: string) => p.locator(`#masking-table tr[data-field="${field}"]`)
  const returned = (field: string, p = page) =>
    row(p, field).locator('.value.returned').getAttribute('data-value')
  const state = (field: string, p = page) => row(p, field).getAttribute('data-state')
  const why = (field: string, p = page) => row(p, field).locator('td.why').textContent()

  /** The shown probability, after checking the label follows the demo's thresholds. */
  async function decision(p = page): Promise<number> {
    const text = await p.locator('#decision-probability').textContent()
    const prob = Number(/([\d.]+) %/.exec(text ?? '')![1]) / 100
    const label = prob < 0.2 ? 'Approve' : prob >= 0.5 ? 'Decline' : 'Refer to an underwriter'
    expect(await p.locator('#decision-label').textContent()).toBe(label)
    return prob
  }
  let underwriterP = 0

  async function answeredAs(role: string, p = page): Promise<void> {
    await p.waitForFunction(
      (r) => document.body.dataset.state === 'answered' && document.body.dataset.role === r,
      role,
      { timeout: 20_000 },
    )
  }

  /** Fails unless the whole element is inside the viewport, as the page is scrolled now. */
  async function expectInView(p: Page, selector: string): Promise<void> {
    const box = await p.locator(selector).evaluate((el) => {
      const r = el.getBoundingClientRect()
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }
    })
    const view = p.viewportSize()!
    expect(box.bottom - box.top, selector).toBeGreaterThan(20)
    expect(box.top, `${selector} top`).toBeGreaterThanOrEqual(0)
    expect(box.left, `${selector} left`).toBeGreaterThanOrEqual(0)
    expect(box.bottom, `${selector} bottom`).toBeLessThanOrEqual(view.height)
    expect(box.right, `${selector} right`).toBeLessThanOrEqual(view.width)
  }

  /** No value, token or field name in the masking table is broken over two lines. */
  async function expectNoBrokenTokens(p: Page): Promise<void> {
    const broken = await p
      .locator('#masking-table')
      .evaluate((table) =>
        [...table.querySelectorAll('.value .word, th[scope="row"]')]
          .filter((el) => el.getClientRects().length !== 1 || el.scrollWidth > el.clientWidth + 1)
          .map((el) => el.textContent),
      )
    expect(broken).toEqual([])
  }

  async function checkChart(p: Page): Promise<void> {
    const chart = p.locator('#waterfall svg[role="img"]')
    await expect(chart.count()).resolves.toBe(1)
    await expect(chart.locator('g.step').count()).resolves.toBe(8)
    expect(await chart.locator('title').first().textContent()).toContain('default_probability')
    // an axis with a scale, the base value and the prediction
    expect(await chart.locator('.axis-line').count()).toBe(1)
    const ticks = await chart.locator('.tick-label').allTextContents()
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    expect(ticks.every((t) => /^-?\d+(\.\d+)?$/.test(t))).toBe(true)
    expect(await chart.locator('.base-line').count()).toBe(1)
    expect(await chart.locator('.base-label').textContent()).toMatch(/^base 0\.\d{3}/)
    // readable labels from the schema's descriptions, no snake_case, no red or signed zero
    const labels = await chart.locator('text.feature').allTextContents()
    expect(labels).toContain('Yearly gross income = 68,500')
    expect(labels).toContain('Loan purpose = car')
    expect(labels.join('\n')).not.toMatch(/[a-z]_[a-z]/)
    const amounts = await chart.locator('g.step .amount').allTextContents()
    expect(amounts.join(' ')).not.toMatch(/[+−-]0\.000/)
    for (const zero of await chart.locator('g.step.zero').all())
      expect(await zero.locator('.amount').textContent()).toBe('0.000')
    expect(await chart.locator('g.step.up .amount').allTextContents()).not.toContain('0.000')
  }

  it('shows the underwriter the decision and the chart without scrolling at 1366×768, and the fields the policy unmasks', async () => {
    const res = await page.goto(`${demo.cloud.url}/console/`)
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.waitForFunction(() => document.body.dataset.ready === 'true')
    await expect(page.locator('#dev-warning').isVisible()).resolves.toBe(true)
    expect(await page.locator('#dev-warning').textContent()).toContain('Development only')
    expect(await page.inputValue('#field-name')).toBe(SAMPLE_APPLICATION.name)
    expect(await page.inputValue('#field-ssn')).toBe(SAMPLE_APPLICATION.ssn)
    expect(await page.locator('label[for="field-debt_to_income"]').textContent()).toContain(
      'Debt-to-income ratio',
    )

    await page.getByRole('radio', { name: /^Underwriter/ }).check()
    // the button sits at the end of the form, below the fold
    await page.getByRole('button', { name: 'Get decision' }).click()
    await answeredAs('underwriter')
    await expectInView(page, '#decision')
    await expectInView(page, '#waterfall svg')
    await page.screenshot({ path: join(shots, 'console-1366x768-underwriter.png') })

    underwriterP = await decision()
    expect(underwriterP).toBeGreaterThan(0)
    expect(await page.locator('#attributions').getAttribute('data-kind')).toBe('waterfall')
    await checkChart(page)
    expect(await page.locator('#attributions-table tbody tr').count()).toBe(8)

    expect(await returned('name')).toBe(SAMPLE_APPLICATION.name)
    expect(await state('name')).toBe('clear')
    expect(await returned('email')).toBe(SAMPLE_APPLICATION.email)
    expect(await returned('ssn')).toBe('***-**-8821')
    expect(await state('ssn')).toBe('masked')
    expect(await returned('card_number')).toBe('**** **** **** 6467')
    // the note: what was found in it, from the audit record's counts, and why the e-mail the
    // underwriter sees in its own field stays a token inside the note
    expect(await state('note')).toBe('masked')
    const note = (await why('note'))!
    expect(note).toContain('EMAIL_ADDRESS ×1')
    expect(note).toContain('PHONE_NUMBER ×1')
    expect(note).toContain(
      'The EMAIL_ADDRESS and PHONE_NUMBER inside note stay masked although email and phone are in clear',
    )
    expect(note).toContain('granted unmask:email and unmask:phone, not unmask:note')
    expect(await returned('note')).toMatch(/EMAIL_ADDRESS_[0-9a-f]{16}/)
    expect(await page.locator('#masking').textContent()).not.toContain('echoRecords')
    await expectNoBrokenTokens(page)
    expect(await page.locator('#audit dd[data-key="decision"]').textContent()).toContain(
      'allow:underwriter',
    )
    expect(await page.locator('#audit dd[data-key="explanation"]').textContent()).toBe('exact_shap')
    await page.screenshot({
      path: join(shots, 'console-1366-underwriter-full.png'),
      fullPage: true,
    })
  })

  it('masks every personal field for the applicant, who may not see explanations', async () => {
    await page.getByRole('radio', { name: /^Applicant/ }).check()
    await answeredAs('applicant')
    await expectInView(page, '#decision')
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
    const cells = await page
      .locator('#masking-table .value.returned')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-value')))
    for (const secret of [
      SAMPLE_APPLICATION.name,
      SAMPLE_APPLICATION.email,
      SAMPLE_APPLICATION.phone,
      SAMPLE_APPLICATION.ssn,
    ])
      expect(cells.join('\n')).not.toContain(secret)
    expect(await why('note')).toMatch(/EMAIL_ADDRESS ×1, PHONE_NUMBER ×1/)
    expect(await why('note')).not.toContain('masked although')
    expect(await page.locator('#audit dd[data-key="masking"]').textContent()).toContain('US_SSN ×1')
    await expectNoBrokenTokens(page)
    await page.screenshot({ path: join(shots, 'console-1366-applicant-full.png'), fullPage: true })
  })

  it('serves the same console from the edge runtime; the auditor reads the note but no SSN', async () => {
    await page.goto(`${demo.edge.url}/console/`)
    await page.waitForFunction(() => document.body.dataset.ready === 'true')
    await page.getByRole('radio', { name: /^Auditor/ }).check()
    await page.fill('#field-delinquencies', '5')
    await page.fill('#field-debt_to_income', '0.9')
    await page.getByRole('button', { name: 'Get decision' }).click()
    await answeredAs('auditor')
    await expectInView(page, '#decision')
    await expectInView(page, '#waterfall svg')
    expect(await decision()).toBeGreaterThan(underwriterP)
    expect(await page.locator('#attributions').getAttribute('data-kind')).toBe('waterfall')
    expect(await returned('note')).toBe(SAMPLE_APPLICATION.note)
    expect(await state('note')).toBe('clear')
    expect(await why('note')).toMatch(/EMAIL_ADDRESS ×1, PHONE_NUMBER ×1 masked in it/)
    expect(await returned('ssn')).toBe('***-**-8821')
    await page.screenshot({ path: join(shots, 'console-1366x768-auditor-edge.png') })
  })

  it('at 390 px wide shows the decision and the chart without scrolling, and a missing value as the model used it', async () => {
    const phone = watch(await context.newPage())
    try {
      await phone.setViewportSize(PHONE)
      await phone.goto(`${demo.cloud.url}/console/`)
      await phone.waitForFunction(() => document.body.dataset.ready === 'true')
      await phone.getByRole('radio', { name: /^Underwriter/ }).check()
      await phone.fill('#field-years_employed', '')
      await phone.getByRole('button', { name: 'Get decision' }).click()
      await answeredAs('underwriter', phone)
      await expectInView(phone, '#decision')
      await expectInView(phone, '#waterfall svg')
      await phone.screenshot({ path: join(shots, 'console-390-underwriter.png') })
      await checkChart(phone)
      const chart = phone.locator('#waterfall svg')
      const missing = chart.locator('g.step[data-feature="years_employed"]')
      expect(await missing.locator('text.feature').textContent()).toBe(
        'Years employed = 0 (missing)',
      )
      expect(await phone.locator('#attributions-note').textContent()).toContain(
        'Missing values are shown as the value the model used instead (Years employed)',
      )
      // nothing wider than the phone, no token broken over two lines
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        PHONE.width,
      )
      await expectNoBrokenTokens(phone)
      await phone.screenshot({
        path: join(shots, 'console-390-underwriter-full.png'),
        fullPage: true,
      })
      await phone.locator('#masking').screenshot({ path: join(shots, 'console-390-masking.png') })
    } finally {
      await phone.close()
    }
    // no script errors, no CSP violations, nothing fetched from elsewhere; the only refusal is
    // the applicant's explain request, which the policy forbids
    expect(problems).toEqual([])
    expect(foreign).toEqual([])
    expect(refused).toEqual(['403 /v1/models/credit:explain'])
  })
})

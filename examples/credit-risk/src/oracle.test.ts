// The detokenisation oracle, replayed against the demo as an attacker would: an underwriter, who
// may see names, e-mails and phone numbers in their own fields but not the note's free text, pastes
// the note's tokens into applicant_id (a field the policy unmasks for them). The gate must answer
// the tokens as they were, never the values behind them, on both runtimes.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SAMPLE_APPLICATION, startDemo, type Demo } from './serve.js'

const NAME = 'Ana Lopez'
const EMAIL = 'ana.lopez@example.org'
const PHONE = '+1 212 736 5000'
const NOTE = `Called ${NAME} on ${PHONE}; she asked for the offer by mail to ${EMAIL}.`

describe('the demo gives no value back for its tokens pasted into another field', () => {
  let demo: Demo
  let work: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'modelgate-oracle-'))
    demo = await startDemo({ port: 0, edgePort: 0, console: true, demoDir: work })
  })
  afterAll(async () => {
    await demo?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  async function token(base: string, user: string): Promise<string> {
    const res = await fetch(`${base}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    })
    return ((await res.json()) as { token: string }).token
  }

  async function predict(base: string, bearer: string, record: Record<string, unknown>) {
    const res = await fetch(`${base}/v1/models/credit:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ instances: [{ ...SAMPLE_APPLICATION, ...record }] }),
    })
    expect(res.status).toBe(200)
    const text = await res.text()
    return {
      text,
      prediction: (JSON.parse(text) as { predictions: Array<Record<string, unknown>> })
        .predictions[0]!,
    }
  }

  for (const runtime of ['cloud', 'edge'] as const) {
    it(`on the ${runtime} runtime`, async () => {
      const base = demo[runtime].url
      const underwriter = await token(base, 'underwriter')
      // The note comes back masked: the underwriter may not unmask the note's free text.
      const first = await predict(base, underwriter, { note: NOTE, applicant_id: 'APP-1' })
      const maskedNote = String(first.prediction.note)
      for (const value of [NAME, EMAIL, PHONE]) expect(maskedNote).not.toContain(value)
      expect(maskedNote).not.toBe(NOTE)
      // Its own fields of the same kinds are revealed to the underwriter, as the policy says.
      const own = await predict(base, underwriter, {
        name: NAME,
        email: EMAIL,
        applicant_id: 'APP-2',
      })
      expect(own.prediction.name).toBe(NAME)
      expect(own.prediction.email).toBe(EMAIL)
      // The attack: the note's tokens pasted where the underwriter may unmask.
      const pasted = await predict(base, underwriter, { applicant_id: maskedNote })
      for (const value of [NAME, EMAIL, PHONE, '736 5000']) expect(pasted.text).not.toContain(value)
      expect(pasted.prediction.applicant_id).toBe(maskedNote)
      // And into the fields whose own values the underwriter may see.
      const asEmail = await predict(base, underwriter, { email: maskedNote, name: maskedNote })
      for (const value of [NAME, EMAIL, PHONE]) expect(asEmail.text).not.toContain(value)
    })
  }
})

import { describe, expect, it } from 'vitest'
import { createDetector } from './detector.js'

// The pattern recognizers alone; the NER layer has its own tests (ner/index.test.ts).
const detector = createDetector({ ner: false })
const found = (text: string, d = detector) =>
  d.detect(text).map((s) => [s.type, text.slice(s.start, s.end)])

/** Appends the Luhn check digit to `body`. */
function luhnComplete(body: string): string {
  let sum = 0
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = Number(body[i])
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  return body + ((10 - (sum % 10)) % 10)
}

/** An IBAN with its ISO 13616 check digits computed for `country` + `bban`. */
function iban(country: string, bban: string): string {
  const digits = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55))
  let rem = 0
  for (const ch of digits) rem = (rem * 10 + Number(ch)) % 97
  return country + String(98 - rem).padStart(2, '0') + bban
}

/** Each text: nothing at the default threshold; at threshold 0 only `value`, scored below 0.5. */
function expectBelowThreshold(type: string, cases: Array<[string, string]>): void {
  const all = createDetector({ threshold: 0, entities: [type] })
  for (const [text, value] of cases) {
    expect(found(text), text).toEqual([])
    const spans = all.detect(text)
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([value])
    expect(spans[0]!.score).toBeLessThan(0.5)
  }
}

describe('phone numbers by region and context', () => {
  it('reads a number in the country named before it', () => {
    expect(found('My Israeli number is 09-7625400')).toEqual([['PHONE_NUMBER', '09-7625400']])
    expect(found('ring my Japanese mobile 090-1234-5678')).toEqual([
      ['PHONE_NUMBER', '090-1234-5678'],
    ])
    expect(found('the office in Israel: 03-5231234')).toEqual([['PHONE_NUMBER', '03-5231234']])
    expect(found('reference 09-7625400 attached')).toEqual([])
  })

  it('reads numbers in the configured regions', () => {
    const de = createDetector({ ner: false, phoneRegions: ['US', 'DE'] })
    expect(found('Rückruf unter 030 901820 oder (212) 736-5000', de)).toEqual([
      ['PHONE_NUMBER', '030 901820'],
      ['PHONE_NUMBER', '(212) 736-5000'],
    ])
    expect(() => createDetector({ phoneRegions: ['XX'] })).toThrow(TypeError)
  })

  it('raises possible but invalid numbers with a phone context word to a reportable score', () => {
    expect(found('Mobile: +1 (851) 643-2735')).toEqual([['PHONE_NUMBER', '+1 (851) 643-2735']])
    expect(found('Phone: +44 20 9785 4484')).toEqual([['PHONE_NUMBER', '+44 20 9785 4484']])
    expect(found('tel 0490 75 40 81, ext. 12')).toEqual([
      ['PHONE_NUMBER', '0490 75 40 81, ext. 12'.slice(0, 13)],
    ])
    expect(found('Fax: 345-899-3560x4587')).toEqual([['PHONE_NUMBER', '345-899-3560x4587']])
    // Without context they stay below the default threshold; a stricter policy drops them.
    expect(found('+1 (851) 643-2735 and +44 20 9785 4484')).toEqual([])
    const strict = createDetector({ threshold: 0.65 })
    expect(found('Mobile: +1 (851) 643-2735', strict)).toEqual([])
    expect(found('Mobile: (212) 736-5000', strict)).toEqual([['PHONE_NUMBER', '(212) 736-5000']])
    // Version-like dotted numbers are not phone-shaped, even after `number`.
    expect(found('build number 1.2.3.45678')).toEqual([])
  })
})

describe('IP addresses', () => {
  it('keeps prefix lengths, zone indexes and the unspecified address', () => {
    expect(found('Subnet: 10.20.0.0/16.')).toEqual([['IP_ADDRESS', '10.20.0.0/16']])
    expect(found('route 10.0.0.0/123')).toEqual([['IP_ADDRESS', '10.0.0.0']])
    expect(found('gateway fe80::1ff:fe23:4567:890a%eth2 up')).toEqual([
      ['IP_ADDRESS', 'fe80::1ff:fe23:4567:890a%eth2'],
    ])
    expect(found('prefix 2001:db8:aa::/48 assigned')).toEqual([['IP_ADDRESS', '2001:db8:aa::/48']])
    expect(found('bind to ipv6 :: on start')).toEqual([['IP_ADDRESS', '::']])
    expect(found('default route ::/0')).toEqual([['IP_ADDRESS', '::/0']])
    expect(found('std::vector and Foo::bar')).toEqual([])
  })

  it('lowers version numbers written as keys or after version words', () => {
    for (const text of [
      '{"app_version": "3.15.47.137"}',
      'version=10.15.8.231',
      'firmware 1.28.23.66 installed',
      'appVersion: 4.2.11.90',
      'build 7.1.28.90 deployed',
    ]) {
      expect(found(text), text).toEqual([])
      const low = createDetector({ threshold: 0, entities: ['IP_ADDRESS'] }).detect(text)
      expect(low.map((s) => s.score)).toEqual([0.1])
    }
    expect(found('client 10.15.8.231 connected')).toEqual([['IP_ADDRESS', '10.15.8.231']])
  })

  it('reads the address at the start of a longer dotted number at a low score', () => {
    expectBelowThreshold('IP_ADDRESS', [
      ['192.168.1.1.1', '192.168.1.1'],
      ['oid 1.3.6.1.4.1.311', '1.3.6.1'],
      ['ip 10.15.8.231.5', '10.15.8.231'],
    ])
  })
})

describe('URLs and domains', () => {
  it('finds bare domains but not host-only URLs or file names', () => {
    expect(found('mirrors: kernel.org and mirror.aarnet.edu.au/pub.')).toEqual([
      ['URL', 'kernel.org'],
      ['URL', 'mirror.aarnet.edu.au/pub'],
    ])
    expect(found('see bbc.co.uk today')).toEqual([['URL', 'bbc.co.uk']])
    expect(found('open http://intranet or www.intranet now')).toEqual([])
    expect(found('edit README.md and setup.py, run deploy.sh')).toEqual([])
    expect(found('https://status.example.io/incidents?id=4')).toEqual([
      ['URL', 'https://status.example.io/incidents?id=4'],
    ])
    expect(found('write to ops@example.com')).toEqual([['EMAIL_ADDRESS', 'ops@example.com']])
  })

  it('accepts internationalised e-mail domains', () => {
    expect(found('mail info@xn--bcher-kva.xn--p1ai')).toEqual([
      ['EMAIL_ADDRESS', 'info@xn--bcher-kva.xn--p1ai'],
    ])
    expect(found('mail info@bücher.de now')).toEqual([['EMAIL_ADDRESS', 'info@bücher.de']])
  })
})

describe('cards, IBANs and SSNs', () => {
  it('knows UATP, Dankort, Maestro UK, Mir and 12-digit Maestro cards', () => {
    for (const body of [
      '13008801234567',
      '501912345678901',
      '675912345678901',
      '220012345678901',
      '63041234567',
    ]) {
      const card = luhnComplete(body)
      expect(found(`card ${card} on file`), card).toEqual([['CREDIT_CARD', card]])
    }
  })

  it('reads dashed IBANs and the newer IBAN countries', () => {
    const ly = iban('LY', '002048000020100120361')
    expect(ly).toHaveLength(25)
    expect(found(`IBAN ${ly}`)).toEqual([['IBAN_CODE', ly]])
    const de = iban('DE', '370400440532013000')
    const dashed = de.replace(/(.{4})(?!$)/g, '$1-')
    expect(found(`pay to ${dashed} today`)).toEqual([['IBAN_CODE', dashed]])
    const ru = iban('RU', '04452522540817810538091310419')
    expect(found(`счёт ${ru}`)).toEqual([['IBAN_CODE', ru]])
  })

  it('reads dotted SSNs with one kind of separator', () => {
    expect(found('SSN 536.22.1234')).toEqual([['US_SSN', '536.22.1234']])
    expect(found('SSN 536.22-1234')).toEqual([])
  })

  it('keeps the very weak SSN forms below the default threshold, context or not', () => {
    expectBelowThreshold('US_SSN', [
      ['ssn 078-051121', '078-051121'],
      ['SSN: 07805-1121 on file', '07805-1121'],
    ])
    // The area rules hold for them too (a ZIP+4 of a 9xx area is no SSN).
    expect(createDetector({ threshold: 0, entities: ['US_SSN'] }).detect('zip 94105-1234')).toEqual(
      [],
    )
  })
})

describe('MAC addresses', () => {
  it('finds colon, hyphen and Cisco forms with one kind of separator', () => {
    expect(found('MACs: 00:11:22:33:44:55 and AA-BB-CC-DD-EE-0F, cisco 0012.3456.789a.')).toEqual([
      ['MAC_ADDRESS', '00:11:22:33:44:55'],
      ['MAC_ADDRESS', 'AA-BB-CC-DD-EE-0F'],
      ['MAC_ADDRESS', '0012.3456.789a'],
    ])
    for (const text of [
      'mixed 10:2F:33-AC-29-C3',
      'short 00:1A:2B:3C:4D',
      'broadcast FF:FF:FF:FF:FF:FF',
      'zero 00-00-00-00-00-00',
      'longer 00:11:22:33:44:55:66',
      'glued x00:11:22:33:44:55',
      'not hex ZZ:ZZ:ZZ:ZZ:ZZ:ZZ',
    ]) {
      expect(found(text), text).toEqual([])
    }
  })
})

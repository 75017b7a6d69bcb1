import { describe, expect, it } from 'vitest'
import { createFieldCipher, Keyring } from '../index.js'

const keyring = Keyring.generate('aead')
const deterministicKeyring = Keyring.generate('deterministic')
const fields = [
  { path: 'instances.ssn', mode: 'deterministic' as const },
  { path: 'instances.contact.email' },
]
const body = {
  instances: [
    { ssn: '078-05-1120', income: 52000, contact: { email: 'a@example.com' } },
    { ssn: '078-05-1120', income: 61000, contact: { email: 'b@example.com' } },
    { income: 1 },
  ],
}

describe('createFieldCipher', () => {
  it('encrypts only the selected fields, joinably where asked, and decrypts them back', async () => {
    const cipher = createFieldCipher({
      keyring,
      deterministicKeyring,
      tenant: 'acme',
      model: 'credit',
    })
    const sealed = await cipher.encrypt(body, fields)
    const [a, b, c] = sealed.instances as Array<Record<string, any>>
    expect(a!.ssn).toMatch(/^mgf1:/)
    expect(a!.ssn).toBe(b!.ssn)
    expect(a!.contact.email).not.toBe(b!.contact.email)
    expect(a!.income).toBe(52000)
    expect(c).toEqual({ income: 1 })
    expect(await cipher.decrypt(sealed, fields)).toEqual(body)
    expect(body.instances[0]!.ssn).toBe('078-05-1120')
  })

  it('binds tenant, model and field path', async () => {
    const acme = createFieldCipher({
      keyring,
      deterministicKeyring,
      tenant: 'acme',
      model: 'credit',
    })
    const sealed = (await acme.encrypt({ a: 'x', b: 'y' }, [{ path: 'a' }])) as {
      a: string
      b: string
    }
    const other = createFieldCipher({
      keyring,
      deterministicKeyring,
      tenant: 'globex',
      model: 'credit',
    })
    await expect(other.decrypt(sealed, [{ path: 'a' }])).rejects.toMatchObject({
      code: 'decrypt_failed',
    })
    const otherModel = createFieldCipher({ keyring, tenant: 'acme', model: 'fraud' })
    await expect(otherModel.decrypt(sealed, [{ path: 'a' }])).rejects.toMatchObject({
      code: 'decrypt_failed',
    })
    await expect(acme.decrypt({ b: sealed.a }, [{ path: 'b' }])).rejects.toMatchObject({
      code: 'decrypt_failed',
    })
    await expect(acme.decrypt({ a: 'plain' }, [{ path: 'a' }])).rejects.toMatchObject({
      code: 'field_not_encrypted',
    })
    const det = createFieldCipher({ deterministicKeyring, tenant: 'globex', model: 'credit' })
    const x = await det.encrypt({ ssn: 1 }, [{ path: 'ssn', mode: 'deterministic' }])
    const y = await createFieldCipher({
      deterministicKeyring,
      tenant: 'acme',
      model: 'credit',
    }).encrypt({ ssn: 1 }, [{ path: 'ssn', mode: 'deterministic' }])
    expect(x.ssn).not.toBe(y.ssn)
  })

  it('refuses bad options and paths', async () => {
    expect(() => createFieldCipher({ tenant: 't', model: 'm' })).toThrow(TypeError)
    expect(() =>
      createFieldCipher({ tenant: 't', model: 'm', keyrng: Keyring.generate('aead') } as never),
    ).toThrow('createFieldCipher: unknown option "keyrng" (did you mean "keyring"?)')
    expect(() =>
      createFieldCipher({ keyring: deterministicKeyring, tenant: 't', model: 'm' }),
    ).toThrow(/aead/)
    const cipher = createFieldCipher({ keyring, tenant: 't', model: 'm' })
    await expect(cipher.encrypt({}, [{ path: '__proto__.x' }])).rejects.toThrow(TypeError)
    await expect(
      cipher.encrypt({ s: 1 }, [{ path: 's', mode: 'deterministic' }]),
    ).rejects.toMatchObject({ code: 'keyring_missing' })
  })
})

import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  Keyring,
  KeyringError,
  localKeyProvider,
  parseKeyring,
  serializeKeyring,
} from '../index.js'

const te = new TextEncoder()
const td = new TextDecoder()
const aad = te.encode('tenant=acme')

describe('Keyring', () => {
  it('rotates without downtime: old ciphertexts decrypt, new ones use the new primary', async () => {
    const v1 = Keyring.generate('aead')
    const old = await v1.encrypt(te.encode('first'), aad)
    const staged = v1.addKey()
    expect(staged.primaryId).toBe(v1.primaryId)
    const newId = staged.list().find((k) => k.id !== v1.primaryId)!.id
    expect(td.decode(await staged.decrypt(old, aad))).toBe('first')
    const v2 = staged.promote(newId)
    const fresh = await v2.encrypt(te.encode('second'), aad)
    expect(new DataView(fresh.buffer).getUint32(1)).toBe(newId)
    expect(td.decode(await v2.decrypt(old, aad))).toBe('first')
    expect(td.decode(await v2.decrypt(fresh, aad))).toBe('second')
    const v3 = v2.disable(v1.primaryId)
    await expect(v3.decrypt(old, aad)).rejects.toMatchObject({ code: 'key_disabled' })
    await expect(v1.decrypt(fresh, aad)).rejects.toMatchObject({ code: 'key_unknown' })
    expect(() => v2.disable(newId)).toThrow(KeyringError)
    expect(v3.remove(v1.primaryId).list()).toHaveLength(1)
    expect(
      v1
        .rotate()
        .list()
        .map((k) => k.status)
        .sort(),
    ).toEqual(['enabled', 'primary'])
  })

  it('authenticates the associated data and every ciphertext byte', async () => {
    const ring = Keyring.generate('aead')
    const ct = await ring.encrypt(te.encode('secret'), aad)
    await expect(ring.decrypt(ct, te.encode('tenant=other'))).rejects.toMatchObject({
      code: 'decrypt_failed',
    })
    for (const at of [6, 20, ct.length - 1]) {
      const bad = ct.slice()
      bad[at]! ^= 1
      await expect(ring.decrypt(bad, aad)).rejects.toThrow(KeyringError)
    }
    expect(await ring.encrypt(te.encode('secret'), aad)).not.toEqual(ct)
  })

  it('deterministic keyrings give equal ciphertexts for equal inputs only', async () => {
    const ring = Keyring.generate('deterministic')
    const a = await ring.encrypt(te.encode('078-05-1120'), aad)
    expect(await ring.encrypt(te.encode('078-05-1120'), aad)).toEqual(a)
    expect(await ring.encrypt(te.encode('078-05-1121'), aad)).not.toEqual(a)
    expect(await ring.encrypt(te.encode('078-05-1120'), te.encode('tenant=b'))).not.toEqual(a)
    expect(td.decode(await ring.decrypt(a, aad))).toBe('078-05-1120')
    await expect(Keyring.generate('aead').decrypt(a, aad)).rejects.toMatchObject({
      code: 'ciphertext_invalid',
    })
  })

  it('never shows key material in JSON, inspect or errors', async () => {
    const ring = Keyring.generate('aead')
    const file = await serializeKeyring(ring)
    const material = file.keys[0]!.material!
    expect(JSON.stringify(ring)).not.toContain(material)
    expect(inspect(ring, { depth: 10, showHidden: true })).not.toContain(material)
    const err = await ring.decrypt(new Uint8Array(40), aad).catch((e: Error) => e)
    expect(String(err)).not.toContain(material)
  })

  it('envelope-encrypts key files under a key provider and refuses the wrong one', async () => {
    const kek = crypto.getRandomValues(new Uint8Array(32))
    const provider = localKeyProvider({ id: 'kek-1', key: Buffer.from(kek).toString('base64url') })
    const file = await serializeKeyring(Keyring.generate('deterministic'), provider)
    expect(file.kek).toBe('kek-1')
    expect(file.keys[0]).not.toHaveProperty('material')
    const ring = await parseKeyring(file, provider)
    const ct = await ring.encrypt(te.encode('x'))
    const rotated = await serializeKeyring((await parseKeyring(file, provider)).rotate(), provider)
    expect(rotated.keys).toHaveLength(2)
    expect(td.decode(await (await parseKeyring(rotated, provider)).decrypt(ct))).toBe('x')
    await expect(parseKeyring(file)).rejects.toMatchObject({ code: 'kek_mismatch' })
    const impostor = localKeyProvider({
      id: 'kek-1',
      key: crypto.getRandomValues(new Uint8Array(32)),
    })
    const err = await parseKeyring(file, impostor).catch((e: KeyringError) => e)
    expect(err).toMatchObject({ code: 'unwrap_failed' })
    expect(err.message).not.toContain(Buffer.from(kek).toString('base64url'))
    const staged = await serializeKeyring((await parseKeyring(file, provider)).addKey(), provider)
    expect(staged.keys.map((k) => k.status)).toEqual(['primary', 'enabled'])
    expect(() => localKeyProvider({ id: 'k', key: 'short' })).toThrow(TypeError)
  })
})

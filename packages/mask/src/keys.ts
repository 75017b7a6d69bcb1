import type { KeyInput } from './types.js'

const enc = new TextEncoder()

/** Decodes a user key (raw bytes or base64/base64url) and checks it has at least 32 bytes. */
export function decodeKey(key: KeyInput, what = 'key'): Uint8Array {
  let bytes: Uint8Array
  if (key instanceof Uint8Array) bytes = key
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) {
    const b64 = key.replace(/-/g, '+').replace(/_/g, '/')
    bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) =>
      c.charCodeAt(0),
    )
  } else throw new TypeError(`${what} must be bytes or a base64 string`)
  if (bytes.length < 32) throw new TypeError(`${what} must have at least 32 bytes`)
  return bytes
}

/** Subkeys derived from one master key with HKDF-SHA-256, one per purpose. */
export interface KeyRing {
  hash: CryptoKey
  pseudonym: CryptoKey
  shift: CryptoKey
  seal: CryptoKey
  gcm: CryptoKey
  ff1: Uint8Array
}

async function derive(master: CryptoKey, info: string): Promise<Uint8Array> {
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: enc.encode('modelgate-mask/v1'),
      info: enc.encode(info),
    },
    master,
    256,
  )
  return new Uint8Array(bits)
}

/** Derives every operator subkey from `raw`. */
export async function deriveKeys(raw: Uint8Array): Promise<KeyRing> {
  const master = await crypto.subtle.importKey(
    'raw',
    raw as Uint8Array<ArrayBuffer>,
    'HKDF',
    false,
    ['deriveBits'],
  )
  const hmac = async (info: string) =>
    crypto.subtle.importKey(
      'raw',
      (await derive(master, info)) as Uint8Array<ArrayBuffer>,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
  const aes = async (info: string) =>
    crypto.subtle.importKey(
      'raw',
      (await derive(master, info)) as Uint8Array<ArrayBuffer>,
      'AES-GCM',
      false,
      ['encrypt', 'decrypt'],
    )
  return {
    hash: await hmac('hash'),
    pseudonym: await hmac('pseudonym'),
    shift: await hmac('date-shift'),
    seal: await aes('vault-seal'),
    gcm: await aes('encrypt'),
    ff1: await derive(master, 'ff1'),
  }
}

/** HMAC-SHA-256 of the NUL-joined parts. */
export async function hmac(key: CryptoKey, ...parts: string[]): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(parts.join('\u0000'))))
}

export const toHex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

export function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromB64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0))
}

/** AES-256-GCM with a random 96-bit IV; returns iv || ciphertext || tag. */
export async function seal(
  key: CryptoKey,
  plaintext: string,
  aad: string | Uint8Array,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: bytesOf(aad) },
    key,
    enc.encode(plaintext),
  )
  const out = new Uint8Array(12 + ct.byteLength)
  out.set(iv)
  out.set(new Uint8Array(ct), 12)
  return out
}

/** Opens {@link seal} output; undefined when the tag or AAD does not verify. */
export async function open(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: string | Uint8Array,
): Promise<string | undefined> {
  if (sealed.length < 28) return undefined
  try {
    const pt = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: sealed.subarray(0, 12) as Uint8Array<ArrayBuffer>,
        additionalData: bytesOf(aad),
      },
      key,
      sealed.subarray(12) as Uint8Array<ArrayBuffer>,
    )
    return new TextDecoder().decode(pt)
  } catch {
    return undefined
  }
}

function bytesOf(aad: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return (typeof aad === 'string' ? enc.encode(aad) : aad) as Uint8Array<ArrayBuffer>
}

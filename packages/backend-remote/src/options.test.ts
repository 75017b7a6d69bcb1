import { describe, expect, it } from 'vitest'
import { createRemoteBackend } from './remote.js'
import { LINEAR_MODEL } from './testing/linear.js'
import type { RemoteBackendOptions } from './types.js'

const base: RemoteBackendOptions = { url: 'http://127.0.0.1:1', protocol: 'v2', model: 'm' }

describe('createRemoteBackend options', () => {
  it('accepts a minimal configuration for each protocol', () => {
    expect(typeof createRemoteBackend(base).infer).toBe('function')
    expect(typeof createRemoteBackend({ ...base, protocol: 'tfserving', version: '3' }).ready).toBe(
      'function',
    )
    const v1 = createRemoteBackend({ ...base, protocol: 'v1', metadata: LINEAR_MODEL.metadata })
    expect(typeof v1.metadata).toBe('function')
  })

  it.each([
    [{ url: 'ftp://host' }, /url must be an absolute http/],
    [{ url: 'not a url' }, /url must be an absolute http/],
    [{ url: 'http://host/?token=1' }, /query/],
    [{ protocol: 'grpc' }, /protocol must be one of/],
    [{ model: '' }, /model must be/],
    [{ version: '' }, /version must be/],
    [
      { protocol: 'v1', metadata: LINEAR_MODEL.metadata, version: '1' },
      /version is not part of the v1 protocol/,
    ],
    [{ protocol: 'v1' }, /metadata is required/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ retries: 1.5 }, /retries/],
    [{ retries: -1 }, /retries/],
    [{ retryBaseDelayMs: Number.NaN }, /retryBaseDelayMs/],
    [{ retryStatuses: [404] }, /retryStatuses/],
    [{ retryTimeouts: 'yes' }, /retryTimeouts/],
    [{ headers: { 'bad header': 'x' } }, /headers/],
    [{ headers: { a: 1 } }, /headers/],
    [{ fetch: 'fetch' }, /fetch must be a function/],
    [{ signatureName: 'serving_default' }, /tfserving protocol only/],
    [
      {
        metadata: {
          platform: 'x',
          inputs: [{ name: 'x', datatype: 'fp32', shape: [1] }],
          outputs: [],
        },
      },
      /metadata: inputs\[0\]: invalid datatype/,
    ],
    [{ metadata: { platform: 'x', inputs: [], outputs: [] } }, /at least one input/],
    [
      { timeout: 5 },
      /^createRemoteBackend: unknown option "timeout" \(did you mean "timeoutMs"\?\)$/,
    ],
  ] as Array<[Record<string, unknown>, RegExp]>)('rejects %j', (change, message) => {
    expect(() => createRemoteBackend({ ...base, ...change } as RemoteBackendOptions)).toThrow(
      TypeError,
    )
    expect(() => createRemoteBackend({ ...base, ...change } as RemoteBackendOptions)).toThrow(
      message,
    )
  })

  it('never echoes the URL, credentials included, in an option error', () => {
    expect(() => createRemoteBackend({ ...base, url: 'gopher://user:s3cret@host' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    )
  })
})

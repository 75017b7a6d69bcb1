import { createGate, type Gate, type GateOptions, type Plugin } from '@modelgate/core'
import { linearBackend } from '@modelgate/testkit/fixtures'
import {
  compactDecrypt,
  exportJWK,
  generateKeyPair,
  type CompactJWEHeaderParameters,
  type JWK,
} from 'jose'

/**
 * A gate over an adder `y = a + b` (`adder`, schema features `a` and `b`) whose `fetch` waits for
 * readiness; `calls()` counts the adder's runs.
 */
export function gateWith(
  plugins: Plugin[],
  extra: Omit<GateOptions, 'models' | 'plugins'> = {},
): { gate: Gate; calls: () => number } {
  const adder = linearBackend([1, 1])
  const gate = createGate({
    models: [
      {
        name: 'adder',
        backend: adder,
        schema: {
          input: 'x',
          features: [
            { name: 'a', type: 'numeric' },
            { name: 'b', type: 'numeric' },
          ],
        },
      },
    ],
    plugins,
    ...extra,
  })
  const ready = gate.ready()
  const fetch: Gate['fetch'] = async (request, env, executionContext) => {
    await ready
    return gate.fetch(request, env, executionContext)
  }
  return { gate: { ...gate, fetch }, calls: () => adder.calls }
}

export const inferBody = (a = 1, b = 2) =>
  JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [a, b] }] })

export const INFER_URL = 'http://gate.test/v2/models/adder/infer'

export function joseRequest(
  jwe: string,
  headers: Record<string, string> = {},
  url = INFER_URL,
): Request {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', ...headers },
    body: jwe,
  })
}

/** A client's ephemeral response key: `rjwk` for the request header, `open` for the answer. */
export interface ResponseKey {
  rjwk: JWK
  open(
    answer: Response | string,
  ): Promise<{ body: unknown; text: string; header: CompactJWEHeaderParameters }>
}

export async function responseKey(): Promise<ResponseKey> {
  const pair = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })
  return {
    rjwk: await exportJWK(pair.publicKey),
    async open(answer) {
      const jwe = typeof answer === 'string' ? answer : await answer.text()
      const { plaintext, protectedHeader } = await compactDecrypt(jwe, pair.privateKey, {
        keyManagementAlgorithms: ['ECDH-ES+A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
      })
      const text = new TextDecoder().decode(plaintext)
      return { body: text === '' ? undefined : JSON.parse(text), text, header: protectedHeader }
    },
  }
}

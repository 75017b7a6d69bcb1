import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Gate } from '@modelgate/core'
import { serveNode, type NodeServer } from '@modelgate/edge/node'
import { createStandIn, type StandIn } from '@modelgate/llm/testing'
import { SseDecoder } from '@modelgate/llm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, serve } from '../test/cli.js'
import { buildGate } from './build.js'

let standIn: StandIn
let upstream: NodeServer
let dir: string
const gates: Gate[] = []

beforeAll(async () => {
  standIn = createStandIn({ apiKey: 'sk-from-file' })
  upstream = await serveNode(standIn, { port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'mg-llm-config-'))
  await writeFile(join(dir, 'openai.key'), 'sk-from-file\n')
})

afterAll(async () => {
  for (const g of gates) await g.close()
  await upstream?.close()
  await rm(dir, { recursive: true, force: true })
})

const chat = (gate: Gate, model: string, content: string) =>
  gate.fetch(
    new Request('http://gate/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
    }),
  )

describe('openai and anthropic models in a config', () => {
  it('serves them on the LLM routes, masked by {"use":"mask"} and restored', async () => {
    const gate = await buildGate(
      {
        models: [
          {
            name: 'chat',
            backend: { type: 'openai', url: `${upstream.url}/v1`, apiKeyFile: 'openai.key' },
          },
          {
            name: 'claude',
            backend: { type: 'anthropic', url: upstream.url, apiKeyFile: 'openai.key' },
          },
        ],
        plugins: [{ use: 'mask' }],
      },
      dir,
    )
    gates.push(gate)
    const prompt = 'I am Ana Lopez, mail ana.lopez@example.org'
    const res = await chat(gate, 'chat', prompt)
    expect(res.status).toBe(200)
    expect((await res.json()).choices[0].message.content).toBe(prompt)
    const sent = JSON.stringify(standIn.calls.at(-1)!.body)
    expect(sent).not.toContain('ana.lopez@example.org')
    expect(sent).not.toContain('Ana Lopez')
    const messages = await gate.fetch(
      new Request('http://gate/v1/messages', {
        method: 'POST',
        body: JSON.stringify({
          model: 'claude',
          max_tokens: 100,
          messages: [{ role: 'user', content: prompt }],
        }),
      }),
    )
    expect((await messages.json()).content[0].text).toBe(prompt)
    const list = await (await gate.fetch(new Request('http://gate/v1/models'))).json()
    expect(list.models).toEqual(['chat', 'claude'])
  })

  it('takes the llm entry where the config puts it, with its budgets', async () => {
    const gate = await buildGate(
      {
        models: [
          {
            name: 'chat',
            backend: { type: 'openai', url: `${upstream.url}/v1`, apiKeyFile: 'openai.key' },
          },
        ],
        plugins: [
          { use: 'llm', budgets: [{ by: 'global', tokens: 10, perSeconds: 3600 }] },
          { use: 'mask' },
        ],
      },
      dir,
    )
    gates.push(gate)
    const res = await chat(
      gate,
      'chat',
      'a prompt well over ten tokens long, to be refused by the budget',
    )
    expect(res.status).toBe(429)
  })

  it('refuses what does not fit a large model, naming the field', async () => {
    const url = `${upstream.url}/v1`
    await expect(
      buildGate(
        {
          models: [
            {
              name: 'chat',
              backend: { type: 'openai', url },
              batching: { maxBatchSize: 2, maxDelayMs: 1 },
            },
          ],
        },
        dir,
      ),
    ).rejects.toThrow('models[0].batching: not for openai models')
    await expect(
      buildGate(
        { models: [{ name: 'chat', backend: { type: 'openai', url, apiKeyFile: 'missing.key' } }] },
        dir,
      ),
    ).rejects.toThrow('models[0].backend.apiKeyFile: file not found')
    await expect(
      buildGate(
        { models: [{ name: 'chat', backend: { type: 'anthropic', url, apikey: 'x' } }] },
        dir,
      ),
    ).rejects.toThrow('models[0].backend.apikey: unknown key')
  })
})

describe('modelgate serve --config with an openai model and {"use":"mask"}', () => {
  it('masks and restores plain and streamed answers on both runtimes, and exits 0 on SIGTERM', async () => {
    await buildCli()
    const config = join(dir, 'gate.json')
    await writeFile(
      config,
      JSON.stringify({
        models: [
          {
            name: 'chat',
            backend: { type: 'openai', url: `${upstream.url}/v1`, apiKeyFile: 'openai.key' },
          },
        ],
        plugins: [{ use: 'mask' }],
      }),
    )
    const prompt = 'Write to ana.lopez@example.org about card 4111 1111 1111 1111'
    for (const runtime of ['cloud', 'edge']) {
      const served = await serve(['--config', config, '--port', '0', '--runtime', runtime], dir)
      try {
        const ask = (stream: boolean) =>
          fetch(`${served.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'chat',
              stream,
              messages: [{ role: 'user', content: prompt }],
            }),
          })
        const plain = await (await ask(false)).json()
        expect(plain.choices[0].message.content).toBe(prompt)
        const decoder = new SseDecoder()
        let text = ''
        for await (const chunk of (await ask(true)).body!) {
          for (const e of decoder.push(chunk))
            if (e.data !== '[DONE]') text += JSON.parse(e.data).choices[0]?.delta.content ?? ''
        }
        expect(text).toBe(prompt)
        const sent = JSON.stringify(standIn.calls.slice(-2).map((c) => c.body))
        expect(sent).not.toContain('ana.lopez@example.org')
        expect(sent).not.toContain('4111 1111 1111 1111')
      } finally {
        expect((await served.stop()).code).toBe(0)
      }
    }
  }, 120_000)
})

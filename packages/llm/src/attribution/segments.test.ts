import { describe, expect, it } from 'vitest'
import { segmentPrompt } from './segments.js'

const chat = {
  model: 'chat',
  temperature: 0,
  messages: [
    { role: 'system', content: 'Answer from the notes. Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Note one: <EMAIL_1> owns Apollo.' },
        { type: 'image_url', image_url: { url: 'https://example.org/a.png' } },
        { type: 'text', text: 'Note two: <PERSON_1> wrote to <EMAIL_1>.\n\nSecond paragraph.' },
      ],
    },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 't', content: 'Tool says hi.' },
    { role: 'user', content: 'Who owns Apollo?' },
  ],
}

const all = (n: number) => new Uint8Array(n).fill(1)
const without = (n: number, ...drop: number[]) => {
  const m = all(n)
  for (const d of drop) m[d] = 0
  return m
}

describe('segmentPrompt', () => {
  it('cuts chat texts into sentences and leaves any subset out, the rest of the body as it was', () => {
    const p = segmentPrompt('chat', chat, 'sentences', false)
    expect(p.segments.map((s) => [s.message, s.role, s.text])).toEqual([
      [0, 'system', 'Answer from the notes. '],
      [0, 'system', 'Be brief.'],
      [1, 'user', 'Note one: <EMAIL_1> owns Apollo.'],
      [1, 'user', 'Note two: <PERSON_1> wrote to <EMAIL_1>.\n'],
      [1, 'user', 'Second paragraph.'],
      [3, 'tool', 'Tool says hi.'],
      [4, 'user', 'Who owns Apollo?'],
    ])
    expect(p.ablate(all(7))).toEqual(chat)
    const out = p.ablate(without(7, 1, 3)) as typeof chat
    expect(out.messages[0]!.content).toBe('Answer from the notes. ')
    expect((out.messages[1]!.content as Array<{ text?: string }>)[2]!.text).toBe(
      '\nSecond paragraph.',
    )
    expect(out.temperature).toBe(0)
    expect(chat.messages[0]!.content).toBe('Answer from the notes. Be brief.')
  })

  it('drops messages and parts left empty, keeps tool messages and calls, never sends no message', () => {
    const p = segmentPrompt('chat', chat, 'messages', false)
    expect(p.segments.map((s) => s.message)).toEqual([0, 1, 3, 4])
    expect(p.segments[1]!.text).toBe(
      'Note one: <EMAIL_1> owns Apollo.\nNote two: <PERSON_1> wrote to <EMAIL_1>.\n\nSecond paragraph.',
    )
    const out = p.ablate(without(4, 0, 1, 2)) as typeof chat
    expect(out.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'user'])
    // The image part stays when the texts around it are left out.
    expect(out.messages[0]!.content).toEqual([chat.messages[1]!.content[1]])
    expect(out.messages[2]!.content).toBe('')
    const bare = segmentPrompt(
      'chat',
      { messages: [{ role: 'user', content: 'Hi.' }] },
      'messages',
      false,
    )
    expect(bare.ablate(new Uint8Array(1)).messages).toEqual([{ role: 'user', content: '' }])
  })

  it('takes each text part and each paragraph as a document', () => {
    const p = segmentPrompt('chat', chat, 'documents', false)
    expect(p.segments.map((s) => s.text)).toEqual([
      'Answer from the notes. Be brief.',
      'Note one: <EMAIL_1> owns Apollo.',
      'Note two: <PERSON_1> wrote to <EMAIL_1>.\n\nSecond paragraph.',
      'Tool says hi.',
      'Who owns Apollo?',
    ])
    const prompt = segmentPrompt(
      'completions',
      { prompt: 'Doc A.\n\nDoc B.\n \nAsk.' },
      'documents',
      true,
    )
    expect(prompt.segments.map((s) => s.text)).toEqual(['Doc A.', 'Doc B.'])
    expect(prompt.ablate(Uint8Array.of(0, 1)).prompt).toBe('\n\nDoc B.\n \nAsk.')
  })

  it('credits each distinct placeholder wherever it occurs and leaves its type when it is out', () => {
    const p = segmentPrompt('chat', chat, 'entities', false)
    expect(p.segments.map((s) => s.text)).toEqual(['<EMAIL_1>', '<PERSON_1>'])
    const out = p.ablate(Uint8Array.of(0, 1)) as typeof chat
    const parts = out.messages[1]!.content as Array<{ text?: string }>
    expect(parts[0]!.text).toBe('Note one: <EMAIL> owns Apollo.')
    expect(parts[2]!.text).toBe('Note two: <PERSON_1> wrote to <EMAIL>.\n\nSecond paragraph.')
  })

  it('keeps the last segment in every perturbation with keepLast', () => {
    const p = segmentPrompt('chat', chat, 'sentences', true)
    expect(p.segments).toHaveLength(6)
    const out = p.ablate(new Uint8Array(6)) as typeof chat
    expect(out.messages).toEqual([
      { role: 'user', content: [chat.messages[1]!.content[1]] },
      chat.messages[2],
      { ...chat.messages[3], content: '' },
      chat.messages[4],
    ])
  })

  it('cuts Anthropic system prompts, text blocks and text documents, and never sends an empty conversation', () => {
    const body = {
      model: 'claude',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief. Cite notes.' }],
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'document',
              source: {
                type: 'text',
                media_type: 'text/plain',
                data: 'Apollo belongs to <PERSON_1>.',
              },
              title: 'Note',
            },
            { type: 'text', text: 'Who owns Apollo?' },
          ],
        },
      ],
    }
    const p = segmentPrompt('messages', body, 'documents', false)
    expect(p.segments.map((s) => [s.message, s.text])).toEqual([
      [-1, 'Be brief. Cite notes.'],
      [0, 'Apollo belongs to <PERSON_1>.'],
      [0, 'Who owns Apollo?'],
    ])
    const out = p.ablate(Uint8Array.of(0, 1, 0))
    expect(out.system).toBeUndefined()
    expect(out.messages).toEqual([{ role: 'user', content: [body.messages[0]!.content[0]] }])
    expect(p.ablate(new Uint8Array(3)).messages).toEqual([{ role: 'user', content: '.' }])
  })

  it('refuses completion prompts given as several strings', () => {
    expect(() => segmentPrompt('completions', { prompt: ['a', 'b'] }, 'sentences', false)).toThrow(
      /one string/,
    )
  })
})

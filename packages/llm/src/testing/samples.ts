/**
 * Personal data of each kind the LLM routes must never let reach an upstream, as the mask
 * plugin's detector finds it: a person's name, an e-mail address, a phone number, a card number
 * (Luhn-valid test number), a US SSN and an IBAN (checksum-valid test number). All fictitious.
 *
 * @example
 * ```ts
 * expect(JSON.stringify(standIn.calls[0]!.body)).not.toContain(SAMPLE_PII.email)
 * ```
 */
export const SAMPLE_PII = Object.freeze({
  name: 'Ana Lopez',
  email: 'ana.lopez@example.org',
  phone: '+1 415-555-2671',
  card: '4111 1111 1111 1111',
  ssn: '536-22-8745',
  iban: 'DE89 3704 0044 0532 0130 00',
})

/**
 * A prompt holding every value of {@link SAMPLE_PII} once.
 *
 * @example
 * ```ts
 * await openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: SAMPLE_PROMPT }] })
 * ```
 */
export const SAMPLE_PROMPT = `Hello, my name is ${SAMPLE_PII.name}, mail ${SAMPLE_PII.email} or call ${SAMPLE_PII.phone}. Card ${SAMPLE_PII.card}, SSN ${SAMPLE_PII.ssn}, IBAN ${SAMPLE_PII.iban}. Thanks!`

/**
 * One request body per LLM route, each carrying {@link SAMPLE_PROMPT} where that route carries a
 * prompt, for the model names `chat` (OpenAI-compatible) and `claude` (Anthropic), plain or
 * streamed.
 *
 * @example
 * ```ts
 * for (const [path, body] of Object.entries(SAMPLE_REQUESTS))
 *   await fetch(`${gateUrl}${path}`, { method: 'POST', body: JSON.stringify(body(true)) })
 * ```
 */
export const SAMPLE_REQUESTS: Readonly<
  Record<string, (stream: boolean) => Record<string, unknown>>
> = Object.freeze({
  '/v1/chat/completions': (stream: boolean) => ({
    model: 'chat',
    stream,
    messages: [{ role: 'user', content: SAMPLE_PROMPT }],
  }),
  '/v1/completions': (stream: boolean) => ({
    model: 'chat',
    stream,
    max_tokens: 64,
    prompt: SAMPLE_PROMPT,
  }),
  '/v1/responses': (stream: boolean) => ({ model: 'chat', stream, input: SAMPLE_PROMPT }),
  '/v1/messages': (stream: boolean) => ({
    model: 'claude',
    stream,
    max_tokens: 64,
    messages: [{ role: 'user', content: SAMPLE_PROMPT }],
  }),
})

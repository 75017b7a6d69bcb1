import { NgramModel, type NgramStep } from './ngram.js'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

const CORPUS = [
  'Thank you for your message. I will look into it and get back to you shortly.',
  'Here is a summary of the request. The details are listed below.',
  'Please confirm the information so that we can continue.',
]

/**
 * Options of {@link createStandIn}.
 *
 * @example
 * ```ts
 * const standIn = createStandIn({ seed: 7, maxSplit: 5, apiKey: 'sk-test' })
 * ```
 */
export interface StandInOptions {
  /** Seed of the random cuts of streamed bytes. Default 1. */
  seed?: number
  /** Largest piece of a streamed answer written at once, in bytes; pieces are cut at random. Default 7. */
  maxSplit?: number
  /** The key a call must carry (`Authorization: Bearer` or `x-api-key`); none by default. */
  apiKey?: string
  /** Answer this many calls with 503 before answering (retry tests). Default 0. */
  failFirst?: number
  /** Milliseconds between two streamed tokens. Default 0. */
  tokenDelayMs?: number
  /**
   * n-gram order. Default 6; 10 with `decode: 'continue'`, so that a masked name (`<PERSON_1>`,
   * five tokens) still tells one sentence from another in the context.
   */
  order?: number
  /**
   * How the model answers: `repeat` (default) decodes from the start of the last user or tool
   * message, so answers repeat it, placeholders included; `continue` reads the whole prompt (the
   * conversation's texts joined by newlines) token by token and continues it, like a base model,
   * so an answer depends on which parts of the prompt are present.
   */
  decode?: 'repeat' | 'continue'
}

/**
 * What the stand-in received and answered, for assertions.
 *
 * @example
 * ```ts
 * expect(JSON.stringify(standIn.calls.at(-1)!.body)).not.toContain('ana@example.org')
 * ```
 */
export interface StandInCall {
  path: string
  headers: Headers
  body: Json
  /** The text (or tool-call arguments) the model generated, before any gate restored it. */
  answer: string
}

/**
 * A stand-in upstream speaking the OpenAI and Anthropic protocols. See {@link createStandIn}.
 *
 * @example
 * ```ts
 * const res = await standIn.fetch(new Request('http://standin/v1/models'))
 * ```
 */
export interface StandIn {
  fetch(request: Request): Promise<Response>
  readonly calls: StandInCall[]
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((p) => {
      if (!isObject(p)) return ''
      if (typeof p.text === 'string') return p.text
      if (p.type === 'tool_result') return textOf(p.content)
      if (p.type === 'tool_use') return JSON.stringify(p.input)
      return ''
    })
    .join('\n')
}

interface Generated {
  steps: NgramStep[]
  text: string
  prompt: number[]
  lm: NgramModel
  /** The stop sequence the text was cut at. */
  stopped?: string
}

/**
 * The answer cut before the first of the request's stop sequences (OpenAI `stop`, Anthropic
 * `stop_sequences`), as servers do on the text: the tokens up to the one holding the cut stay
 * counted.
 */
function withStop(g: Generated, stop: unknown): Generated {
  const stops = (typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []).filter(
    (x): x is string => typeof x === 'string' && x !== '',
  )
  let cut = -1
  let stopped: string | undefined
  for (const x of stops) {
    const i = g.text.indexOf(x)
    if (i >= 0 && (cut < 0 || i < cut)) [cut, stopped] = [i, x]
  }
  if (cut < 0) return g
  const steps: NgramStep[] = []
  for (const step of g.steps) {
    if (NgramModel.text(steps.map((k) => k.token)).length >= cut) break
    steps.push(step)
  }
  return { ...g, steps, text: g.text.slice(0, cut), stopped }
}

const generated = new Map<string, Generated>()

/**
 * `repeat`: trains on the conversation (the focus text most) and echoes the focus text greedily.
 * `continue`: continues the conversation's text. The same conversation gives the same answer, so
 * answers are kept (a few hundred) and not recomputed: benchmarks then measure what is in front
 * of the model, not the stand-in's own work.
 */
function generate(
  texts: string[],
  focus: string,
  max: number,
  order: number,
  decode: 'repeat' | 'continue' = 'repeat',
  topK = 5,
): Generated {
  const key = JSON.stringify([texts, focus, max, order, decode, topK])
  let g = generated.get(key)
  if (!g) {
    if (generated.size >= 256) generated.clear()
    g =
      decode === 'continue'
        ? continuation(texts, max, order, topK)
        : train(texts, focus, max, order)
    generated.set(key, g)
  }
  return g
}

/** A model of the corpus only, before it reads a prompt. */
function corpusModel(order: number): NgramModel {
  const lm = new NgramModel(order)
  for (const c of CORPUS) lm.train(NgramModel.tokens(c))
  return lm
}

/** Reads the prompt (the texts joined by newlines) token by token and continues it greedily. */
function continuation(texts: string[], max: number, order: number, topK: number): Generated {
  const lm = corpusModel(order)
  const prompt = NgramModel.tokens(texts.join('\n'))
  prompt.forEach((t, i) => lm.observe(prompt.slice(0, i), t))
  const steps = lm.generate(prompt, max, topK)
  return { steps, text: NgramModel.text(steps.map((s) => s.token)), prompt, lm }
}

function train(texts: string[], focus: string, max: number, order: number): Generated {
  const lm = new NgramModel(order)
  for (const c of CORPUS) lm.train(NgramModel.tokens(c))
  for (const t of texts) if (t) lm.train(NgramModel.tokens(t))
  const focusTokens = NgramModel.tokens(focus)
  lm.train(focusTokens, 5)
  const seed = focusTokens.slice(0, Math.max(1, order - 1))
  const steps: NgramStep[] = []
  for (let i = 0; i < seed.length && steps.length < max; i++) {
    const history = seed.slice(0, i)
    steps.push({
      token: seed[i]!,
      logprob: lm.logprob(history, seed[i]!),
      top: lm.next(history).top,
    })
  }
  if (steps.length < max) steps.push(...lm.generate(seed, max - steps.length))
  return { steps, text: NgramModel.text(steps.map((s) => s.token)), prompt: focusTokens, lm }
}

/** Pieces of an answer's text, one per token, cut where a stop sequence cut the text. */
function piecesOf(g: Generated): Array<{ text: string; steps: NgramStep[] }> {
  let left = g.text.length
  return pieces(g.steps).map((p) => {
    const text = p.text.slice(0, Math.max(0, left))
    left -= p.text.length
    return { ...p, text }
  })
}

/** Splits generated tokens into pieces of whole characters (a token may end mid-character). */
function pieces(steps: NgramStep[]): Array<{ text: string; steps: NgramStep[] }> {
  const out: Array<{ text: string; steps: NgramStep[] }> = []
  let done = ''
  let group: NgramStep[] = []
  const all: number[] = []
  for (const s of steps) {
    all.push(s.token)
    group.push(s)
    const text = NgramModel.text(all)
    if (text.endsWith('\ufffd')) continue
    out.push({ text: text.slice(done.length), steps: group })
    done = text
    group = []
  }
  if (group.length > 0) out.push({ text: NgramModel.text(all).slice(done.length), steps: group })
  return out
}

const tokenText = (t: number) => NgramModel.text([t])
const bytesOf = (s: string) => [...new TextEncoder().encode(s)]

function openAiLogprobs(steps: NgramStep[], top: number): Json {
  return {
    content: steps.map((s) => ({
      token: tokenText(s.token),
      logprob: s.logprob,
      bytes: bytesOf(tokenText(s.token)),
      top_logprobs: s.top.slice(0, top).map((t) => ({
        token: tokenText(t.token),
        logprob: t.logprob,
        bytes: bytesOf(tokenText(t.token)),
      })),
    })),
  }
}

/**
 * Legacy completions logprobs, for the prompt (with `echo`) and the generated tokens. Echoed
 * prompt tokens are scored causally: each by a model of the corpus and the prompt before it.
 */
function completionLogprobs(
  prompt: number[],
  g: Generated,
  top: number,
  echo: boolean,
  order: number,
): Json {
  const tokens: string[] = []
  const logprobs: Array<number | null> = []
  const tops: Array<Record<string, number> | null> = []
  const offsets: number[] = []
  let offset = 0
  const add = (token: number, lp: number | null, alternatives: NgramStep['top'] | null) => {
    const t = tokenText(token)
    tokens.push(t)
    logprobs.push(lp)
    tops.push(
      alternatives
        ? Object.fromEntries(alternatives.slice(0, top).map((a) => [tokenText(a.token), a.logprob]))
        : null,
    )
    offsets.push(offset)
    offset += t.length
  }
  if (echo) for (const p of causal(prompt, order, top)) add(p.token, p.logprob, p.top)
  for (const s of g.steps) add(s.token, s.logprob, s.top)
  return { tokens, token_logprobs: logprobs, top_logprobs: tops, text_offset: offsets }
}

/**
 * Each token of a prompt scored by a model of the corpus and the prompt before it (the first
 * token has no score), as a language model reads its prompt.
 */
function causal(
  prompt: number[],
  order: number,
  top: number,
): Array<{ token: number; logprob: number | null; top: NgramStep['top'] | null }> {
  const lm = corpusModel(order)
  return prompt.map((token, i) => {
    const history = prompt.slice(0, i)
    const out =
      i === 0
        ? { token, logprob: null, top: null }
        : { token, logprob: lm.logprob(history, token), top: lm.next(history, top).top }
    lm.observe(history, token)
    return out
  })
}

/**
 * vLLM's `prompt_logprobs`: per prompt token (null for the first) a map from token id to its
 * log-probability, rank and text: the prompt's own token, and the `top` most likely ones.
 */
function promptLogprobs(prompt: number[], order: number, top: number): unknown[] {
  return causal(prompt, order, top).map((p) => {
    if (p.logprob === null) return null
    const entry = (token: number, logprob: number, rank: number) => [
      String(token),
      { logprob, rank, decoded_token: tokenText(token) },
    ]
    const ranked = p.top!.slice(0, top)
    const own = ranked.findIndex((t) => t.token === p.token)
    return Object.fromEntries([
      ...(own < 0 ? [entry(p.token, p.logprob, top + 1)] : []),
      ...ranked.map((t, i) => entry(t.token, t.logprob, i + 1)),
    ])
  })
}

/** Random cuts of a string's argument text, so placeholders are split inside tool-call deltas. */
function cuts(text: string, random: () => number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length;) {
    const n = 1 + Math.floor(random() * 6)
    out.push(text.slice(i, i + n))
    i += n
  }
  return out
}

/** The tool the request forces, if any: `tool_choice` `required`/`any`, or one named. */
function forcedTool(body: Json): Json | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : []
  if (tools.length === 0) return undefined
  const choice = body.tool_choice
  const fn = (t: Json) => (isObject(t.function) ? t.function : t)
  if (choice === 'required') return fn(tools[0]!)
  if (isObject(choice)) {
    if (choice.type === 'any') return fn(tools[0]!)
    const name = isObject(choice.function) ? choice.function.name : choice.name
    if (typeof name === 'string') return tools.map(fn).find((t) => t.name === name)
  }
  return undefined
}

/** Tool arguments: every string property of the tool's schema gets the generated text. */
function toolArguments(tool: Json, text: string): string {
  const schema = isObject(tool.parameters)
    ? tool.parameters
    : isObject(tool.input_schema)
      ? tool.input_schema
      : {}
  const props = isObject(schema.properties) ? Object.keys(schema.properties) : []
  const args: Json = {}
  for (const p of props.length > 0 ? props : ['text']) args[p] = text
  return JSON.stringify(args)
}

function embedding(text: string, dims = 8): number[] {
  const v = new Array<number>(dims).fill(0)
  for (const t of NgramModel.tokens(text)) v[t % dims]! += 1
  const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1
  return v.map((x) => x / norm)
}

/** Little-endian float32 bytes in base64, as OpenAI answers `encoding_format: 'base64'`. */
function base64Floats(values: number[]): string {
  const bytes = new Uint8Array(new Float32Array(values).buffer)
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/**
 * A stand-in upstream for tests and benchmarks: an OpenAI-compatible server
 * (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`) and Anthropic's
 * `/v1/messages`, as a Web fetch handler. Its model is an {@link NgramModel} over o200k trained on
 * the request's own conversation (plus a few sentences), decoding greedily from the start of the
 * last user or tool message, so it mostly repeats that message, placeholders included, and its
 * logprobs are the n-gram model's real ones; with `decode: 'continue'` it reads the whole prompt
 * and continues it instead. Stop sequences cut answers; legacy completions echo their prompt with
 * causal log-probabilities; chat answers vLLM's `prompt_logprobs` (with `continue_final_message`,
 * a last assistant message is continued). Streams are OpenAI chunks (one per token, tool-call
 * argument deltas cut at random) or Anthropic events, written in bytes cut at random boundaries,
 * so SSE lines, UTF-8 characters and placeholders arrive split. Every call is recorded.
 *
 * @example
 * ```ts
 * import { createStandIn } from '@modelgate/llm/testing'
 * import { serveNode } from '@modelgate/edge/node'
 *
 * const standIn = createStandIn()
 * const server = await serveNode(standIn, { port: 0 })
 * // upstream: { type: 'openai', url: `${server.url}/v1` }
 * ```
 */
export function createStandIn(options: StandInOptions = {}): StandIn {
  const random = rng(options.seed ?? 1)
  const maxSplit = options.maxSplit ?? 7
  const decode = options.decode ?? 'repeat'
  const order = options.order ?? (decode === 'continue' ? 10 : 6)
  const delay = options.tokenDelayMs ?? 0
  let failures = options.failFirst ?? 0
  const calls: StandInCall[] = []
  let ids = 0

  const sse = (events: Array<() => string | Promise<string>>): Response => {
    const encoder = new TextEncoder()
    let i = 0
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i >= events.length) return controller.close()
        if (delay > 0 && i > 0) await new Promise((r) => setTimeout(r, delay))
        const bytes = encoder.encode(await events[i++]!())
        for (let at = 0; at < bytes.length;) {
          const n = 1 + Math.floor(random() * maxSplit)
          controller.enqueue(bytes.slice(at, at + n))
          at += n
        }
      },
    })
    return new Response(stream, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    })
  }
  const data = (value: unknown, event?: string) =>
    `${event ? `event: ${event}\n` : ''}data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`

  /** The generated text, or the arguments of the tool the request forces, recorded in `call`. */
  function answer(
    body: Json,
    texts: string[],
    focus: Json | undefined,
    max: number,
    call: StandInCall,
  ) {
    const top = typeof body.top_logprobs === 'number' ? body.top_logprobs : 5
    const g = withStop(
      generate(texts, textOf(focus?.content), max, order, decode, Math.max(5, top)),
      body.stop ?? body.stop_sequences,
    )
    const tool = forcedTool(body)
    const args = tool ? toolArguments(tool, g.text) : undefined
    call.answer = args ?? g.text
    return { g, tool, args, promptTokens: NgramModel.tokens(texts.join('\n')).length }
  }

  function chat(body: Json, call: StandInCall): Response {
    const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : []
    const texts = messages.map((m) => textOf(m.content))
    // vLLM's continue_final_message: a last assistant message is continued, not answered.
    if (
      body.continue_final_message === true &&
      messages.at(-1)?.role === 'assistant' &&
      texts.length > 1
    )
      texts.splice(-2, 2, texts.at(-2)! + texts.at(-1)!)
    const focus = [...messages].reverse().find((m) => m.role === 'user' || m.role === 'tool')
    const max =
      typeof body.max_tokens === 'number'
        ? body.max_tokens
        : typeof body.max_completion_tokens === 'number'
          ? body.max_completion_tokens
          : 256
    const { g, tool, args, promptTokens } = answer(body, texts, focus, max, call)
    const finish = tool ? 'tool_calls' : !g.stopped && g.steps.length >= max ? 'length' : 'stop'
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: g.steps.length,
      total_tokens: promptTokens + g.steps.length,
    }
    const n = typeof body.n === 'number' ? body.n : 1
    const id = `chatcmpl-${++ids}`
    const head = {
      id,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: String(body.model),
    }
    const top = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0
    const toolCall = tool
      ? { id: `call_${ids}`, type: 'function', function: { name: tool.name, arguments: args } }
      : undefined
    if (body.stream !== true) {
      return json({
        ...head,
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: {
            role: 'assistant',
            content: tool ? null : g.text,
            ...(toolCall ? { tool_calls: [toolCall] } : {}),
            refusal: null,
          },
          logprobs: body.logprobs === true ? openAiLogprobs(g.steps, top) : null,
          finish_reason: finish,
        })),
        usage,
        ...(typeof body.prompt_logprobs === 'number'
          ? {
              prompt_logprobs: promptLogprobs(
                NgramModel.tokens(texts.join('\n')),
                order,
                body.prompt_logprobs,
              ),
            }
          : {}),
      })
    }
    const chunk = { ...head, object: 'chat.completion.chunk' }
    const events: Array<() => string> = []
    for (let index = 0; index < n; index++) {
      events.push(() =>
        data({
          ...chunk,
          choices: [
            {
              index,
              delta: { role: 'assistant', content: '' },
              logprobs: null,
              finish_reason: null,
            },
          ],
        }),
      )
      if (toolCall) {
        events.push(() =>
          data({
            ...chunk,
            choices: [
              {
                index,
                delta: {
                  tool_calls: [
                    {
                      index: 0,
                      id: toolCall.id,
                      type: 'function',
                      function: { name: tool!.name, arguments: '' },
                    },
                  ],
                },
                finish_reason: null,
              },
            ],
          }),
        )
        for (const piece of cuts(args!, random))
          events.push(() =>
            data({
              ...chunk,
              choices: [
                {
                  index,
                  delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] },
                  finish_reason: null,
                },
              ],
            }),
          )
      } else {
        for (const p of piecesOf(g))
          events.push(() =>
            data({
              ...chunk,
              choices: [
                {
                  index,
                  delta: { content: p.text },
                  logprobs: body.logprobs === true ? openAiLogprobs(p.steps, top) : null,
                  finish_reason: null,
                },
              ],
            }),
          )
      }
      events.push(() =>
        data({ ...chunk, choices: [{ index, delta: {}, logprobs: null, finish_reason: finish }] }),
      )
    }
    const so = body.stream_options
    if (isObject(so) && so.include_usage === true)
      events.push(() => data({ ...chunk, choices: [], usage }))
    events.push(() => data('[DONE]'))
    return sse(events)
  }

  function completions(body: Json, call: StandInCall): Response {
    const prompt =
      typeof body.prompt === 'string'
        ? body.prompt
        : Array.isArray(body.prompt)
          ? String(body.prompt[0] ?? '')
          : ''
    const max = typeof body.max_tokens === 'number' ? body.max_tokens : 16
    const top = typeof body.logprobs === 'number' ? body.logprobs : undefined
    const g = withStop(
      generate([prompt], prompt, max, order, decode, Math.max(5, top ?? 0)),
      body.stop,
    )
    const echo = body.echo === true
    const text = (echo ? prompt : '') + g.text
    call.answer = text
    const finish = !g.stopped && g.steps.length >= max ? 'length' : 'stop'
    const usage = {
      prompt_tokens: g.prompt.length,
      completion_tokens: g.steps.length,
      total_tokens: g.prompt.length + g.steps.length,
    }
    const head = {
      id: `cmpl-${++ids}`,
      object: 'text_completion',
      created: 1_700_000_000,
      model: String(body.model),
    }
    if (body.stream !== true) {
      return json({
        ...head,
        choices: [
          {
            index: 0,
            text,
            logprobs: top === undefined ? null : completionLogprobs(g.prompt, g, top, echo, order),
            finish_reason: finish,
          },
        ],
        usage,
      })
    }
    const events: Array<() => string> = []
    if (echo)
      events.push(() =>
        data({
          ...head,
          choices: [{ index: 0, text: prompt, logprobs: null, finish_reason: null }],
        }),
      )
    for (const p of piecesOf(g))
      events.push(() =>
        data({
          ...head,
          choices: [{ index: 0, text: p.text, logprobs: null, finish_reason: null }],
        }),
      )
    events.push(() =>
      data({ ...head, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish }] }),
    )
    const so = body.stream_options
    if (isObject(so) && so.include_usage === true)
      events.push(() => data({ ...head, choices: [], usage }))
    events.push(() => data('[DONE]'))
    return sse(events)
  }

  function embeddings(body: Json): Response {
    const inputs =
      typeof body.input === 'string'
        ? [body.input]
        : Array.isArray(body.input)
          ? body.input.map(String)
          : []
    const tokens = inputs.reduce((a, t) => a + NgramModel.tokens(t).length, 0)
    return json({
      object: 'list',
      data: inputs.map((t, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? base64Floats(embedding(t)) : embedding(t),
      })),
      model: String(body.model),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    })
  }

  /** OpenAI's Responses API: `input` as a string or items, function tools, typed stream events. */
  function responses(body: Json, call: StandInCall): Response {
    const items =
      typeof body.input === 'string'
        ? [{ role: 'user', content: body.input }]
        : Array.isArray(body.input)
          ? (body.input as Json[])
          : []
    const itemText = (i: Json) =>
      i.type === 'function_call_output' ? textOf(i.output) : textOf(i.content)
    const texts = [textOf(body.instructions), ...items.map(itemText)]
    const focus = [...items]
      .reverse()
      .find((i) => i.role === 'user' || i.type === 'function_call_output')
    const max = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : 256
    const { g, tool, args, promptTokens } = answer(
      body,
      texts,
      focus && { content: itemText(focus) },
      max,
      call,
    )
    const id = `resp_${++ids}`
    const usage = {
      input_tokens: promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: g.steps.length,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: promptTokens + g.steps.length,
    }
    const item = tool
      ? {
          type: 'function_call',
          id: `fc_${ids}`,
          call_id: `call_${ids}`,
          name: tool.name,
          arguments: args,
          status: 'completed',
        }
      : {
          type: 'message',
          id: `msg_${ids}`,
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: g.text, annotations: [] }],
        }
    const response = (status: string, output: unknown[], withUsage: boolean) => ({
      id,
      object: 'response',
      created_at: 1_700_000_000,
      status,
      model: String(body.model),
      output,
      incomplete_details: null,
      error: null,
      ...(withUsage ? { usage } : {}),
    })
    if (body.stream !== true) return json(response('completed', [item], true))
    let seq = 0
    const ev = (type: string, fields: Json) => () =>
      data({ type, sequence_number: seq++, ...fields }, type)
    const events: Array<() => string> = [
      ev('response.created', { response: response('in_progress', [], false) }),
      ev('response.in_progress', { response: response('in_progress', [], false) }),
    ]
    if (tool) {
      events.push(
        ev('response.output_item.added', {
          output_index: 0,
          item: { ...item, arguments: '', status: 'in_progress' },
        }),
      )
      for (const piece of cuts(args!, random))
        events.push(
          ev('response.function_call_arguments.delta', {
            item_id: item.id,
            output_index: 0,
            delta: piece,
          }),
        )
      events.push(
        ev('response.function_call_arguments.done', {
          item_id: item.id,
          output_index: 0,
          arguments: args,
        }),
      )
    } else {
      const part = { type: 'output_text', text: '', annotations: [] }
      events.push(
        ev('response.output_item.added', {
          output_index: 0,
          item: { ...item, status: 'in_progress', content: [] },
        }),
        ev('response.content_part.added', {
          item_id: item.id,
          output_index: 0,
          content_index: 0,
          part,
        }),
      )
      for (const p of piecesOf(g))
        events.push(
          ev('response.output_text.delta', {
            item_id: item.id,
            output_index: 0,
            content_index: 0,
            delta: p.text,
            logprobs: [],
          }),
        )
      events.push(
        ev('response.output_text.done', {
          item_id: item.id,
          output_index: 0,
          content_index: 0,
          text: g.text,
          logprobs: [],
        }),
        ev('response.content_part.done', {
          item_id: item.id,
          output_index: 0,
          content_index: 0,
          part: { ...part, text: g.text },
        }),
      )
    }
    events.push(
      ev('response.output_item.done', { output_index: 0, item }),
      ev('response.completed', { response: response('completed', [item], true) }),
    )
    return sse(events)
  }

  function messages(body: Json, call: StandInCall): Response {
    const msgs = Array.isArray(body.messages) ? (body.messages as Json[]) : []
    const texts = [textOf(body.system), ...msgs.map((m) => textOf(m.content))]
    const focus = [...msgs].reverse().find((m) => m.role === 'user')
    const max = typeof body.max_tokens === 'number' ? body.max_tokens : 256
    const { g, tool, args, promptTokens } = answer(body, texts, focus, max, call)
    const stop = tool
      ? 'tool_use'
      : g.stopped
        ? 'stop_sequence'
        : g.steps.length >= max
          ? 'max_tokens'
          : 'end_turn'
    const usage = { input_tokens: promptTokens, output_tokens: g.steps.length }
    const id = `msg_${++ids}`
    const block = tool
      ? { type: 'tool_use', id: `toolu_${ids}`, name: tool.name, input: JSON.parse(args!) }
      : { type: 'text', text: g.text }
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model: String(body.model),
      stop_sequence: g.stopped ?? null,
    }
    if (body.stream !== true)
      return json({ ...message, content: [block], stop_reason: stop, usage })
    const events: Array<() => string> = [
      () =>
        data(
          {
            type: 'message_start',
            message: {
              ...message,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
            },
          },
          'message_start',
        ),
      () =>
        data(
          {
            type: 'content_block_start',
            index: 0,
            content_block: tool ? { ...block, input: {} } : { type: 'text', text: '' },
          },
          'content_block_start',
        ),
      () => data({ type: 'ping' }, 'ping'),
    ]
    if (tool) {
      for (const piece of cuts(args!, random))
        events.push(() =>
          data(
            {
              type: 'content_block_delta',
              index: 0,
              delta: { type: 'input_json_delta', partial_json: piece },
            },
            'content_block_delta',
          ),
        )
    } else {
      for (const p of piecesOf(g))
        events.push(() =>
          data(
            { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p.text } },
            'content_block_delta',
          ),
        )
    }
    events.push(
      () => data({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
      () =>
        data(
          {
            type: 'message_delta',
            delta: { stop_reason: stop, stop_sequence: g.stopped ?? null },
            usage: { output_tokens: usage.output_tokens },
          },
          'message_delta',
        ),
      () => data({ type: 'message_stop' }, 'message_stop'),
    )
    return sse(events)
  }

  async function fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname
    if (options.apiKey !== undefined) {
      const auth = request.headers.get('authorization') ?? ''
      const key =
        request.headers.get('x-api-key') ?? (auth.startsWith('Bearer ') ? auth.slice(7) : '')
      if (key !== options.apiKey)
        return json({ error: { message: 'invalid api key', type: 'authentication_error' } }, 401)
    }
    if (request.method === 'GET' && path.endsWith('/models'))
      return json({
        object: 'list',
        data: [{ id: 'standin', object: 'model', created: 1_700_000_000, owned_by: 'test' }],
      })
    if (request.method !== 'POST') return json({ error: { message: 'not found' } }, 404)
    let body: Json
    try {
      const parsed: unknown = await request.json()
      if (!isObject(parsed)) throw new Error('not an object')
      body = parsed
    } catch {
      return json(
        { error: { message: 'body must be a JSON object', type: 'invalid_request_error' } },
        400,
      )
    }
    const call: StandInCall = { path, headers: request.headers, body, answer: '' }
    calls.push(call)
    if (failures > 0) {
      failures--
      return json({ error: { message: 'overloaded', type: 'overloaded_error' } }, 503)
    }
    if (path.endsWith('/chat/completions')) return chat(body, call)
    if (path.endsWith('/completions')) return completions(body, call)
    if (path.endsWith('/embeddings')) return embeddings(body)
    if (path.endsWith('/messages/count_tokens')) {
      const texts = [
        textOf(body.system),
        ...(Array.isArray(body.messages) ? body.messages : []).map((m) =>
          textOf(isObject(m) ? m.content : ''),
        ),
      ]
      return json({ input_tokens: NgramModel.tokens(texts.join('\n')).length })
    }
    if (path.endsWith('/messages')) return messages(body, call)
    if (path.endsWith('/responses')) return responses(body, call)
    return json({ error: { message: `no route ${path}` } }, 404)
  }

  return { fetch, calls }
}

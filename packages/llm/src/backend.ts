import { BadGatewayError, BadRequestError, type ModelBackend, type Tensor } from '@modelgate/core'
import type { LlmUpstream } from './types.js'

const decoder = new TextDecoder()

/**
 * A large model as an Open Inference Protocol model, so it sits in the gate's model registry
 * beside tensor models (policies, rate limits and audit name it like any model, and `GET
 * /v2/models/{m}` describes it): one `BYTES` input `text_input`, one `BYTES` output
 * `text_output`, as in KServe's and Triton's text-generation models. `infer` sends each prompt as
 * one user message and answers the text. The {@link llm} plugin registers one per model.
 *
 * @example
 * ```ts
 * const backend = llmBackend(createUpstream({ type: 'openai', url: 'http://127.0.0.1:8000/v1' }, 'chat'))
 * const [out] = await backend.infer([{ name: 'text_input', datatype: 'BYTES', shape: [1], data: ['Hello'] }])
 * ```
 */
export function llmBackend(upstream: LlmUpstream, maxTokens = 1024): ModelBackend {
  return {
    async metadata() {
      return {
        platform: `llm-${upstream.protocol}`,
        inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [-1] }],
        outputs: [{ name: 'text_output', datatype: 'BYTES', shape: [-1] }],
        parameters: { upstream_model: upstream.model },
      }
    },
    async ready() {
      return true
    },
    async infer(inputs: Tensor[], options = {}): Promise<Tensor[]> {
      const input = inputs.find((t) => t.name === 'text_input')
      if (!input || !Array.isArray(input.data))
        throw new BadRequestError('input "text_input" (BYTES) is required')
      const signal = options.signal ?? new AbortController().signal
      const out: string[] = []
      for (const prompt of input.data) {
        const messages = [{ role: 'user', content: prompt }]
        const anthropic = upstream.protocol === 'anthropic'
        const result = await upstream.send({
          path: anthropic ? '/messages' : '/chat/completions',
          body: anthropic ? { messages, max_tokens: maxTokens } : { messages },
          stream: false,
          signal,
        })
        try {
          if (!result.response.ok)
            throw new BadGatewayError(
              `the model server answered ${result.response.status}`,
              'upstream_error',
            )
          const answer = JSON.parse(decoder.decode(await result.response.arrayBuffer())) as {
            choices?: Array<{ message?: { content?: unknown } }>
            content?: Array<{ type?: string; text?: unknown }>
          }
          const text = anthropic
            ? (answer.content ?? []).map((b) => (b.type === 'text' ? String(b.text) : '')).join('')
            : answer.choices?.[0]?.message?.content
          out.push(typeof text === 'string' ? text : '')
        } finally {
          result.done()
        }
      }
      return [{ name: 'text_output', datatype: 'BYTES', shape: [out.length], data: out }]
    },
  }
}

// The prompt attributions page: sends a chat prompt to the gate's POST /v1/explain/chat/completions
// and shows the answer with each segment of the prompt tinted by how much it drove it.

interface PromptConfig {
  title: string
  apiBase?: string
}

interface Segment {
  index: number
  message: number
  role: string
  text: string
  value: number
  standard_error?: number
}

interface Explanation {
  method: string
  unit: string
  score: string
  segments: Segment[]
  ranking: number[]
  base: number | null
  full: number
  calls: number
  max_calls: number
}

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id)
  if (!node) throw new Error(`#${id} missing from the page`)
  return node as T
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className) node.className = className
  return node
}

let apiBase = ''

async function loadModels(): Promise<void> {
  const select = byId<HTMLSelectElement>('model')
  const res = await fetch(`${apiBase}/v1/models`, { headers: { accept: 'application/json' } })
  const body = (await res.json().catch(() => ({}))) as { data?: Array<{ id?: unknown }> }
  const names = (body.data ?? [])
    .map((m) => m.id)
    .filter((id): id is string => typeof id === 'string')
  select.replaceChildren(...names.map((n) => Object.assign(element('option', n), { value: n })))
  byId('model-line').textContent =
    names.length > 0
      ? `Prompts go to ${apiBase}/v1/explain/chat/completions, masked before they leave the gate.`
      : 'This gate serves no large model (GET /v1/models lists none).'
}

function request(): Record<string, unknown> {
  const system = byId<HTMLTextAreaElement>('system').value.trim()
  const messages = [
    ...(system ? [{ role: 'system', content: system }] : []),
    { role: 'user', content: byId<HTMLTextAreaElement>('prompt').value },
  ]
  return {
    model: byId<HTMLSelectElement>('model').value,
    messages,
    max_tokens: Number(byId<HTMLInputElement>('max-tokens').value),
    explain: {
      unit: byId<HTMLSelectElement>('unit').value,
      method: byId<HTMLSelectElement>('method').value,
      score: byId<HTMLSelectElement>('score').value,
      calls: Number(byId<HTMLInputElement>('calls').value),
      keepLast: byId<HTMLInputElement>('keep-last').checked,
    },
  }
}

/** A tint by the value's share of the largest: green supports the answer, red opposes it. */
function tint(value: number, largest: number): string {
  const share = largest > 0 ? Math.min(1, Math.abs(value) / largest) : 0
  const alpha = (0.08 + 0.55 * share).toFixed(2)
  return value >= 0 ? `rgba(30, 123, 74, ${alpha})` : `rgba(180, 35, 24, ${alpha})`
}

const number = (v: number) => (Math.abs(v) >= 0.001 || v === 0 ? v.toFixed(3) : v.toExponential(2))

function show(answer: string, e: Explanation): void {
  byId('answer').textContent = answer
  byId('answer-box').hidden = false
  byId('attribution-meta').textContent =
    `${e.method} over ${e.segments.length} ${e.unit}, scored by ${e.score}; ` +
    `whole prompt ${number(e.full)}` +
    (e.base === null ? '' : `, empty prompt ${number(e.base)}`) +
    ` · ${e.calls} of ${e.max_calls} upstream calls`
  const largest = Math.max(0, ...e.segments.map((s) => Math.abs(s.value)))
  const rank = new Map(e.ranking.map((index, i) => [index, i + 1]))
  const box = byId('segments')
  box.replaceChildren()
  let message: number | undefined
  for (const s of e.segments) {
    if (message !== undefined && s.message !== message) box.append(element('br'), element('br'))
    message = s.message
    const span = element('span', s.text, 'prompt-segment')
    span.style.backgroundColor = tint(s.value, largest)
    span.title = `${s.role} · value ${number(s.value)} · rank ${rank.get(s.index)}`
    span.dataset.rank = String(rank.get(s.index))
    span.append(element('sup', `#${rank.get(s.index)}`))
    box.append(span)
  }
  const table = byId<HTMLTableElement>('segment-table')
  const head = element('tr')
  for (const h of ['Rank', 'Value', 'Role', 'Segment']) head.append(element('th', h))
  const rows = e.ranking.map((index, i) => {
    const s = e.segments[index]!
    const row = element('tr')
    row.append(
      element('td', String(i + 1), 'num'),
      element(
        'td',
        number(s.value) + (s.standard_error !== undefined ? ` ± ${number(s.standard_error)}` : ''),
        'num',
      ),
      element('td', s.role),
      element('td', s.text.trim()),
    )
    return row
  })
  table.replaceChildren(element('thead'), element('tbody'))
  table.tHead!.append(head)
  table.tBodies[0]!.append(...rows)
  byId('attribution-box').hidden = false
}

async function submit(): Promise<void> {
  const status = byId('status')
  const error = byId('error')
  const button = byId<HTMLButtonElement>('submit')
  error.hidden = true
  button.disabled = true
  status.textContent = 'Explaining: the gate asks the model once per perturbed prompt…'
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const token = byId<HTMLInputElement>('token').value.trim()
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${apiBase}/v1/explain/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(request()),
    })
    const body = (await res.json().catch(() => ({}))) as {
      choices?: Array<{ message?: { content?: string | null } }>
      explanation?: Explanation
      error?: string
      code?: string
    }
    if (!res.ok || !body.explanation) {
      throw new Error(
        `${res.status} ${body.code ?? ''}: ${body.error ?? 'the gate gave no explanation'}`,
      )
    }
    show(body.choices?.[0]?.message?.content ?? '', body.explanation)
    status.textContent = 'Done.'
    document.body.dataset.explained = 'true'
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e)
    error.hidden = false
    status.textContent = 'Failed.'
  } finally {
    button.disabled = false
  }
}

async function main(): Promise<void> {
  const res = await fetch('./config.json', { headers: { accept: 'application/json' } })
  const config = (await res.json()) as PromptConfig
  apiBase = config.apiBase ?? ''
  document.title = `${config.title}: prompt attributions`
  await loadModels()
  byId<HTMLFormElement>('prompt-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void submit()
  })
  document.body.dataset.ready = 'true'
}

void main()

import { drawWaterfall, formatValue, signed } from './waterfall.js'

interface Field {
  name: string
  kind: 'numeric' | 'categorical' | 'text' | 'string'
  description: string
  pii: string | null
  modelInput: boolean
  required: boolean
  min?: number | null
  max?: number | null
  categories?: string[]
  text?: boolean
}

interface Config {
  title: string
  model: string
  predictUrl: string
  explainUrl: string
  fields: Field[]
  sample: Record<string, unknown>
  decision: { output: string; approveBelow: number; declineAtOrAbove: number } | null
  roles: Array<{ id: string; label: string; description: string }>
  devTokenUrl: string | null
  devAuditUrl: string | null
  explainParameters: Record<string, unknown>
}

interface WireExplanation {
  output: string
  link: string
  base_values: number[]
  values: number[][]
  feature_names: string[]
  data: unknown[][]
  method: string
}

interface Outcome {
  requestId: string | null
  prediction: Record<string, unknown>
  explanation: WireExplanation | undefined
  explainNote: string
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id)
  if (!node) throw new Error(`#${id} missing from the page`)
  return node as T
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v)
  if (text !== undefined) node.textContent = text
  return node
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
  }
}

const tokens = new Map<string, string>()
let config: Config
let shown = false
let busy = false

async function main(): Promise<void> {
  const res = await fetch('./config.json', { headers: { accept: 'application/json' } })
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`)
  config = (await res.json()) as Config
  document.title = config.title
  $('title').textContent = config.title
  $('model-line').textContent =
    `Model “${config.model}” · records go to ${config.predictUrl} and ${config.explainUrl}`
  buildRoles()
  buildFields()
  fill(config.sample)
  const form = $<HTMLFormElement>('application')
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void submit()
  })
  $('reset').addEventListener('click', () => fill(config.sample))
  $('paste-apply').addEventListener('click', applyPaste)
  $<HTMLTextAreaElement>('paste-json').value = JSON.stringify(config.sample, null, 2)
  document.body.dataset.ready = 'true'
}

function buildRoles(): void {
  const box = $('roles')
  const help = $('roles-help')
  if (config.roles.length === 0 || !config.devTokenUrl) {
    help.textContent = 'Requests carry this bearer token (leave empty for an open gate).'
    const label = make('label', { for: 'token' }, 'Bearer token')
    const input = make('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
    })
    box.append(label, input)
    return
  }
  $('dev-warning').hidden = false
  help.textContent = `Each role gets a development token from ${config.devTokenUrl}; the gate's access policy decides what it may see.`
  config.roles.forEach((role, i) => {
    const id = `role-${role.id}`
    const wrap = make('div', { class: 'role' })
    const input = make('input', { type: 'radio', name: 'role', id, value: role.id })
    if (i === 0) input.checked = true
    input.addEventListener('change', () => {
      if (shown && !busy) void submit()
    })
    const label = make('label', { for: id })
    label.append(make('span', { class: 'role-name' }, role.label))
    if (role.description) label.append(make('span', { class: 'role-desc' }, role.description))
    wrap.append(input, label)
    box.append(wrap)
  })
}

function buildFields(): void {
  const grid = $('fields')
  for (const f of config.fields) {
    const id = `field-${f.name}`
    const wrap = make('div', { class: f.kind === 'text' ? 'field wide' : 'field' })
    const label = make('label', { for: id }, f.name.replaceAll('_', ' '))
    if (f.required) label.append(make('span', { class: 'req', 'aria-hidden': 'true' }, ' *'))
    const hints: string[] = []
    const hintId = `${id}-hint`
    let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement
    if (f.kind === 'categorical') {
      control = make('select', { id, name: f.name })
      if (!f.required) control.append(make('option', { value: '' }, '—'))
      for (const c of f.categories ?? [])
        control.append(make('option', { value: c }, c.replaceAll('_', ' ')))
    } else if (f.kind === 'text') {
      control = make('textarea', { id, name: f.name, rows: '3' })
    } else if (f.kind === 'numeric') {
      control = make('input', {
        id,
        name: f.name,
        type: 'number',
        step: 'any',
        inputmode: 'decimal',
      })
      if (f.min !== null && f.min !== undefined) control.setAttribute('min', String(f.min))
      if (f.max !== null && f.max !== undefined) control.setAttribute('max', String(f.max))
    } else {
      control = make('input', { id, name: f.name, type: 'text', autocomplete: 'off' })
    }
    control.required = f.required
    if (f.description) hints.push(f.description)
    if (f.pii) hints.push(`Personal data (${f.pii}); never reaches the model`)
    else if (f.text) hints.push('Free text, scanned for personal data')
    else if (!f.modelInput) hints.push('Not a model input')
    wrap.append(label)
    if (f.pii || f.text)
      wrap.append(make('span', { class: 'badge', 'aria-hidden': 'true' }, f.pii ?? 'free text'))
    wrap.append(control)
    if (hints.length > 0) {
      wrap.append(make('p', { id: hintId, class: 'hint' }, hints.join('. ')))
      control.setAttribute('aria-describedby', hintId)
    }
    grid.append(wrap)
  }
}

function fill(record: Record<string, unknown>): void {
  for (const f of config.fields) {
    const control = document.getElementById(`field-${f.name}`) as HTMLInputElement | null
    if (!control) continue
    const v = record[f.name]
    control.value = v === undefined || v === null ? '' : String(v)
  }
}

function applyPaste(): void {
  const status = $('paste-status')
  try {
    const parsed = JSON.parse($<HTMLTextAreaElement>('paste-json').value) as unknown
    const record = Array.isArray((parsed as { instances?: unknown }).instances)
      ? (parsed as { instances: unknown[] }).instances[0]
      : parsed
    if (!record || typeof record !== 'object' || Array.isArray(record))
      throw new Error('not an object')
    fill(record as Record<string, unknown>)
    status.textContent = 'The form now holds the pasted application.'
  } catch (error) {
    status.textContent = `Could not read that JSON: ${(error as Error).message}`
  }
}

function readForm(): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  for (const f of config.fields) {
    const control = document.getElementById(`field-${f.name}`) as HTMLInputElement | null
    if (!control) continue
    const raw = control.value.trim()
    if (raw === '') continue
    record[f.name] = f.kind === 'numeric' ? Number(raw) : raw
  }
  return record
}

function selectedRole(): string | undefined {
  return document.querySelector<HTMLInputElement>('input[name="role"]:checked')?.value
}

async function bearer(): Promise<string | undefined> {
  const role = selectedRole()
  if (role === undefined || !config.devTokenUrl) {
    const typed = (document.getElementById('token') as HTMLInputElement | null)?.value.trim()
    return typed || undefined
  }
  const cached = tokens.get(role)
  if (cached) return cached
  const res = await fetch(config.devTokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: role }),
  })
  const body = (await res.json().catch(() => ({}))) as { token?: string; error?: string }
  if (!res.ok || typeof body.token !== 'string')
    throw new HttpError(
      res.status,
      `development token for ${role}: ${body.error ?? `HTTP ${res.status}`}`,
      undefined,
    )
  tokens.set(role, body.token)
  return body.token
}

async function post(
  url: string,
  body: unknown,
  token: string | undefined,
): Promise<{ json: Record<string, unknown>; requestId: string | null }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
  }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (!res.ok) {
    throw new HttpError(
      res.status,
      typeof json.error === 'string' ? json.error : `HTTP ${res.status}`,
      typeof json.code === 'string' ? json.code : undefined,
    )
  }
  return { json, requestId: res.headers.get('x-request-id') }
}

async function run(record: Record<string, unknown>): Promise<Outcome> {
  const token = await bearer()
  const instances = [record]
  let explainNote = ''
  try {
    const { json, requestId } = await post(
      config.explainUrl,
      { instances, parameters: config.explainParameters },
      token,
    )
    const predictions = json.predictions as Array<Record<string, unknown>>
    const explanations = json.explanations as WireExplanation[] | undefined
    return {
      requestId,
      prediction: predictions[0] ?? {},
      explanation: explanations?.[0],
      explainNote,
    }
  } catch (error) {
    if (!(error instanceof HttpError) || (error.status !== 403 && error.status !== 404)) throw error
    explainNote =
      error.status === 403
        ? `The access policy does not let this role see explanations (${error.code ?? 'forbidden'}), so only the prediction is shown.`
        : 'This gate has no explain extension, so only the prediction is shown.'
  }
  const { json, requestId } = await post(config.predictUrl, { instances }, token)
  const predictions = json.predictions as Array<Record<string, unknown>>
  return { requestId, prediction: predictions[0] ?? {}, explanation: undefined, explainNote }
}

async function submit(): Promise<void> {
  if (busy) return
  const form = $<HTMLFormElement>('application')
  if (!form.reportValidity()) return
  busy = true
  const results = $('results')
  results.setAttribute('aria-busy', 'true')
  $('error').hidden = true
  const role = selectedRole()
  $('status').textContent = `Asking the gate${role ? ` as ${role}` : ''}…`
  const record = readForm()
  try {
    const outcome = await run(record)
    renderDecision(outcome)
    renderAttributions(outcome)
    renderMasking(record, outcome)
    await renderAudit(outcome)
    $('status').textContent = `Answered${role ? ` for role ${role}` : ''}.`
    shown = true
    document.body.dataset.role = role ?? ''
    document.body.dataset.state = 'answered'
  } catch (error) {
    for (const id of ['decision', 'attributions', 'masking', 'audit']) $(id).hidden = true
    const box = $('error')
    box.hidden = false
    box.textContent =
      error instanceof HttpError
        ? `The gate refused: HTTP ${error.status}${error.code ? ` (${error.code})` : ''}: ${error.message}`
        : `Request failed: ${(error as Error).message}`
    $('status').textContent = 'No result.'
    document.body.dataset.state = 'error'
  } finally {
    busy = false
    results.removeAttribute('aria-busy')
  }
}

function renderDecision(outcome: Outcome): void {
  const box = $('decision')
  box.hidden = false
  const d = config.decision
  const output =
    d?.output ??
    Object.keys(outcome.prediction).find((k) => typeof outcome.prediction[k] === 'number')
  const p = output ? outcome.prediction[output] : undefined
  const label = $('decision-label')
  if (typeof p !== 'number') {
    label.textContent = 'No probability in the response'
    box.className = 'decision'
    return
  }
  $('decision-probability').textContent =
    `${output!.replaceAll('_', ' ')}: ${(p * 100).toFixed(1)} %`
  if (!d) {
    label.textContent = 'Prediction'
    box.className = 'decision'
    $('decision-rule').textContent = ''
    return
  }
  const verdict = p < d.approveBelow ? 'approve' : p >= d.declineAtOrAbove ? 'decline' : 'refer'
  label.textContent = { approve: 'Approve', refer: 'Refer to an underwriter', decline: 'Decline' }[
    verdict
  ]
  box.className = `decision ${verdict}`
  box.dataset.verdict = verdict
  const pct = (v: number) => `${(v * 100).toFixed(0)} %`
  $('decision-rule').textContent =
    `Approve below ${pct(d.approveBelow)}, decline from ${pct(d.declineAtOrAbove)}, refer in between.`
}

function renderAttributions(outcome: Outcome): void {
  const box = $('attributions')
  const chart = $('waterfall')
  const table = $<HTMLTableElement>('attributions-table')
  chart.replaceChildren()
  table.replaceChildren()
  box.hidden = false
  const e = outcome.explanation
  if (!e) {
    $('attributions-note').textContent = outcome.explainNote || 'The response held no explanation.'
    $('attributions-table-box').hidden = true
    box.dataset.kind = 'none'
    return
  }
  box.dataset.kind = 'waterfall'
  $('attributions-table-box').hidden = false
  const values = e.values[0] ?? []
  const data = e.data[0] ?? []
  const base = e.base_values[0] ?? 0
  $('attributions-note').textContent =
    `${e.method.replaceAll('_', ' ')} attributions of ${e.output}${e.link === 'logit' ? ' in log-odds' : ''}: ` +
    'each bar moves the prediction from the average over the background data to this applicant’s value. Red raises the output, blue lowers it.'
  chart.append(
    drawWaterfall({
      featureNames: e.feature_names,
      values,
      data,
      baseValue: base,
      link: e.link,
      output: e.output,
    }),
  )
  table.append(make('caption', {}, `Attributions of ${e.output} (base value ${base.toFixed(3)})`))
  const head = make('tr')
  for (const h of ['Feature', 'Value', 'Attribution']) head.append(make('th', { scope: 'col' }, h))
  table.appendChild(make('thead')).append(head)
  const body = table.appendChild(make('tbody'))
  e.feature_names.forEach((name, i) => {
    const tr = make('tr')
    tr.append(
      make('th', { scope: 'row' }, name),
      make('td', {}, formatValue(data[i])),
      make('td', {}, signed(values[i] ?? 0)),
    )
    body.append(tr)
  })
}

const ENTITY_IN_TEXT = /<([A-Z][A-Z_]+)>|\b([A-Z][A-Z_]+)_[0-9a-f]{8,}\b/g

function maskingStyle(value: string, sent: string): string {
  if (/^enc:v[12]:/.test(value)) return 'encrypted (AES-256-GCM token)'
  if (/^<[A-Z_]+>$/.test(value)) return 'replaced by its entity type'
  if (/^[A-Z][A-Z_]+_[0-9a-f]{8,}$/.test(value))
    return 'pseudonymised (reversible through the token vault)'
  if (value.includes('*')) return 'partly hidden'
  const shape = (s: string) =>
    s.replace(/[0-9]/g, '9').replace(/[a-z]/g, 'a').replace(/[A-Z]/g, 'A')
  if (value.length === sent.length && shape(value) === shape(sent))
    return 'format-preserving encryption (same shape, other digits)'
  return 'masked'
}

function renderMasking(record: Record<string, unknown>, outcome: Outcome): void {
  const box = $('masking')
  const table = $<HTMLTableElement>('masking-table')
  table.replaceChildren()
  box.hidden = false
  const fields = config.fields.filter((f) => !f.modelInput)
  const echoed = fields.some((f) => f.name in outcome.prediction)
  const role = selectedRole()
  if (!echoed) {
    $('masking-note').textContent =
      'The gate does not echo the record, so what it masked cannot be shown here (add the echoRecords plugin inside the mask plugin).'
    box.dataset.echo = 'false'
    return
  }
  box.dataset.echo = 'true'
  $('masking-note').textContent =
    'Personal fields are masked before the model and everything after it sees them. Masked values are revealed only where the access policy grants this role unmask:<field>.'
  table.append(make('caption', { class: 'sr-only' }, 'Fields sent, values returned and why'))
  const head = make('tr')
  for (const h of ['Field', 'Sent', 'Returned', 'Why']) head.append(make('th', { scope: 'col' }, h))
  table.appendChild(make('thead')).append(head)
  const body = table.appendChild(make('tbody'))
  for (const f of fields) {
    const sent = record[f.name]
    const returned = outcome.prediction[f.name]
    let state: string
    let why: string
    if (returned === undefined) {
      state = 'absent'
      why = 'Not returned.'
    } else if (f.pii) {
      if (returned === sent) {
        state = 'clear'
        why = `${f.pii}, shown in clear: the policy grants ${role ?? 'this caller'} unmask:${f.name}.`
      } else {
        state = 'masked'
        why = `${f.pii} (tagged in the schema), ${maskingStyle(String(returned), String(sent))}; not revealed to ${role ?? 'this caller'} (no unmask:${f.name} grant, or the masking is irreversible).`
      }
    } else if (f.text) {
      if (returned === sent) {
        state = 'clear'
        why = 'Free text, returned as sent (this role may unmask it, or it held no personal data).'
      } else {
        state = 'masked'
        const types = new Set<string>()
        for (const m of String(returned).matchAll(ENTITY_IN_TEXT)) types.add(m[1] ?? m[2]!)
        if (/enc:v[12]:/.test(String(returned))) types.add('encrypted entities')
        why = `Free text scanned for personal data${types.size ? `: ${[...types].join(', ')} masked` : '; entities masked'}.`
      }
    } else {
      state = returned === sent ? 'plain' : 'masked'
      why = returned === sent ? 'Not personal data: passed through.' : 'Changed by the gate.'
    }
    const tr = make('tr', { 'data-field': f.name, 'data-state': state })
    tr.append(
      make('th', { scope: 'row' }, f.name),
      make('td', { class: 'value' }, formatValue(sent)),
      make('td', { class: 'value returned' }, formatValue(returned)),
    )
    const cell = make('td')
    cell.append(
      make(
        'span',
        { class: `chip ${state}` },
        { masked: 'masked', clear: 'in clear', plain: 'plain', absent: '–' }[state] ?? state,
      ),
      ` ${why}`,
    )
    tr.append(cell)
    body.append(tr)
  }
}

async function renderAudit(outcome: Outcome): Promise<void> {
  const box = $('audit')
  const list = $('audit-list')
  list.replaceChildren()
  box.hidden = false
  const add = (term: string, value: string, key: string) => {
    list.append(make('dt', {}, term), make('dd', { 'data-key': key }, value))
  }
  add('Request id', outcome.requestId ?? 'not sent by the gate', 'request-id')
  if (!config.devAuditUrl || !outcome.requestId) {
    add('Audit record', 'Filed by the audit plugin under this request id.', 'record')
    return
  }
  const res = await fetch(`${config.devAuditUrl}/${encodeURIComponent(outcome.requestId)}`, {
    headers: { accept: 'application/json' },
  })
  if (!res.ok) {
    add('Audit record', `Not found (HTTP ${res.status}).`, 'record')
    return
  }
  const r = (await res.json()) as {
    seq: number
    hash: string
    principal: string | null
    action: string
    decision: { allow: boolean; reasons: string[] } | null
    facts: { masking?: Record<string, number>; explanation?: { method?: string } }
  }
  const masking = r.facts.masking
  const method = r.facts.explanation?.method
  add('Audit record', `#${r.seq} · hash ${r.hash.slice(0, 16)}…`, 'record')
  add('Principal and action', `${r.principal ?? 'anonymous'} · ${r.action}`, 'principal')
  add(
    'Access decision',
    r.decision
      ? `${r.decision.allow ? 'allow' : 'deny'} (${r.decision.reasons.join(', ') || 'no reasons'})`
      : 'none',
    'decision',
  )
  add(
    'Masked entities',
    masking
      ? Object.entries(masking)
          .map(([k, n]) => `${k} ×${n}`)
          .join(', ')
      : 'none',
    'masking',
  )
  add('Explanation', method ?? 'none', 'explanation')
}

main().catch((error: unknown) => {
  const box = document.getElementById('error')
  if (box) {
    box.hidden = false
    box.textContent = `The console could not start: ${(error as Error).message}`
  }
  document.body.dataset.state = 'error'
})

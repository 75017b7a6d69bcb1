import { drawWaterfall, formatValue, shownValue, signed } from './waterfall.js'

interface Field {
  name: string
  kind: 'numeric' | 'categorical' | 'text' | 'string'
  description: string
  /** Readable label (the description's first clause) and the rest of the description. */
  label: string
  hint: string
  /** What the model uses when the field is missing (the schema's `missing`), or null. */
  missing: number | string | null
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
    const label = make('label', { for: id }, f.label)
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
    if (f.hint) hints.push(f.hint)
    if (f.missing !== null) hints.push(`Missing counts as ${formatValue(f.missing)}`)
    if (f.pii) hints.push(`Personal data (${f.pii}); never reaches the model`)
    else if (f.text) hints.push('Scanned for personal data')
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

interface AuditView {
  seq: number
  hash: string
  principal: string | null
  action: string
  decision: { allow: boolean; reasons: string[] } | null
  facts: { masking?: Record<string, number>; explanation?: { method?: string } }
}

/** The last answer, kept to redraw the chart when the page changes width. */
let last: Outcome | undefined

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
    const audit = await auditRecord(outcome)
    last = outcome
    renderDecision(outcome)
    renderAttributions(outcome)
    renderMasking(record, outcome, audit.record)
    renderAudit(outcome, audit)
    $('status').textContent = `Answered${role ? ` for role ${role}` : ''}.`
    shown = true
    document.body.dataset.role = role ?? ''
    document.body.dataset.state = 'answered'
    bringIntoView()
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
    bringIntoView()
  } finally {
    busy = false
    results.removeAttribute('aria-busy')
  }
}

/**
 * Scrolls the result to the top of the window unless the decision and the chart are already in
 * view (the button sits at the end of a long form, the result beside or below it).
 */
function bringIntoView(): void {
  const visible = (node: HTMLElement) => {
    if (node.hidden) return true
    const r = node.getBoundingClientRect()
    return r.top >= 0 && r.bottom <= window.innerHeight
  }
  const error = $('error')
  const targets = error.hidden ? [$('decision'), $('waterfall')] : [error]
  if (!targets.every(visible)) $('results').scrollIntoView({ block: 'start' })
  $('results').focus({ preventScroll: true })
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

const fieldByName = (name: string): Field | undefined => config.fields.find((f) => f.name === name)

function labels(): Record<string, string> {
  return Object.fromEntries(config.fields.map((f) => [f.name, f.label]))
}

function imputations(): Record<string, unknown> {
  return Object.fromEntries(config.fields.map((f) => [f.name, f.missing]))
}

function drawChart(e: WireExplanation): void {
  const chart = $('waterfall')
  chart.replaceChildren(
    drawWaterfall({
      featureNames: e.feature_names,
      labels: labels(),
      values: e.values[0] ?? [],
      data: e.data[0] ?? [],
      imputed: imputations(),
      baseValue: e.base_values[0] ?? 0,
      link: e.link,
      output: e.output,
      width: chart.clientWidth,
    }),
  )
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
  drawChart(e)
  const imputed = e.feature_names.filter((n, i) => shownValue(n, data[i], imputations()).imputed)
  const method = e.method.replaceAll('_', ' ').replace(/\bshap\b/, 'SHAP')
  $('attributions-note').textContent =
    `${method.charAt(0).toUpperCase()}${method.slice(1)} attributions of ${e.output.replaceAll('_', ' ')}${e.link === 'logit' ? ' in log-odds' : ''}: ` +
    'each bar moves the prediction from the base value (the average over the background data) to this applicant’s. ' +
    'Red raises it, blue lowers it, grey bars change nothing.' +
    (imputed.length > 0
      ? ` Missing values are shown as the value the model used instead (${imputed.map((n) => fieldByName(n)?.label ?? n).join(', ')}).`
      : '')
  table.append(make('caption', {}, `Attributions of ${e.output} (base value ${base.toFixed(3)})`))
  const head = make('tr')
  for (const h of ['Feature', 'Value', 'Attribution']) head.append(make('th', { scope: 'col' }, h))
  table.appendChild(make('thead')).append(head)
  const body = table.appendChild(make('tbody'))
  e.feature_names.forEach((name, i) => {
    const tr = make('tr')
    tr.append(
      make('th', { scope: 'row', title: name }, fieldByName(name)?.label ?? name),
      make('td', {}, shownValue(name, data[i], imputations()).text),
      make('td', {}, signed(values[i] ?? 0)),
    )
    body.append(tr)
  })
}

const PSEUDONYM = /\b([A-Z][A-Z_]+)_[0-9a-f]{8,}\b/g
const REPLACED = /<([A-Z][A-Z_]+)>/g
const ENCRYPTED = /enc:v[12]:[A-Za-z0-9_-]+/g

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

/**
 * A value with its tag (`sent`, `returned`): one unbreakable span per word, so lines wrap between
 * words and never inside an e-mail address, a token or a phone number. Opaque token bodies are
 * shortened (`EMAIL_ADDRESS_1284ade2…`, `enc:v2:HRXbVks6…`); the whole value is in `title` and
 * `data-value`.
 */
function valueBlock(value: unknown, tag: string): HTMLDivElement {
  const text = formatValue(value)
  const block = make('div', { class: `value ${tag}`, title: text, 'data-value': text })
  block.append(make('span', { class: 'tag' }, tag))
  text.split(/\s+/).forEach((word) => {
    if (word === '') return
    const short = word
      .replace(ENCRYPTED, (t) => (t.length > 18 ? `${t.slice(0, 15)}…` : t))
      .replace(
        PSEUDONYM,
        (t, type: string) => `${type}_${t.slice(type.length + 1, type.length + 9)}…`,
      )
    block.append(make('span', { class: 'word' }, short), ' ')
  })
  return block
}

const counted = (types: Map<string, number>) => [...types].map(([t, n]) => `${t} ×${n}`).join(', ')

/**
 * Entities masked inside free text, by type: the audit record's counts for the request minus the
 * tagged fields that were sent (each counts once). `undefined` without an audit record.
 */
function entitiesInText(
  record: Record<string, unknown>,
  counts: Record<string, number> | undefined,
): Map<string, number> | undefined {
  if (!counts) return undefined
  const left = new Map(Object.entries(counts))
  for (const f of config.fields) {
    const v = record[f.name]
    if (f.pii && v !== undefined && v !== null && v !== '')
      left.set(f.pii, (left.get(f.pii) ?? 0) - 1)
  }
  return new Map([...left].filter(([, n]) => n > 0))
}

/** Entity types whose tokens show their type (pseudonyms, replacements) in a masked text. */
function typesShownIn(text: string): Map<string, number> {
  const types = new Map<string, number>()
  for (const m of text.matchAll(PSEUDONYM)) types.set(m[1]!, (types.get(m[1]!) ?? 0) + 1)
  for (const m of text.matchAll(REPLACED)) types.set(m[1]!, (types.get(m[1]!) ?? 0) + 1)
  return types
}

function renderMasking(
  record: Record<string, unknown>,
  outcome: Outcome,
  audit: AuditView | undefined,
): void {
  const box = $('masking')
  const table = $<HTMLTableElement>('masking-table')
  table.replaceChildren()
  box.hidden = false
  const sent = config.fields.filter(
    (f) => !f.modelInput && record[f.name] !== undefined && record[f.name] !== '',
  )
  if (sent.length === 0) {
    $('masking-note').textContent = 'No personal data or other non-model fields were sent.'
    box.dataset.echo = 'none'
    return
  }
  if (!sent.some((f) => f.name in outcome.prediction)) {
    $('masking-note').textContent =
      'The answer holds the model’s outputs only, not the record, so what the gate did to the personal fields cannot be shown here.'
    box.dataset.echo = 'false'
    return
  }
  box.dataset.echo = 'true'
  const role = selectedRole() ?? 'this caller'
  const counts = audit?.facts.masking
  const inText = entitiesInText(record, counts)
  const texts = sent.filter((f) => f.text)
  // Entities masked in free text: the audit counts (for all free-text fields together when
  // more than one was sent), else only those whose tokens show their type.
  const together = inText !== undefined && texts.length > 1
  const shownIn = (f: Field) => typesShownIn(String(outcome.prediction[f.name] ?? ''))
  $('masking-note').textContent =
    'Personal fields are masked before the model and everything after it sees them. A masked value is revealed only where the access policy grants this role unmask:<field> for the place the token was made.' +
    (counts ? ` Entity counts come from the request’s audit record.` : '')
  table.append(make('caption', { class: 'sr-only' }, 'Fields sent, values returned and why'))
  const head = make('tr')
  for (const h of ['Field', 'Sent and returned', 'Why'])
    head.append(make('th', { scope: 'col' }, h))
  table.appendChild(make('thead')).append(head)
  const body = table.appendChild(make('tbody'))
  const states = new Map<string, string>()
  const rows: Array<{ f: Field; state: string; why: string }> = []
  for (const f of sent) {
    const value = record[f.name]
    const returned = outcome.prediction[f.name]
    let state: string
    let why: string
    if (returned === undefined) {
      state = 'absent'
      why = 'Not returned.'
    } else if (f.pii) {
      if (returned === value) {
        state = 'clear'
        why = `${f.pii}, masked before the model and shown in clear: the policy grants ${role} unmask:${f.name}.`
      } else {
        state = 'masked'
        why = `${f.pii} (tagged in the schema), ${maskingStyle(String(returned), String(value))}; not revealed to ${role} (no unmask:${f.name} grant, or the masking is irreversible).`
      }
    } else if (f.text) {
      const found = inText ?? shownIn(f)
      const where = together ? ' (in the free-text fields together)' : ''
      if (returned === value) {
        state = 'clear'
        why =
          found.size > 0
            ? `Free text; ${counted(found)} masked in it before the model${where}, shown in clear: the policy grants ${role} unmask:${f.name}.`
            : 'Free text, returned as sent: no personal data was found in it, or this role may unmask it.'
      } else {
        state = 'masked'
        const hidden = (String(returned).match(ENCRYPTED) ?? []).length
        why =
          `Free text scanned for personal data: ${found.size > 0 ? `${counted(found)} masked${where}` : 'entities masked'}` +
          (!inText && hidden > 0
            ? `, and ${hidden} encrypted ${hidden === 1 ? 'value' : 'values'} whose type the token does not show`
            : '') +
          '.'
      }
    } else {
      state = returned === value ? 'plain' : 'masked'
      why = returned === value ? 'Not personal data: passed through.' : 'Changed by the gate.'
    }
    states.set(f.name, state)
    rows.push({ f, state, why })
  }
  // Origins are per field: a grant on a tagged field does not reveal the same entity found in
  // free text, which is a token of that text field.
  for (const row of rows) {
    if (!row.f.text || row.state !== 'masked') continue
    const found = inText && !together ? inText : shownIn(row.f)
    const clear = sent.filter((g) => g.pii && states.get(g.name) === 'clear' && found.has(g.pii))
    if (clear.length === 0) continue
    const and = (items: string[]) =>
      items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
    const many = clear.length > 1
    row.why += ` The ${and(clear.map((g) => g.pii!))} inside ${row.f.name} ${many ? 'stay' : 'stays'} masked although ${and(clear.map((g) => g.name))} ${many ? 'are' : 'is'} in clear: a token is bound to the place it was made (here the free text of ${row.f.name}), and ${role} is granted ${and(clear.map((g) => `unmask:${g.name}`))}, not unmask:${row.f.name}.`
  }
  for (const { f, state, why } of rows) {
    const tr = make('tr', { 'data-field': f.name, 'data-state': state })
    const values = make('td', { class: 'values' })
    values.append(
      valueBlock(record[f.name], 'sent'),
      valueBlock(outcome.prediction[f.name], 'returned'),
    )
    tr.append(make('th', { scope: 'row', title: f.label }, f.name), values)
    const cell = make('td', { class: 'why' })
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

async function auditRecord(outcome: Outcome): Promise<{ record?: AuditView; status?: number }> {
  if (!config.devAuditUrl || !outcome.requestId) return {}
  const res = await fetch(`${config.devAuditUrl}/${encodeURIComponent(outcome.requestId)}`, {
    headers: { accept: 'application/json' },
  })
  if (!res.ok) return { status: res.status }
  return { record: (await res.json()) as AuditView }
}

function renderAudit(outcome: Outcome, audit: { record?: AuditView; status?: number }): void {
  const box = $('audit')
  const list = $('audit-list')
  list.replaceChildren()
  box.hidden = false
  const add = (term: string, value: string, key: string) => {
    list.append(make('dt', {}, term), make('dd', { 'data-key': key }, value))
  }
  add('Request id', outcome.requestId ?? 'not sent by the gate', 'request-id')
  const r = audit.record
  if (!r) {
    add(
      'Audit record',
      audit.status
        ? `Not found (HTTP ${audit.status}).`
        : 'Filed by the audit plugin under this request id.',
      'record',
    )
    return
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

let resizing: number | undefined
window.addEventListener('resize', () => {
  window.clearTimeout(resizing)
  resizing = window.setTimeout(() => {
    if (last?.explanation && !$('attributions').hidden) drawChart(last.explanation)
  }, 100)
})

main().catch((error: unknown) => {
  const box = document.getElementById('error')
  if (box) {
    box.hidden = false
    box.textContent = `The console could not start: ${(error as Error).message}`
  }
  document.body.dataset.state = 'error'
})

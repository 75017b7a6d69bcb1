import { generateKeyPairSync } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { authenticate, authorize } from '@modelgate/access'
import { audit, createAuditTrail } from '@modelgate/audit'
import type { AuditRecord, AuditSink } from '@modelgate/audit'
import { jsonlSink } from '@modelgate/audit/node'
import { echoRecords, webConsole } from '@modelgate/console'
import { BadRequestError, FeatureSchema, isPlainObject, NotFoundError } from '@modelgate/core'
import type { Gate, GateContext, Plugin, RouteDefinition } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { explain, kmeans } from '@modelgate/explain'
import { createExpressApp } from '@modelgate/express'
import { mask } from '@modelgate/mask'
import { generateApplications } from './data.js'
import {
  devJwtOptions,
  devPolicy,
  generateDevKeys,
  issueDevToken,
  refuseInProduction,
  type DevKeys,
  type DevUser,
} from './dev-users.js'
import type { LoanApplication } from './data.js'
import { createCreditGate } from './gate.js'
import type { CreditGateOptions } from './gate.js'
import { creditSchema, MODEL_INPUT, MODEL_OUTPUT } from './schema.js'

/**
 * A realistic application, personal data included, used in the printed examples and the README.
 *
 * @example
 * ```ts
 * JSON.stringify({ instances: [SAMPLE_APPLICATION] })
 * ```
 */
export const SAMPLE_APPLICATION: LoanApplication = {
  applicant_id: 'app_7k2m9q4x1c',
  name: 'Maria Garcia',
  email: 'maria.garcia@gmail.com',
  phone: '(415) 732-0199',
  ssn: '512-34-8821',
  card_number: '4539 1488 0343 6467',
  income: 68_500,
  debt_to_income: 0.28,
  age: 36,
  years_employed: 6.5,
  credit_history_years: 12,
  delinquencies: 0,
  loan_amount: 18_000,
  purpose: 'car',
  note: 'Prefers contact by email at maria.garcia@gmail.com; call (415) 732-0199 after 5pm.',
}

/**
 * Options of {@link startDemo}.
 *
 * @example
 * ```ts
 * const opts: DemoOptions = { port: 0, edgePort: 0 }
 * ```
 */
export interface DemoOptions extends CreditGateOptions {
  /** Port of the Express (cloud) server; `0` picks a free one. Default 8080. */
  port?: number
  /** Port of the edge fetch-module server; `0` picks a free one. Default 8081. */
  edgePort?: number
  /** Interface both servers bind. Default `127.0.0.1`. */
  host?: string
  /**
   * Serve the web console at `/console/` behind the demo's guards (DEVELOPMENT ONLY: development
   * tokens from `POST /dev/token`, the development access policy, masking, explanations and an
   * audit trail in `demoDir`, whose latest records are readable at `GET /dev/audit/{requestId}`).
   * Any `plugins` run after the guards. Default `false`; `pnpm demo` turns it on (`CONSOLE=0`
   * turns it off).
   */
  console?: boolean
  /**
   * Where the guarded demo keeps its audit trail: `audit.jsonl` (hash-chained records, each
   * followed by a checkpoint signed with a fresh Ed25519 key) and `audit-key.pub.json` (that
   * key's public JWK, for `modelgate audit verify --key`). Created at start; both files are
   * replaced at every start. Default `.modelgate/demo` in the working directory.
   */
  demoDir?: string
}

/**
 * One listening runtime of the demo.
 *
 * @example
 * ```ts
 * await fetch(`${demo.cloud.url}/v2/health/ready`)
 * ```
 */
export interface DemoEndpoint {
  /** `http://host:port`, no trailing slash. */
  url: string
  port: number
}

/**
 * The running demo: one gate, served by Express (`cloud`) and by the edge adapter (`edge`).
 *
 * @example
 * ```ts
 * const demo = await startDemo({ port: 0, edgePort: 0 })
 * await demo.close()
 * ```
 */
export interface Demo {
  gate: Gate
  cloud: DemoEndpoint
  edge: DemoEndpoint
  /** Whether the console and the guards are on (requests then need a bearer token). */
  console: boolean
  /** With the guards: the audit log and the public key that verifies its checkpoints. */
  audit?: { log: string; publicKey: string }
  /** Stops both servers, then closes the gate and its model. */
  close(): Promise<void>
}

/**
 * Starts the credit gate on both runtimes at once, over one shared model: the Express adapter
 * (`createExpressApp`) and the edge adapter (`toFetchModule` behind `serveNode`). Resolves once
 * the model is loaded and both servers listen.
 *
 * @example
 * ```ts
 * import { startDemo, usage } from '@modelgate/example-credit-risk'
 *
 * const demo = await startDemo({ port: 8080, edgePort: 8081 })
 * console.log(usage(demo))
 * ```
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1'
  const { demoDir: _dir, console: _console, ...gateOptions } = options
  const guards = options.console
    ? await demoGuards(resolve(options.demoDir ?? DEMO_DIR))
    : undefined
  const plugins = guards ? [...guards.plugins, ...(options.plugins ?? [])] : options.plugins
  const gate = createCreditGate({
    ...gateOptions,
    ...(plugins ? { plugins } : {}),
    routes: [rootRoute(options.console ?? false)],
  })
  let cloud: Server | undefined
  let edge: Awaited<ReturnType<typeof serveNode>> | undefined
  const cloudPort = options.port ?? 8080
  const edgePort = options.edgePort ?? 8081
  try {
    await gate.ready()
    cloud = await listen(createServer(createExpressApp(gate)), cloudPort, host).catch(
      (error: unknown) => {
        throw portError(error, 'cloud', cloudPort, host)
      },
    )
    edge = await serveNode(toFetchModule(gate), { port: edgePort, host }).catch(
      (error: unknown) => {
        throw portError(error, 'edge', edgePort, host)
      },
    )
  } catch (error) {
    if (cloud) await stop(cloud)
    await gate.close()
    throw error
  }
  const listening = (cloud.address() as AddressInfo).port
  const edgeServer = edge
  const cloudServer = cloud
  let closing: Promise<void> | undefined
  return {
    gate,
    cloud: { url: `http://${urlHost(host)}:${listening}`, port: listening },
    edge: { url: edgeServer.url, port: edgeServer.port },
    console: options.console ?? false,
    ...(guards ? { audit: guards.audit } : {}),
    close() {
      closing ??= Promise.all([stop(cloudServer), edgeServer.close()]).then(() => gate.close())
      return closing
    },
  }
}

/** Roles the console offers; `admin` is left out so that every role shows a limit. */
const CONSOLE_ROLES: Array<{ id: DevUser; label: string; description: string }> = [
  { id: 'applicant', label: 'Applicant', description: 'predicts; sees no personal data in clear' },
  {
    id: 'underwriter',
    label: 'Underwriter',
    description: 'explains; sees name and contact details',
  },
  { id: 'auditor', label: 'Auditor', description: 'explains; sees all but SSN and card number' },
]

/** Default {@link DemoOptions.demoDir}, relative to the working directory. */
const DEMO_DIR = '.modelgate/demo'

/**
 * DEVELOPMENT ONLY. The console and the guards the demo runs it behind, outermost first: the
 * console's static files, the development endpoints, the audit trail (a JSONL file in `dir`,
 * every record followed by a signed checkpoint), JWT authentication with development keys, the
 * development policy, masking (a fresh key per start), the record echo and exact SHAP
 * explanations over a k-means background of generated applications.
 */
async function demoGuards(
  dir: string,
): Promise<{ plugins: Plugin[]; audit: { log: string; publicKey: string } }> {
  refuseInProduction('the demo console (development tokens and endpoints)')
  const keys = await generateDevKeys()
  const records = new Map<string, AuditRecord>()
  const log = join(dir, 'audit.jsonl')
  const publicKey = join(dir, 'audit-key.pub.json')
  const signing = generateKeyPairSync('ed25519')
  const kid = `demo-audit-${crypto.randomUUID().slice(0, 8)}`
  await mkdir(dir, { recursive: true })
  await rm(log, { force: true })
  await writeFile(
    publicKey,
    `${JSON.stringify({ ...signing.publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA' })}\n`,
  )
  const trail = createAuditTrail({
    name: 'credit-risk-demo',
    // `always`: a record is on disk, with its checkpoint, before the request is answered, so
    // `modelgate audit verify` can check the log at any moment
    sink: keepLatest(jsonlSink({ path: log, fsync: 'always' }), records, 1_000),
    checkpoint: { key: signing.privateKey, alg: 'EdDSA', kid, every: 1 },
  })
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')
  const schema = new FeatureSchema(creditSchema)
  const rows = generateApplications(400, 7).map(({ default: _label, ...a }) => a)
  const encoded = schema.encode(rows, MODEL_INPUT)
  const width = schema.columns.length
  const matrix = Array.from({ length: rows.length }, (_, r) =>
    Array.from(encoded.data as Float32Array).slice(r * width, (r + 1) * width),
  )
  const plugins = [
    webConsole({
      title: 'Credit-risk console',
      model: 'credit',
      schema: creditSchema,
      sample: { ...SAMPLE_APPLICATION },
      decision: { output: MODEL_OUTPUT, approveBelow: 0.2, declineAtOrAbove: 0.5 },
      roles: CONSOLE_ROLES,
      devTokenUrl: '/dev/token',
      devAuditUrl: '/dev/audit',
      explainParameters: { explainer: 'exact_shap' },
    }),
    devEndpoints(keys, records),
    audit({ trail }),
    authenticate({ jwt: devJwtOptions(keys) }),
    authorize({ policy: devPolicy('credit') }),
    mask({
      key,
      policy: {
        entities: {
          PERSON: { op: 'pseudonymize' },
          EMAIL_ADDRESS: { op: 'pseudonymize' },
          PHONE_NUMBER: { op: 'encrypt' },
          US_SSN: { op: 'mask', keepLast: 4 },
          CREDIT_CARD: { op: 'mask', keepLast: 4 },
          '*': { op: 'replace' },
        },
      },
    }),
    echoRecords(),
    explain({
      models: { credit: { background: kmeans(matrix, 12, { seed: 7 }), method: 'exact_shap' } },
    }),
  ]
  return { plugins, audit: { log, publicKey } }
}

/** A sink that writes through `sink` and keeps the latest records in memory, by request id. */
function keepLatest(sink: AuditSink, records: Map<string, AuditRecord>, max: number): AuditSink {
  return {
    kind: sink.kind,
    durable: sink.durable ?? true,
    open: (options) => sink.open(options),
    async write(entries) {
      await sink.write(entries)
      for (const e of entries) {
        if (e.type !== 'record') continue
        records.delete(e.record.requestId)
        records.set(e.record.requestId, e.record)
        if (records.size > max) records.delete(records.keys().next().value!)
      }
    },
    close: () => sink.close(),
  }
}

/**
 * `GET /`: with the console, a redirect to it; without, a JSON hint naming the routes. Operation
 * `console`, which authentication lets through like the console's pages.
 */
function rootRoute(withConsole: boolean): RouteDefinition {
  return {
    name: 'root',
    methods: ['GET'],
    path: '/',
    operation: 'console',
    async terminal(ctx) {
      if (withConsole) {
        ctx.status = 302
        ctx.headers.set('location', '/console/')
        ctx.body = { console: '/console/', hint: 'the web console is at /console/' }
        return
      }
      ctx.body = {
        name: 'modelgate credit-risk demo',
        console: 'off: started with CONSOLE=0 (without it the console is at /console/)',
        routes: [
          'POST /v1/models/credit:predict',
          'POST /v2/models/credit/infer',
          'GET /v2/models/credit',
          'GET /v2/health/ready',
        ],
      }
    },
  }
}

/**
 * DEVELOPMENT ONLY. `POST /dev/token` `{"user": "underwriter"}` → `{"token": …}` (a development
 * token from `issueDevToken`), and `GET /dev/audit/{requestId}` → that request's audit record
 * (identifiers, decision and counts; never payloads), as routes with every guard around them
 * (operation `console`, which authentication lets through like the console's pages). No
 * production service has these routes.
 */
function devEndpoints(keys: DevKeys, records: Map<string, AuditRecord>): Plugin {
  const users = new Set<string>(CONSOLE_ROLES.map((r) => r.id))
  const noStore = (ctx: GateContext) => {
    ctx.headers.set('cache-control', 'no-store')
    ctx.headers.set('x-development-only', 'true')
  }
  const routes: RouteDefinition[] = [
    {
      name: 'dev-token',
      methods: ['POST'],
      path: '/dev/token',
      operation: 'console',
      async terminal(ctx) {
        noStore(ctx)
        const body = await ctx.json()
        const user = isPlainObject(body) ? body.user : undefined
        if (typeof user !== 'string' || !users.has(user))
          throw new BadRequestError(`"user" must be one of ${[...users].join(', ')}`)
        const token = await issueDevToken({ user: user as DevUser, keys, ttlSeconds: 3600 })
        ctx.body = { token, token_type: 'Bearer', expires_in: 3600, user, development_only: true }
      },
    },
    {
      name: 'dev-audit',
      methods: ['GET'],
      path: '/dev/audit/*',
      operation: 'console',
      async terminal(ctx) {
        noStore(ctx)
        const id = /^\/dev\/audit\/([A-Za-z0-9._:-]{1,128})$/.exec(ctx.url.pathname)?.[1]
        const record = id === undefined ? undefined : records.get(id)
        if (!record) throw new NotFoundError('no audit record for this request id')
        ctx.body = record
      },
    },
  ]
  return Object.assign(
    async function devEndpoints(_ctx: GateContext, next: () => Promise<void>) {
      await next()
    },
    { routes },
  )
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

/**
 * Thrown by {@link startDemo} when a port is taken: names the port and the server that needed it.
 *
 * @example
 * ```ts
 * try {
 *   await startDemo()
 * } catch (error) {
 *   if (error instanceof PortInUseError) await startDemo({ port: 0, edgePort: 0 })
 * }
 * ```
 */
export class PortInUseError extends Error {
  readonly code = 'EADDRINUSE'
  constructor(
    readonly port: number,
    readonly runtime: 'cloud' | 'edge',
    readonly host: string,
  ) {
    super(
      `port ${port} on ${host} is in use: the ${runtime} server cannot listen there (another demo ` +
        `or server may still be running); pass another "${runtime === 'cloud' ? 'port' : 'edgePort'}" (0 picks a free one)`,
    )
    this.name = 'PortInUseError'
  }
}

function portError(error: unknown, runtime: 'cloud' | 'edge', port: number, host: string): unknown {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE'
    ? new PortInUseError(port, runtime, host)
    : error
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
    setTimeout(() => server.closeAllConnections(), 5_000).unref()
  })
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** `'…'` for a POSIX shell. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`
}

/** A path as the user types it: relative to the folder they ran the demo from when inside it. */
function shown(path: string): string {
  const from = process.env.INIT_CWD || process.cwd()
  const rel = relative(from, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/**
 * What the demo prints: where it listens and ready-to-paste shell commands. With the guards:
 * development tokens for two roles, the same application predicted as each (masked and in clear),
 * an explanation, the V2 tensor form on the edge runtime and `modelgate audit verify` of the
 * demo's audit log. Without them (`CONSOLE=0`): V1 records and V2 tensors on both runtimes.
 *
 * @example
 * ```ts
 * console.log(usage({ cloud: { url: 'http://127.0.0.1:8080', port: 8080 }, edge: { url: 'http://127.0.0.1:8081', port: 8081 } }))
 * ```
 */
export function usage(
  demo: Pick<Demo, 'cloud' | 'edge'> & Partial<Pick<Demo, 'console' | 'audit'>>,
): string {
  const schema = new FeatureSchema({ ...creditSchema, datatype: 'FP64' })
  const tensor = schema.encode([SAMPLE_APPLICATION], MODEL_INPUT)
  const v1 = JSON.stringify({ instances: [SAMPLE_APPLICATION] })
  const v2 = JSON.stringify({
    inputs: [
      {
        name: MODEL_INPUT,
        shape: tensor.shape,
        datatype: 'FP32',
        data: Array.from(tensor.data as Float64Array),
      },
    ],
  })
  const curl = (url: string, body: string, token?: string) =>
    [
      `curl -s -w '\\n' ${url}`,
      `  -H 'content-type: application/json'`,
      ...(token ? [`  -H "authorization: Bearer $${token}"`] : []),
      `  -d ${body}`,
    ].join(' \\\n')
  const lines = [
    '# modelgate credit-risk demo: model "credit" (TF.js MLP), one gate on two runtimes',
    `#   cloud (Express adapter):     ${demo.cloud.url}`,
    `#   edge  (fetch module, Node):  ${demo.edge.url}`,
  ]
  if (!demo.console || !demo.audit) {
    lines.push(
      '# Started with CONSOLE=0: the bare model, no guards, no console, no audit trail.',
      `# V2 "features" columns: ${schema.columns.join(', ')}`,
      '',
    )
    for (const [label, base] of [
      ['cloud', demo.cloud.url],
      ['edge', demo.edge.url],
    ] as const) {
      lines.push(
        `# ${label}: KServe V1 record, personal fields included`,
        curl(`${base}/v1/models/credit:predict`, quote(v1)),
        '',
        `# ${label}: Open Inference Protocol V2 tensor, raw values`,
        curl(`${base}/v2/models/credit/infer`, quote(v2)),
        '',
      )
    }
  } else {
    const token = (user: string) =>
      `$(curl -s -X POST ${demo.cloud.url}/dev/token -H 'content-type: application/json' -d '{"user":"${user}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`
    lines.push(
      `#   web console:                 ${demo.cloud.url}/console/ (also on the edge port)`,
      '# Guards: audit trail, JWT access control, policy, masking, explanations.',
      '# (CONSOLE=0 serves the bare model instead: no guards, no console, no audit trail.)',
      '',
      '# 1. DEVELOPMENT ONLY: tokens for two roles, signed with keys made at start',
      `APPLICANT=${token('applicant')}`,
      `UNDERWRITER=${token('underwriter')}`,
      '',
      '# 2. One loan application, personal data included',
      `APPLICATION=${quote(v1)}`,
      '',
      '# 3. The same application seen by two roles. The applicant gets every personal field',
      '#    masked (pseudonyms, an encrypted phone, the last 4 digits of SSN and card);',
      '#    the underwriter sees name, e-mail and phone in clear, SSN and card still masked.',
      curl(`${demo.cloud.url}/v1/models/credit:predict`, '"$APPLICATION"', 'APPLICANT'),
      curl(`${demo.cloud.url}/v1/models/credit:predict`, '"$APPLICATION"', 'UNDERWRITER'),
      '',
      '# 4. Why: the underwriter asks for an explanation (exact SHAP: what each feature adds',
      '#    to the default probability, from the average over background data), on the edge',
      curl(`${demo.edge.url}/v1/models/credit:explain`, '"$APPLICATION"', 'UNDERWRITER'),
      '',
      '# 5. The applicant may not see explanations: 403',
      curl(`${demo.cloud.url}/v1/models/credit:explain`, '"$APPLICATION"', 'APPLICANT'),
      '',
      `# 6. The same applicant as an Open Inference Protocol V2 tensor (columns: ${schema.columns.length}, raw values)`,
      curl(`${demo.edge.url}/v2/models/credit/infer`, quote(v2), 'UNDERWRITER'),
      '',
      '# 7. Every request above left a hash-chained audit record; check the chain and the',
      '#    signed checkpoints (from the repository)',
      `npx -y pnpm@12.4.2 modelgate audit verify ${shown(demo.audit.log)} --key ${shown(demo.audit.publicKey)}`,
      '',
    )
  }
  lines.push(
    `# metadata: curl -s ${demo.cloud.url}/v2/models/credit   health: curl -s ${demo.edge.url}/v2/health/ready`,
    '# Press Ctrl+C to stop.',
  )
  return lines.join('\n')
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`${name} must be a port number between 0 and 65535`)
  }
  return port
}

async function main(): Promise<void> {
  const demo = await startDemo({
    port: portFromEnv('PORT', 8080),
    edgePort: portFromEnv('EDGE_PORT', 8081),
    host: process.env.HOST || '127.0.0.1',
    console: process.env.CONSOLE !== '0',
    ...(process.env.DEMO_DIR ? { demoDir: process.env.DEMO_DIR } : {}),
  })
  process.stdout.write(`${usage(demo)}\n`)
  const shutdown = (signal: string) => {
    process.stdout.write(`\n${signal}: closing\n`)
    process.once(signal, () => process.exit(130))
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`close failed: ${String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
}

function isEntryPoint(): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    process.stderr.write(
      error instanceof PortInUseError
        ? `port ${error.port} on ${error.host} is in use: the ${error.runtime} server of the demo cannot listen there.\n` +
            'Another demo or server may still be running. Choose other ports with PORT (cloud) and\n' +
            'EDGE_PORT (edge), 0 for any free port:\n' +
            '  PORT=9080 EDGE_PORT=9081 npx -y pnpm@12.4.2 demo\n'
        : `${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  })
}

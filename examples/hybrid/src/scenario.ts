import { createSealedFetch } from '@modelgate/hybrid'
import { createMtlsFetch } from '@modelgate/hybrid/node'
import { createDemoPki, readDemoPki, removeDemoPki } from './pki.js'
import { spawnCloud, spawnEdge } from './processes.js'

/**
 * An application the edge model is sure about (default probability about 0.09): the credit-risk
 * demo's sample applicant, answered at the edge.
 *
 * @example
 * ```ts
 * await predict(edgeUrl, 'confident', CONFIDENT_APPLICATION)
 * ```
 */
export const CONFIDENT_APPLICATION = {
  applicant_id: 'app_7k2m9q4x1c',
  name: 'Maria Garcia',
  email: 'maria.garcia@gmail.com',
  income: 68_500,
  debt_to_income: 0.28,
  age: 36,
  years_employed: 6.5,
  credit_history_years: 12,
  delinquencies: 0,
  loan_amount: 18_000,
  purpose: 'car',
}

/**
 * An application the edge model is unsure about (default probability near 0.5): it goes to the
 * cloud's full model. Only its 14 numeric features leave the edge.
 *
 * @example
 * ```ts
 * await predict(edgeUrl, UNCERTAIN_APPLICATION)
 * ```
 */
export const UNCERTAIN_APPLICATION = {
  applicant_id: 'app_uogx89sbsm',
  name: 'Fatima Anderson',
  email: 'fatima_anderson@gmail.com',
  income: 63600,
  debt_to_income: 0.431,
  age: 30,
  years_employed: 0,
  credit_history_years: 4.7,
  delinquencies: 1,
  loan_amount: 29600,
  purpose: 'car',
}

/**
 * One request of the scenario and how it was answered.
 *
 * @example
 * ```ts
 * const step: ScenarioStep = { label: 'confident', status: 200, route: 'edge', degraded: null, probability: 0.09, ms: 3 }
 * ```
 */
export interface ScenarioStep {
  label: string
  status: number
  route: string | null
  degraded: string | null
  probability: number
  ms: number
}

/**
 * POSTs one application to the edge's V1 route and reads the route headers.
 *
 * @example
 * ```ts
 * const step = await predict('http://127.0.0.1:8081', 'confident', CONFIDENT_APPLICATION)
 * ```
 */
export async function predict(
  edgeUrl: string,
  label: string,
  application: object,
): Promise<ScenarioStep> {
  const started = performance.now()
  const res = await fetch(`${edgeUrl}/v1/models/credit:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [application] }),
  })
  const body = (await res.json()) as { predictions: Array<{ default_probability: number }> }
  return {
    label,
    status: res.status,
    route: res.headers.get('x-modelgate-route'),
    degraded: res.headers.get('x-modelgate-degraded'),
    probability: body.predictions[0]!.default_probability,
    ms: Math.round((performance.now() - started) * 10) / 10,
  }
}

/**
 * The demo: makes a fresh CA, certificates and JWE key in a temporary directory, starts the cloud
 * and edge processes, sends a confident application (answered at the
 * edge), an uncertain one (escalated to the cloud), stops the cloud and sends the uncertain one
 * again (answered at the edge, degraded), restarts the cloud and, after the breaker's cool-down,
 * sends it once more (the cloud answers again).
 *
 * @example
 * ```ts
 * const steps = await runScenario({ runtime: 'node', log: console.log })
 * ```
 */
export async function runScenario(
  options: { runtime?: 'node' | 'workerd'; log?: (line: string) => void } = {},
): Promise<ScenarioStep[]> {
  const log = options.log ?? (() => undefined)
  const pkiDir = await createDemoPki()
  let cloud = await spawnCloud({ pkiDir })
  const edge = await spawnEdge({ cloudUrl: cloud.url, pkiDir, runtime: options.runtime ?? 'node' })
  log(`cloud ${cloud.url}, edge ${edge.url} (${options.runtime ?? 'node'})`)
  const steps: ScenarioStep[] = []
  const step = async (label: string, application: object) => {
    const s = await predict(edge.url, label, application)
    steps.push(s)
    log(
      `${s.label.padEnd(28)} ${s.status} route=${s.route}${s.degraded ? ` degraded=${s.degraded}` : ''} ` +
        `p=${s.probability.toFixed(4)} ${s.ms} ms`,
    )
  }
  const warmUp = async (url: string) => {
    for (let i = 0; i < 3; i++) await predict(url, 'warm-up', UNCERTAIN_APPLICATION)
  }
  try {
    log('warming up (first requests compile code paths and open connections) …')
    await warmUp(edge.url)
    await step('confident applicant', CONFIDENT_APPLICATION)
    await step('uncertain applicant', UNCERTAIN_APPLICATION)
    log('stopping the cloud …')
    await cloud.stop()
    await step('uncertain, cloud down', UNCERTAIN_APPLICATION)
    await step('uncertain, cloud down again', UNCERTAIN_APPLICATION)
    await step('uncertain, breaker open', UNCERTAIN_APPLICATION)
    log('restarting the cloud, waiting for the breaker cool-down …')
    cloud = await spawnCloud({ pkiDir, port: cloud.port })
    await warmUpCloud(cloud.url, pkiDir)
    await new Promise((r) => setTimeout(r, 2100))
    await step('uncertain, cloud back', UNCERTAIN_APPLICATION)
    return steps
  } finally {
    await Promise.all([edge.stop(), cloud.stop()])
    await removeDemoPki(pkiDir)
  }
}

/** Sends three sealed predictions straight to the cloud over mTLS, as the edge would. */
async function warmUpCloud(cloudUrl: string, pkiDir: string): Promise<void> {
  const pki = await readDemoPki(pkiDir)
  const mtls = createMtlsFetch({ cert: pki.edge.certPem, key: pki.edge.keyPem, ca: pki.caPem })
  const sealed = createSealedFetch({ gateKey: pki.jwe.publicJwk, fetch: mtls })
  try {
    for (let i = 0; i < 3; i++) {
      const res = await sealed(`${cloudUrl}/v1/models/credit:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [UNCERTAIN_APPLICATION] }),
      })
      await res.arrayBuffer()
    }
  } finally {
    mtls.close()
  }
}

import { createDemoPki, removeDemoPki } from './pki.js'
import { spawnCloud, spawnEdge } from './processes.js'

const runtime = process.argv.includes('--workerd') ? 'workerd' : 'node'
const pkiDir = await createDemoPki()
const cloud = await spawnCloud({ pkiDir, port: Number(process.env.CLOUD_PORT ?? 8443) })
const edge = await spawnEdge({
  cloudUrl: cloud.url,
  pkiDir,
  port: Number(process.env.EDGE_PORT ?? 8081),
  runtime,
})
process.stdout.write(
  `cloud gate (full model, Express, HTTPS + client certificates, JWE bodies): ${cloud.url}\n` +
    `edge gate (uint8 model, ${runtime}): ${edge.url}\n` +
    `demo CA, certificates and the cloud's JWE key (removed on exit): ${pkiDir}\n\n` +
    `curl -si ${edge.url}/v1/models/credit:predict -H 'content-type: application/json' \\\n` +
    `  -d '{"instances":[{"income":68500,"debt_to_income":0.28,"age":36,"years_employed":6.5,` +
    `"credit_history_years":12,"delinquencies":0,"loan_amount":18000,"purpose":"car"}]}'\n\n` +
    'Ctrl+C stops both.\n',
)
const stop = () =>
  void Promise.all([edge.stop(), cloud.stop()])
    .then(() => removeDemoPki(pkiDir))
    .then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

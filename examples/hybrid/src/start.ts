import { spawnCloud, spawnEdge } from './processes.js'

const runtime = process.argv.includes('--workerd') ? 'workerd' : 'node'
const cloud = await spawnCloud({ port: Number(process.env.CLOUD_PORT ?? 8080) })
const edge = await spawnEdge({
  cloudUrl: cloud.url,
  port: Number(process.env.EDGE_PORT ?? 8081),
  runtime,
})
process.stdout.write(
  `cloud gate (full model, Express): ${cloud.url}\n` +
    `edge gate (uint8 model, ${runtime}): ${edge.url}\n\n` +
    `curl -si ${edge.url}/v1/models/credit:predict -H 'content-type: application/json' \\\n` +
    `  -d '{"instances":[{"income":68500,"debt_to_income":0.28,"age":36,"years_employed":6.5,` +
    `"credit_history_years":12,"delinquencies":0,"loan_amount":18000,"purpose":"car"}]}'\n\n` +
    'Ctrl+C stops both.\n',
)
const stop = () => void Promise.all([edge.stop(), cloud.stop()]).then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

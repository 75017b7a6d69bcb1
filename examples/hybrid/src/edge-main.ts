import { startNodeEdge } from './edge-node.js'
import { readDemoPki } from './pki.js'

if (!process.env.PKI_DIR) throw new Error('PKI_DIR must name a directory made by createDemoPki()')
const edge = await startNodeEdge({
  cloudUrl: process.env.CLOUD_URL ?? 'https://127.0.0.1:8443',
  pki: await readDemoPki(process.env.PKI_DIR),
  port: Number(process.env.PORT ?? 8081),
  onRoute: (e) =>
    process.stdout.write(
      `route ${e.route}${e.degraded ? ` (degraded: ${e.reason})` : ''} rows=${e.rows} cloud_rows=[${e.cloudRows}] ${e.elapsedMs.toFixed(1)} ms\n`,
    ),
})
process.stdout.write(`edge listening on ${edge.url}\n`)
const stop = () => void edge.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

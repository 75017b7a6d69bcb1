import { startNodeEdge } from './edge-node.js'

const edge = await startNodeEdge({
  cloudUrl: process.env.CLOUD_URL ?? 'http://127.0.0.1:8080',
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

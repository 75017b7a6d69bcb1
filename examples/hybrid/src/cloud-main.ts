import { startCloud } from './cloud.js'
import { readDemoPki } from './pki.js'

if (!process.env.PKI_DIR) throw new Error('PKI_DIR must name a directory made by createDemoPki()')
const cloud = await startCloud({
  pki: await readDemoPki(process.env.PKI_DIR),
  port: Number(process.env.PORT ?? 8443),
})
process.stdout.write(`cloud listening on ${cloud.url}\n`)
const stop = () => void cloud.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

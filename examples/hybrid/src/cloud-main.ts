import { startCloud } from './cloud.js'

const cloud = await startCloud({ port: Number(process.env.PORT ?? 8080) })
process.stdout.write(`cloud listening on ${cloud.url}\n`)
const stop = () => void cloud.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

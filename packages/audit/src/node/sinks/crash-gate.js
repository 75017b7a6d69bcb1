// A gate with the audit plugin over a JSONL sink (fsync: always), for crash.test.ts. Built code.
import { createPrivateKey } from 'node:crypto'
import { createGate } from '@modelgate/core'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { doublingBackend } from '@modelgate/testkit/fixtures'
import { audit, createAuditTrail } from '../../../dist/index.js'
import { jsonlSink } from '../../../dist/node/index.js'

const trail = createAuditTrail({
  sink: jsonlSink({ path: process.env.AUDIT_FILE, fsync: 'always' }),
  checkpoint: { key: createPrivateKey(process.env.AUDIT_KEY_PEM), alg: 'EdDSA', every: 25 },
})
const gate = createGate({
  models: [{ name: 'm', backend: doublingBackend() }],
  plugins: [audit({ trail, failClosed: true })],
})
await gate.ready()
const server = await serveNode(toFetchModule(gate), { port: 0 })
process.stdout.write(`listening ${server.port}\n`)
// No process.exit(): closing the server and the gate (which flushes the trail and signs a final
// checkpoint) must leave nothing that keeps the process alive.
process.once('SIGTERM', async () => {
  await server.close()
  await gate.close()
})

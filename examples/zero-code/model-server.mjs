// A stand-in for the model server you already run (Triton, KServe, MLServer, …): an Open
// Inference Protocol (V2) endpoint on 127.0.0.1:9000 serving the model "linear", y = x·W + b
// with x FP32 [n, 3] and y FP32 [n, 2]. It is the test server of @modelgate/backend-remote.
// MODEL_PORT chooses another port (then change "url" in gate.json). Ctrl+C stops it.
import { startStandInServer } from '@modelgate/backend-remote/testing'

const port = Number(process.env.MODEL_PORT || 9000)
let server
try {
  server = await startStandInServer({ protocol: 'v2', model: 'linear', port })
} catch (error) {
  if (error?.code !== 'EADDRINUSE') throw error
  console.error(
    `port ${port} on 127.0.0.1 is in use. Stop what runs there, or choose another port with ` +
      `MODEL_PORT (MODEL_PORT=9100 node model-server.mjs) and put it in gate.json's "url".`,
  )
  process.exit(1)
}
console.log(`stand-in model server: OIP V2 model "linear" on ${server.url} (Ctrl+C stops it)`)
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => server.close().then(() => process.exit(0)))

// One benchmark server per process, so the load generator and the server do not share an event
// loop. Started by bench/run.js with a JSON scenario; prints `listening <port>` when ready.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { createGate } from '@modelgate/core'
import { createOnnxBackend } from '@modelgate/backend-onnx'
import { createExpressApp } from '@modelgate/express'
import { toFetchModule } from '@modelgate/edge'
import { serveNode } from '@modelgate/edge/node'
import { buildOnnxMlp } from './onnx-mlp.js'

const scenario = JSON.parse(process.argv[2])

async function modelBytes(model) {
  if (model === 'fixture-mlp') {
    return new Uint8Array(
      await readFile(
        fileURLToPath(new URL('../packages/testkit/fixtures/mlp.onnx', import.meta.url)),
      ),
    )
  }
  if (model.startsWith('mlp:'))
    return buildOnnxMlp({ widths: model.slice(4).split('x').map(Number), seed: 7 })
  throw new Error(`unknown bench model ${model}`)
}

const backend = createOnnxBackend({ model: await modelBytes(scenario.model), intraOpNumThreads: 1 })

/** The baseline: a plain Express route that parses JSON and calls the same backend. */
function bareExpress() {
  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '10mb' }))
  app.post('/v2/models/m/infer', async (req, res) => {
    try {
      const input = req.body.inputs[0]
      const outputs = await backend.infer([
        {
          name: input.name,
          datatype: 'FP32',
          shape: input.shape,
          data: Float32Array.from(input.data),
        },
      ])
      res.json({
        model_name: 'm',
        outputs: outputs.map((t) => ({
          name: t.name,
          datatype: t.datatype,
          shape: t.shape,
          data: Array.from(t.data, (v) => (typeof v === 'bigint' ? Number(v) : v)),
        })),
      })
    } catch {
      res.status(500).json({ error: 'inference failed' })
    }
  })
  return app
}

async function plugins() {
  if (!scenario.plugins) return []
  const mod = await import(scenario.plugins.module)
  return mod[scenario.plugins.export](scenario.plugins.options ?? {})
}

let port
if (scenario.server === 'bare-express') {
  await backend.load()
  const server = bareExpress().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  port = server.address().port
} else {
  const gate = createGate({
    models: [{ name: 'm', backend, ...(scenario.batching ? { batching: scenario.batching } : {}) }],
    plugins: await plugins(),
  })
  await gate.ready()
  if (scenario.server === 'gate-edge') {
    port = (await serveNode(toFetchModule(gate), { port: 0, host: '127.0.0.1' })).port
  } else {
    const server = createExpressApp(gate).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = server.address().port
  }
}
process.stdout.write(`listening ${port}\n`)
process.once('SIGINT', () => process.exit(0))

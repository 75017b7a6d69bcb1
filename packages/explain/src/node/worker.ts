import { parentPort } from 'node:worker_threads'
import { explainModel } from '../explain.js'
import { modelFromEnsemble } from '../models.js'
import type { TreeEnsemble } from '@modelgate/backend-trees'
import type { ExplainableModel, ExplainOptions } from '../types.js'

const port = parentPort!
const waiting = new Map<
  string,
  { resolve: (y: Float64Array) => void; reject: (e: Error) => void }
>()
const ensembles = new Map<number, TreeEnsemble>()
let calls = 0

function call(
  type: 'predict' | 'gradients',
  id: number,
  x: Float64Array,
  rows: number,
  output = 0,
): Promise<Float64Array> {
  const c = calls++
  const copy = x.slice()
  return new Promise((resolve, reject) => {
    waiting.set(`${id}:${c}`, { resolve, reject })
    port.postMessage({ type, id, call: c, x: copy, rows, output }, [copy.buffer])
  })
}

interface Message {
  type: string
  id: number
  call?: number
  y?: Float64Array
  error?: string
  options?: Omit<ExplainOptions, 'model' | 'x'>
  x?: Float64Array
  rows?: number
  model?: Record<string, unknown>
  modelId?: number
  ensemble?: TreeEnsemble
}

port.on('message', async (m: Message) => {
  if (m.type === 'model') {
    ensembles.set(m.modelId!, m.ensemble!)
    return
  }
  if (m.type === 'result') {
    const w = waiting.get(`${m.id}:${m.call}`)
    waiting.delete(`${m.id}:${m.call}`)
    if (m.error !== undefined) w?.reject(new Error(m.error))
    else w?.resolve(m.y!)
    return
  }
  try {
    const spec = m.model!
    let model: ExplainableModel
    if (spec.kind === 'ensemble') {
      const ensemble = ensembles.get(spec.modelId as number)
      if (!ensemble) throw new Error('unknown model')
      model = modelFromEnsemble(ensemble)
      if (spec.outputNames) model.outputNames = spec.outputNames as string[]
    } else {
      model = {
        width: spec.width as number,
        outputs: spec.outputs as number,
        predict: (x, rows) => call('predict', m.id, x, rows),
        ...(spec.outputNames ? { outputNames: spec.outputNames as string[] } : {}),
        ...(spec.gradients
          ? {
              gradients: (x: Float64Array, rows: number, k: number) =>
                call('gradients', m.id, x, rows, k),
            }
          : {}),
      }
    }
    const W = model.width
    const flat = m.x!
    const x = Array.from({ length: m.rows! }, (_, r) => flat.subarray(r * W, (r + 1) * W))
    const explanation = await explainModel({
      ...m.options!,
      x: x as unknown as ExplainOptions['x'],
      model,
      onProgress: (done, total) => port.postMessage({ type: 'progress', id: m.id, done, total }),
    })
    port.postMessage({ type: 'done', id: m.id, explanation })
  } catch (error) {
    port.postMessage({
      type: 'error',
      id: m.id,
      message: error instanceof Error ? error.message : String(error),
      name: error instanceof Error ? error.name : 'Error',
    })
  }
})

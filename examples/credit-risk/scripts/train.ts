import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { fileSaveHandler, trainCreditModel } from '@modelgate/example-credit-risk'

const dir = fileURLToPath(new URL('../../model/', import.meta.url))
const started = performance.now()
const { model, metrics } = await trainCreditModel({
  rows: Number(process.env.ROWS ?? 15_000),
  seed: Number(process.env.SEED ?? 42),
  epochs: Number(process.env.EPOCHS ?? 30),
})
await model.save(fileSaveHandler(dir))
await writeFile(`${dir}metrics.json`, `${JSON.stringify(metrics, null, 2)}\n`)
const seconds = ((performance.now() - started) / 1000).toFixed(1)
process.stdout.write(
  `trained on ${metrics.train_rows} rows (${metrics.backend}, ${seconds}s); held out ${metrics.test_rows}: ` +
    `AUC ${metrics.auc} (ground truth ${metrics.ground_truth_auc}), accuracy ${metrics.accuracy}, ` +
    `log loss ${metrics.log_loss}\nwrote ${dir}model.json, weights.bin, metrics.json\n`,
)

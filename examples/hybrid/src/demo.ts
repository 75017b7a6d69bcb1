import { runScenario } from './scenario.js'

const runtime = process.argv.includes('--workerd') ? 'workerd' : 'node'
await runScenario({ runtime, log: (line) => process.stdout.write(`${line}\n`) })

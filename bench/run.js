// `pnpm bench`: runs every benchmark suite in turn, each in its own process. Every suite measures
// its baseline in the same run and prints ratios against its goals; each writes
// bench/<suite>-results.json.
//   node bench/run.js [--only serving,mask,…]
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const SUITES = ['serving', 'access', 'crypto', 'mask', 'explain', 'audit', 'hybrid', 'llm', 'queue']

const { values: args } = parseArgs({ options: { only: { type: 'string' } } })
const wanted = args.only ? args.only.split(',') : SUITES
const unknown = wanted.filter((s) => !SUITES.includes(s))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; suites: ${SUITES.join(', ')}`)
  process.exit(2)
}

const failed = []
for (const suite of wanted) {
  const script = fileURLToPath(new URL(`./${suite}.js`, import.meta.url))
  if (!existsSync(script)) continue
  console.log(`\n=== ${suite} ===`)
  const run = spawnSync(process.execPath, [script], { stdio: 'inherit' })
  if (run.status !== 0) failed.push(suite)
}
if (failed.length > 0) {
  console.error(`\nsuites that failed to run: ${failed.join(', ')}`)
  process.exit(1)
}
